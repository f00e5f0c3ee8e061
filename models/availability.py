"""Editing a provider's availability: weekly blocks and dated exceptions.

Times are minutes after local midnight in the practice's time zone, on a
15-minute grid, within 0..1440. A provider's weekly blocks never overlap on one
weekday (touching is fine). Exceptions are dated from today to a year ahead, in
the practice's time zone. Every change is one transaction under the provider's
row lock (so two overlapping blocks added at once cannot both pass the check)
and writes one ``availability.changed`` audit row.

The slot engine reads these tables; this module only keeps them valid.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from models import clock
from models.audit import audit
from models.errors import RuleError
from models.people import StaffMember
from models.practice import Location, Modality
from models.scheduling import AvailabilityBlock, AvailabilityException

GRID = 15
DAY = 24 * 60
KINDS = ("off", "extra")
MODALITIES = tuple(m.value for m in Modality)


def practice_today(time_zone: str) -> date:
    return clock.now().astimezone(ZoneInfo(time_zone)).date()


def a_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def check_range(start_minute: int, end_minute: int) -> None:
    if not (0 <= start_minute <= DAY and 0 <= end_minute <= DAY):
        raise RuleError("availability_time_invalid")
    if start_minute % GRID or end_minute % GRID:
        raise RuleError("availability_off_grid")
    if start_minute >= end_minute:
        raise RuleError("availability_end_before_start")


def _check_place(location: Location | None, modality: str, practice_id: int) -> None:
    if modality not in MODALITIES:
        raise RuleError("availability_modality_invalid")
    if location is not None and (location.practice_id != practice_id or not location.active):
        raise RuleError("availability_location_invalid")
    if modality != Modality.TELEHEALTH and (location is None or location.telehealth):
        # Someone booking in person must be told where to go.
        raise RuleError("availability_needs_office")


async def _lock(provider: StaffMember) -> StaffMember:
    return await StaffMember.select_for_update().get(id=provider.id)


async def _changed(by, ip: str, change: str, obj, provider: StaffMember, **details) -> None:
    await audit(
        by,
        "availability.changed",
        category="scheduling",
        ip=ip,
        obj=obj,
        change=change,
        provider_id=provider.id,
        **details,
    )


async def add_block(
    provider: StaffMember,
    *,
    weekday: int,
    start_minute: int,
    end_minute: int,
    location: Location | None,
    modality: str,
    by,
    ip: str = "",
) -> AvailabilityBlock:
    if not 0 <= weekday <= 6:
        raise RuleError("availability_weekday_invalid")
    check_range(start_minute, end_minute)
    _check_place(location, modality, provider.practice_id)
    async with in_transaction():
        await _lock(provider)
        if await AvailabilityBlock.filter(
            provider_id=provider.id,
            weekday=weekday,
            start_minute__lt=end_minute,
            end_minute__gt=start_minute,
        ).exists():
            raise RuleError("availability_overlap")
        block = await AvailabilityBlock.create(
            provider_id=provider.id,
            weekday=weekday,
            start_minute=start_minute,
            end_minute=end_minute,
            location_id=location.id if location else None,
            modality=modality,
        )
        await _changed(
            by,
            ip,
            "block_added",
            block,
            provider,
            weekday=weekday,
            start_minute=start_minute,
            end_minute=end_minute,
            location_id=block.location_id,
            modality=modality,
        )
    return block


async def delete_block(
    block: AvailabilityBlock, provider: StaffMember, *, by, ip: str = ""
) -> None:
    async with in_transaction():
        await _lock(provider)
        deleted = await AvailabilityBlock.filter(id=block.id, provider_id=provider.id).delete()
        if deleted:
            await _changed(
                by,
                ip,
                "block_deleted",
                block,
                provider,
                weekday=block.weekday,
                start_minute=block.start_minute,
                end_minute=block.end_minute,
            )


async def add_exception(
    provider: StaffMember,
    *,
    day: date,
    kind: str,
    start_minute: int | None,
    end_minute: int | None,
    location: Location | None,
    modality: str,
    time_zone: str,
    by,
    ip: str = "",
) -> AvailabilityException:
    """Time off (``kind="off"``: the whole day when both minutes are None) or extra
    hours (``kind="extra"``: a time range, with a location and a modality)."""
    if kind not in KINDS:
        raise RuleError("availability_kind_invalid")
    today = practice_today(time_zone)
    if day < today:
        raise RuleError("availability_date_past")
    if day > a_year_after(today):
        raise RuleError("availability_date_too_far")
    whole_day = start_minute is None and end_minute is None
    if kind == "extra" and whole_day:
        raise RuleError("availability_times_required")
    if not whole_day:
        if start_minute is None or end_minute is None:
            raise RuleError("availability_times_required")
        check_range(start_minute, end_minute)
    if kind == "off":
        location, modality = None, Modality.BOTH.value  # time off has no place
    else:
        _check_place(location, modality, provider.practice_id)
    async with in_transaction():
        await _lock(provider)
        exception = await AvailabilityException.create(
            provider_id=provider.id,
            date=day,
            kind=kind,
            start_minute=start_minute,
            end_minute=end_minute,
            location_id=location.id if location else None,
            modality=modality,
        )
        await _changed(
            by,
            ip,
            "exception_added",
            exception,
            provider,
            date=day.isoformat(),
            kind=kind,
            start_minute=start_minute,
            end_minute=end_minute,
            location_id=exception.location_id,
            modality=modality,
        )
    return exception


async def delete_exception(
    exception: AvailabilityException, provider: StaffMember, *, by, ip: str = ""
) -> None:
    async with in_transaction():
        await _lock(provider)
        deleted = await AvailabilityException.filter(
            id=exception.id, provider_id=provider.id
        ).delete()
        if deleted:
            await _changed(
                by,
                ip,
                "exception_deleted",
                exception,
                provider,
                date=exception.date.isoformat(),
                kind=exception.kind,
            )
