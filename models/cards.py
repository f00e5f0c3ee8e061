"""Cards on file (My Profile): add, remove, set default; the processor's customer.

A ``SavedCard`` holds only the processor's token (``pm_...`` at Stripe, a test
method's name at the demo processor) and what a person needs to pick it: brand,
last four digits, expiry. Who may see and use a card:

- the client, all of their cards;
- a guardian or other billing contact, only the cards they added themselves, never
  the client's own (``visible_cards``).

A card is added only with the adder's consent that the practice may charge it
(``consented_at``, security plan P-6). The default is one per person's view: a client
choosing a default clears every other default of theirs; a guardian's choice clears
only the defaults among the cards they added.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models import clock
from models.errors import RuleError
from models.ledger import SavedCard

MAX_CARDS = 10  # per person and client: more is a mistake or abuse
# The demo processor's cards: what each test method looks like on file.
DEMO_CARDS = {
    "pm_card_visa": ("visa", "4242"),
    "pm_card_chargeDeclined": ("visa", "0002"),
    "pm_card_authenticationRequired": ("visa", "3184"),
}


class ProcessorCustomer(Model):
    """The client's customer at the card processor (``cus_...``): cards attach to it."""

    id = fields.IntField(primary_key=True)
    client = fields.OneToOneField("portal.Client", related_name="processor_customer")
    processor = fields.CharField(max_length=16)
    ref = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "processor_customer"


def _is_self(client, by) -> bool:
    return client.user_id is not None and client.user_id == by.id


def visible_cards(client, by):
    """The query for the cards ``by`` may see and use for ``client``."""
    query = SavedCard.filter(client_id=client.id)
    if not _is_self(client, by):
        query = query.filter(added_by_id=by.id)
    return query


async def card_of(card_id: int, client, by) -> SavedCard | None:
    """One card ``by`` may see, or None (the route answers 404, as for a missing one)."""
    return await visible_cards(client, by).filter(id=card_id).first()


async def add_card(
    client,
    by,
    *,
    processor: str,
    ref: str,
    brand: str,
    last4: str,
    exp_month: int,
    exp_year: int,
    consent: bool,
    nickname: str = "",
) -> SavedCard:
    """Put a card on file for ``client``, added by ``by``. The same processor token
    twice (a reloaded return page) gives the card already made."""
    if not consent:
        raise RuleError("card_consent_required")
    if not (ref and len(ref) <= 64 and last4.isascii() and last4.isdigit() and len(last4) == 4):
        raise RuleError("card_invalid")
    if not (1 <= exp_month <= 12 and 2000 <= exp_year <= 2200):
        raise RuleError("card_invalid")
    from models.people import Client

    async with in_transaction():
        await Client.select_for_update().get(id=client.id)  # one add at a time per client
        if processor == "stripe":
            existing = await SavedCard.get_or_none(client_id=client.id, processor_ref=ref)
            if existing is not None:
                return existing
        mine = SavedCard.filter(client_id=client.id, added_by_id=by.id)
        if await mine.count() >= MAX_CARDS:
            raise RuleError("card_limit")
        first = not await visible_cards(client, by).exists()
        return await SavedCard.create(
            client_id=client.id,
            added_by_id=by.id,
            processor=processor,
            processor_ref=ref,
            brand=brand[:16] or "card",
            last4=last4,
            exp_month=exp_month,
            exp_year=exp_year,
            nickname=nickname.strip()[:64],
            is_default=first,
            consented_at=clock.now(),
        )


async def set_default(card: SavedCard, client, by) -> SavedCard:
    async with in_transaction():
        await visible_cards(client, by).filter(is_default=True).update(is_default=False)
        await SavedCard.filter(id=card.id).update(is_default=True)
    return await SavedCard.get(id=card.id)


async def remove_card(card: SavedCard, client, by) -> None:
    """Take a card off file (the caller has detached it at the processor). Payments made
    with it keep their label; the next card in view becomes the default."""
    async with in_transaction():
        await SavedCard.filter(id=card.id).delete()
        if card.is_default:
            following = await visible_cards(client, by).order_by("id").first()
            if following is not None:
                await SavedCard.filter(id=following.id).update(is_default=True)
