from datetime import timedelta

import pytest

from models import clock
from models.audit import AuditEvent
from models.errors import RuleError
from models.scheduling import Appointment


async def test_it_confirms_once_and_audits_who_and_how(cast):
    await cast.a_soon.confirm(by=cast.alice.user_id, via="sms")
    await cast.a_soon.confirm(by=cast.alice.user_id, via="sms")
    fresh = await Appointment.get(id=cast.a_soon.id)
    assert fresh.status == "confirmed" and fresh.confirmed_at is not None
    events = await AuditEvent.filter(action="appointment.confirm")
    assert len(events) == 1 and events[0].via == "sms" and events[0].client_id == cast.alice.id


async def test_it_refuses_to_confirm_a_cancelled_appointment(cast):
    await cast.a_soon.cancel(by=None, via="web", within_24h_allowed=False)
    with pytest.raises(RuleError) as exc:
        await cast.a_soon.confirm(by=None, via="web")
    assert exc.value.code == "appointment_not_confirmable"


async def test_it_cancels_late_only_where_allowed_and_records_it_as_late(cast):
    with pytest.raises(RuleError):
        await cast.a_tomorrow.cancel(by=None, via="web", within_24h_allowed=False)
    assert (await Appointment.get(id=cast.a_tomorrow.id)).status == "scheduled"
    done = await cast.a_tomorrow.cancel(by=None, via="web", within_24h_allowed=True)
    assert done.status == "late_cancelled"


async def test_it_counts_the_notice_from_the_clock(cast):
    clock.travel(timedelta(days=2, hours=1))  # a_soon is now less than a day away
    assert not cast.a_soon.can_cancel(within_24h_allowed=False)
    assert cast.a_soon.can_cancel(within_24h_allowed=True)
