"""Events a card processor told us about (Stripe's webhooks), each applied once.

Stripe retries a webhook until it gets a 2xx, for days, and may send one event
twice at once. ``apply_once`` inserts the event's row (unique ``event_id``) and runs
its effect in the same transaction: the first delivery does both, every other one
finds the row and changes nothing (security plan P-3).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction


class ProcessorEvent(Model):
    id = fields.IntField(primary_key=True)
    processor = fields.CharField(max_length=16)
    event_id = fields.CharField(max_length=100, unique=True)
    type = fields.CharField(max_length=64)
    object_ref = fields.CharField(max_length=64, default="")  # "pi_...", "ch_...", "dp_..."
    payment = fields.ForeignKeyField(
        "portal.Payment", related_name="events", null=True, on_delete=fields.SET_NULL
    )
    outcome = fields.CharField(max_length=32, default="")  # what it did: "settled", "ignored"...
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "processor_event"


Effect = Callable[[], Awaitable[tuple[str, int | None]]]


async def apply_once(
    *, processor: str, event_id: str, type: str, object_ref: str, effect: Effect
) -> str:
    """Run ``effect`` (returning (outcome, payment id or None)) once per ``event_id``;
    "duplicate" when it already ran."""
    try:
        async with in_transaction():
            if await ProcessorEvent.exists(event_id=event_id):
                return "duplicate"
            row = await ProcessorEvent.create(
                processor=processor,
                event_id=event_id[:100],
                type=type[:64],
                object_ref=object_ref[:64],
            )
            outcome, payment_id = await effect()
            await ProcessorEvent.filter(id=row.id).update(
                outcome=outcome[:32], payment_id=payment_id
            )
            return outcome
    except IntegrityError:
        # A concurrent delivery of the same event inserted it first (PostgreSQL).
        if await ProcessorEvent.exists(event_id=event_id):
            return "duplicate"
        raise
