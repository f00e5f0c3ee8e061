"""The staff side of My Insurance (issue 8): the review queue, verifying a policy or
asking the client for information (a note the client sees), and approving a payer a
client added or merging it into one already on the practice's list.

Every change is a conditional update, so a double click does nothing the second time;
each one done writes an audit row."""

from __future__ import annotations

from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models import clock
from models.audit import audit
from models.errors import RuleError
from models.insurance import InsurancePolicy, Payer, PolicyStatus
from models.people import User

MAX_NOTE = 1000


def review_queue(practice_id: int) -> QuerySet[InsurancePolicy]:
    """Policies waiting for review, oldest first."""
    return InsurancePolicy.filter(
        status=PolicyStatus.PENDING, client__practice_id=practice_id
    ).order_by("submitted_at", "id")


def payers_to_review(practice_id: int) -> QuerySet[Payer]:
    return Payer.filter(
        practice_id=practice_id, added_by_client=True, reviewed_at__isnull=True, active=True
    ).order_by("id")


def reviewed_payers(practice_id: int) -> QuerySet[Payer]:
    """Payers another may be merged into: active and not waiting for review."""
    return Payer.filter(
        Q(added_by_client=False) | Q(reviewed_at__isnull=False),
        practice_id=practice_id,
        active=True,
    ).order_by("name", "id")


async def verify(policy: InsurancePolicy, *, by: User, ip: str = "") -> bool:
    """Staff checked the policy. False, and nothing done, unless it was pending."""
    done = await InsurancePolicy.filter(id=policy.id, status=PolicyStatus.PENDING).update(
        status=PolicyStatus.VERIFIED, review_note="", reviewed_by_id=by.id, reviewed_at=clock.now()
    )
    if done:
        await audit(
            by,
            "insurance.verified",
            client_id=policy.client_id,
            obj=policy,
            category="insurance",
            ip=ip,
        )
    return bool(done)


async def ask_for_information(
    policy: InsurancePolicy, note: str, *, by: User, ip: str = ""
) -> bool:
    """Staff need more from the client; ``note`` says what and the client sees it.
    False, and nothing done, unless the policy was pending."""
    note = note.strip()
    if not note:
        raise RuleError("insurance_note_required")
    if len(note) > MAX_NOTE:
        raise RuleError("insurance_note_too_long")
    done = await InsurancePolicy.filter(id=policy.id, status=PolicyStatus.PENDING).update(
        status=PolicyStatus.NEEDS_INFO,
        review_note=note,
        reviewed_by_id=by.id,
        reviewed_at=clock.now(),
    )
    if done:
        await audit(
            by,
            "insurance.needs_info",
            client_id=policy.client_id,
            obj=policy,
            category="insurance",
            ip=ip,
        )
    return bool(done)


async def approve_payer(payer: Payer, *, by: User, ip: str = "") -> bool:
    """A client-added payer joins the practice's reviewed list. False when already reviewed."""
    done = await Payer.filter(id=payer.id, reviewed_at__isnull=True, active=True).update(
        reviewed_at=clock.now()
    )
    if done:
        await audit(by, "payer.approved", obj=payer, category="insurance", ip=ip)
    return bool(done)


async def merge_payer(payer: Payer, into_id: int, *, by: User, ip: str = "") -> bool:
    """A client-added payer is really one already on the list (or not a payer at all):
    its policies move to ``into``, and it is retired (inactive, reviewed). False when
    it was already reviewed."""
    into = await reviewed_payers(payer.practice_id).exclude(id=payer.id).get_or_none(id=into_id)
    if into is None:
        raise RuleError("insurance_merge_target_invalid")
    async with in_transaction() as conn:
        done = (
            await Payer.filter(id=payer.id, reviewed_at__isnull=True, active=True)
            .using_db(conn)
            .update(reviewed_at=clock.now(), active=False)
        )
        if not done:
            return False
        moved = (
            await InsurancePolicy.filter(payer_id=payer.id).using_db(conn).update(payer_id=into.id)
        )
    await audit(
        by, "payer.merged", obj=payer, category="insurance", ip=ip, into=into.id, moved=moved
    )
    return True
