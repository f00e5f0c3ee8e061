"""My Insurance's rules (seed 000, issue 8): self-pay or insurance, a primary and an
optional secondary policy sent to staff for review, and payers a client may add when
the practice allows it (the staff review is ``models.insurance_review``).

A new or changed policy waits for review (``pending_review``); a policy replaced by a
new one of the same rank is ``ended`` and kept for the record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models import clock, document_files
from models.audit import audit
from models.documents import Document
from models.errors import RuleError
from models.insurance import InsurancePolicy, Payer, PolicyStatus
from models.people import Client, User

CHOICES = ("self_pay", "insurance")
RANKS = ("primary", "secondary")
RELATIONSHIPS = ("self", "spouse", "child", "other")
CURRENT = (PolicyStatus.PENDING, PolicyStatus.VERIFIED, PolicyStatus.NEEDS_INFO)
MAX_ID = 64
MAX_NAME = 200


@dataclass(frozen=True)
class PolicyDetails:
    """What the client types for a policy (already trimmed by the form)."""

    payer_id: int
    member_id: str
    group_number: str
    subscriber_name: str
    subscriber_dob: date
    relationship: str

    def same_as(self, policy: InsurancePolicy) -> bool:
        return (
            self.payer_id,
            self.member_id,
            self.group_number,
            self.subscriber_name,
            self.subscriber_dob,
            self.relationship,
        ) == (
            policy.payer_id,
            policy.member_id,
            policy.group_number,
            policy.subscriber_name,
            policy.subscriber_dob,
            policy.relationship,
        )


# ---- the client's side -----------------------------------------------------------------


async def set_choice(client: Client, choice: str, *, by: User, ip: str = "") -> bool:
    """ "No insurance — I plan to self-pay" or "I have insurance". False when unchanged.
    Policies on file stay as they are (staff may still need them)."""
    if choice not in CHOICES:
        raise RuleError("insurance_choice_invalid")
    done = (
        await Client.filter(id=client.id)
        .exclude(insurance_choice=choice)
        .update(insurance_choice=choice)
    )
    client.insurance_choice = choice
    if done:
        await audit(
            by, "insurance.choice", client_id=client.id, category="insurance", ip=ip, choice=choice
        )
    return bool(done)


def current_policies(client_id: int) -> QuerySet[InsurancePolicy]:
    return InsurancePolicy.filter(client_id=client_id, status__in=CURRENT).order_by("rank", "id")


def choosable_payers(
    practice_id: int, *, user_id: int, keep_id: int | None = None
) -> QuerySet[Payer]:
    """The practice's active payers a client may pick: the reviewed list, payers this
    person added themselves, and the one already on the policy being edited. Another
    client's unreviewed payer stays out of sight."""
    visible = Q(added_by_client=False) | Q(reviewed_at__isnull=False) | Q(added_by_id=user_id)
    if keep_id is not None:
        visible |= Q(id=keep_id)
    return Payer.filter(visible, practice_id=practice_id, active=True).order_by("name", "id")


def check_details(details: PolicyDetails) -> None:
    """The rules a form cannot see: raises RuleError naming the first broken one."""
    if not details.member_id or len(details.member_id) > MAX_ID:
        raise RuleError("insurance_member_id_invalid")
    if len(details.group_number) > MAX_ID:
        raise RuleError("insurance_group_invalid")
    if not details.subscriber_name or len(details.subscriber_name) > MAX_NAME:
        raise RuleError("insurance_subscriber_invalid")
    if details.subscriber_dob > clock.now().date():
        raise RuleError("insurance_dob_future")
    if details.relationship not in RELATIONSHIPS:
        raise RuleError("insurance_relationship_invalid")


async def check_payer(
    client: Client, payer_id: int, *, user_id: int, keep_id: int | None = None
) -> Payer:
    """The payer, if this client may pick it (the practice's, active); else RuleError."""
    payer = await choosable_payers(
        client.practice_id, user_id=user_id, keep_id=keep_id
    ).get_or_none(id=payer_id)
    if payer is None:
        raise RuleError("insurance_payer_unknown")
    return payer


async def _lock_client(client_id: int, conn) -> None:
    # One writer per client at a time: two submits of the same rank queue up.
    await Client.select_for_update().using_db(conn).get(id=client_id)


async def submit_policy(
    client: Client,
    details: PolicyDetails,
    *,
    rank: str,
    by: User,
    card_front: Document | None = None,
    card_back: Document | None = None,
    data_dir: Path,
    ip: str = "",
) -> InsurancePolicy:
    """Add a policy of ``rank``, pending review; the current one of that rank (if any)
    is ended. A second submit of the very same details while it is pending changes
    nothing but the card photos sent with it (a double click adds one policy)."""
    if rank not in RANKS:
        raise RuleError("insurance_rank_invalid")
    check_details(details)
    await check_payer(client, details.payer_id, user_id=by.id)
    async with in_transaction() as conn:
        await _lock_client(client.id, conn)
        current = await current_policies(client.id).using_db(conn).filter(rank=rank).first()
        if rank == "secondary":
            has_primary = (
                await current_policies(client.id).using_db(conn).filter(rank="primary").exists()
            )
            if not has_primary:
                raise RuleError("insurance_primary_first")
        if (
            current is not None
            and current.status == PolicyStatus.PENDING
            and details.same_as(current)
        ):
            policy = current
            old_cards = await _set_cards(policy, card_front, card_back, conn)
        else:
            old_cards = []
            if current is not None:
                await (
                    InsurancePolicy.filter(id=current.id)
                    .using_db(conn)
                    .update(status=PolicyStatus.ENDED)
                )
            policy = await InsurancePolicy.create(
                using_db=conn,
                client_id=client.id,
                rank=rank,
                status=PolicyStatus.PENDING,
                card_front=card_front,
                card_back=card_back,
                submitted_by=by,
                **_values(details),
            )
        await Client.filter(id=client.id).using_db(conn).update(insurance_choice="insurance")
    client.insurance_choice = "insurance"
    await _discard(old_cards, data_dir)
    await audit(
        by, "insurance.submitted", client_id=client.id, obj=policy, category="insurance", ip=ip
    )
    return policy


async def change_policy(
    policy: InsurancePolicy,
    details: PolicyDetails,
    *,
    by: User,
    card_front: Document | None = None,
    card_back: Document | None = None,
    data_dir: Path,
    ip: str = "",
) -> InsurancePolicy:
    """Edit a current policy. Pending or needing information: changed in place and
    (again) pending review, the staff's note cleared. Verified: a new pending policy
    replaces it (the verified one is ended), keeping its card photos unless new ones
    came. Ended: refused."""
    client = await Client.get(id=policy.client_id)
    check_details(details)
    await check_payer(client, details.payer_id, user_id=by.id, keep_id=policy.payer_id)
    old_cards: list[Document] = []
    async with in_transaction() as conn:
        await _lock_client(client.id, conn)
        fresh = await InsurancePolicy.filter(id=policy.id).using_db(conn).get()
        if fresh.status == PolicyStatus.ENDED:
            raise RuleError("insurance_policy_ended")
        if fresh.status == PolicyStatus.VERIFIED and not details.same_as(fresh):
            await (
                InsurancePolicy.filter(id=fresh.id).using_db(conn).update(status=PolicyStatus.ENDED)
            )
            result = await InsurancePolicy.create(
                using_db=conn,
                client_id=client.id,
                rank=fresh.rank,
                status=PolicyStatus.PENDING,
                card_front_id=card_front.id if card_front else fresh.card_front_id,
                card_back_id=card_back.id if card_back else fresh.card_back_id,
                submitted_by=by,
                **_values(details),
            )
        elif fresh.status == PolicyStatus.VERIFIED and not (card_front or card_back):
            return fresh  # nothing changed: it stays verified
        else:
            await (
                InsurancePolicy.filter(id=fresh.id)
                .using_db(conn)
                .update(
                    status=PolicyStatus.PENDING,
                    review_note="",
                    reviewed_by_id=None,
                    reviewed_at=None,
                    submitted_by_id=by.id,
                    submitted_at=clock.now(),
                    **_values(details),
                )
            )
            old_cards = await _set_cards(fresh, card_front, card_back, conn)
            result = await InsurancePolicy.filter(id=fresh.id).using_db(conn).get()
    await _discard(old_cards, data_dir)
    await audit(
        by, "insurance.submitted", client_id=client.id, obj=result, category="insurance", ip=ip
    )
    return result


def _values(details: PolicyDetails) -> dict:
    return dict(
        payer_id=details.payer_id,
        member_id=details.member_id,
        group_number=details.group_number,
        subscriber_name=details.subscriber_name,
        subscriber_dob=details.subscriber_dob,
        relationship=details.relationship,
    )


async def _set_cards(
    policy: InsurancePolicy, front: Document | None, back: Document | None, conn
) -> list[Document]:
    """Put new card photos on a policy; the replaced ones, no longer on any policy, are
    returned to be discarded."""
    changes, replaced = {}, []
    for side, new in (("card_front_id", front), ("card_back_id", back)):
        old_id = getattr(policy, side)
        if new is None or new.id == old_id:
            continue
        changes[side] = new.id
        if old_id is not None:
            replaced.append(old_id)
    if not changes:
        return []
    await InsurancePolicy.filter(id=policy.id).using_db(conn).update(**changes)
    still_used = set()
    for old_id in replaced:
        if (
            await InsurancePolicy.filter(Q(card_front_id=old_id) | Q(card_back_id=old_id))
            .using_db(conn)
            .exists()
        ):
            still_used.add(old_id)
    ids = [i for i in replaced if i not in still_used]
    return await Document.filter(id__in=ids).using_db(conn) if ids else []


async def _discard(documents: list[Document], data_dir: Path) -> None:
    for document in documents:
        await document_files.discard(document, data_dir)


async def add_payer(client: Client, name: str, *, by: User, allowed: bool, ip: str = "") -> Payer:
    """ "My payer isn't listed": a payer for the practice, flagged for staff until they
    review it. The same name (any case) already in the practice is that payer, not a
    second one. Refused when the practice does not allow clients to add payers."""
    if not allowed:
        raise RuleError("insurance_add_payer_off")
    name = " ".join(name.split())
    if not name:
        raise RuleError("insurance_payer_name_required")
    if len(name) > MAX_NAME:
        raise RuleError("insurance_payer_name_too_long")
    async with in_transaction() as conn:
        await _lock_client(client.id, conn)
        existing = (
            await Payer.filter(practice_id=client.practice_id, name__iexact=name)
            .using_db(conn)
            .order_by("-active", "id")
            .first()
        )
        if existing is not None:
            if not existing.active:
                raise RuleError("insurance_payer_unavailable")
            return existing
        payer = await Payer.create(
            using_db=conn,
            practice_id=client.practice_id,
            name=name,
            added_by_client=True,
            added_by=by,
            reviewed_at=None,
        )
    await audit(by, "payer.added", client_id=client.id, obj=payer, category="insurance", ip=ip)
    return payer
