"""Provider availability (issue 4): weekly hours, time off and extra hours, and the
services' durations and buffers (read-only here).

Providers edit their own calendar; schedulers and admins pick any provider of
their practice with ``?provider=<id>`` (another practice's provider, or anyone's
but their own for a provider, is a 404). Times are typed as HH:MM in the
practice's time zone. Every change is a POST: without JavaScript it redirects
back (``?notice=`` names what was done); with htmx it answers the page's ``main``
block. A form with errors comes back with status 422, the input kept.
"""

from __future__ import annotations

import re
from datetime import date

from babel.dates import get_day_names
from quart import Blueprint, abort, g, redirect, request

from app.auth import staff_only
from app.converters import MAX_ID
from app.forms import CONTROL, Form
from app.htmx import is_htmx, render_page
from app.i18n import _, current_locale
from app.i18n import lazy_gettext as _l
from app.net import client_ip
from app.rules import rule_message
from models import availability
from models.errors import RuleError
from models.people import Role, StaffMember
from models.practice import Location, Service
from models.scheduling import AvailabilityBlock, AvailabilityException

blueprint = Blueprint("staff_availability", __name__, url_prefix="/staff/availability")

NOTICES = {
    "block_added": _l("Weekly hours added."),
    "block_deleted": _l("Weekly hours removed."),
    "exception_added": _l("Date added."),
    "exception_deleted": _l("Date removed."),
}
ID = re.compile(r"[0-9]{1,10}")
TIME = re.compile(r"([0-9]{2}):([0-9]{2})(?::00)?")
# Which field a rule code belongs next to.
CODE_FIELD = {
    "availability_weekday_invalid": "weekday",
    "availability_time_invalid": "start",
    "availability_off_grid": "start",
    "availability_end_before_start": "end",
    "availability_overlap": "start",
    "availability_modality_invalid": "modality",
    "availability_location_invalid": "location",
    "availability_needs_office": "location",
    "availability_kind_invalid": "kind",
    "availability_date_past": "date",
    "availability_date_too_far": "date",
    "availability_times_required": "start",
}


def _picks_any() -> bool:
    return g.staff.has_role(Role.ADMIN) or g.staff.has_role(Role.SCHEDULER)


def _parse_id(raw: str) -> int | None:
    return int(raw) if ID.fullmatch(raw or "") and 1 <= int(raw) <= MAX_ID else None


async def _practice_providers() -> list[StaffMember]:
    staff = await StaffMember.filter(practice_id=g.staff.practice_id, active=True).select_related(
        "user"
    )
    providers = [s for s in staff if s.has_role(Role.PROVIDER)]
    return sorted(providers, key=lambda s: (s.user.display_name.casefold(), s.id))


async def _provider(raw: str | None) -> tuple[StaffMember | None, list[StaffMember]]:
    """The provider whose calendar is shown, and the ones this person may pick from.

    No id: one's own calendar (a provider), else the first provider. An id one
    may not see, or that is no provider of this practice: 404."""
    providers = await _practice_providers() if _picks_any() else []
    if not raw:
        if g.staff.has_role(Role.PROVIDER):
            return await StaffMember.get(id=g.staff.id).select_related("user"), providers
        return (providers[0] if providers else None), providers
    provider_id = _parse_id(raw)
    if provider_id is None:
        abort(404)
    if not _picks_any():
        if provider_id != g.staff.id or not g.staff.has_role(Role.PROVIDER):
            abort(404)
        return await StaffMember.get(id=g.staff.id).select_related("user"), providers
    found = next((p for p in providers if p.id == provider_id), None)
    if found is None:
        abort(404)
    return found, providers


async def _provider_of(provider_id: int) -> StaffMember:
    """An object's provider, if this person may edit that calendar (else 404)."""
    if not _picks_any() and provider_id != g.staff.id:
        abort(404)
    provider = (
        await StaffMember.filter(id=provider_id, practice_id=g.staff.practice_id, active=True)
        .select_related("user")
        .first()
    )
    if provider is None or not provider.has_role(Role.PROVIDER):
        abort(404)
    return provider


async def _locations() -> list[Location]:
    return await Location.filter(practice_id=g.staff.practice_id, active=True).order_by(
        "name", "id"
    )


def hhmm(minute: int | None) -> str:
    if minute is None:
        return ""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _modalities() -> dict[str, str]:
    return {
        "both": _("In person or telehealth"),
        "in_person": _("In person"),
        "telehealth": _("Telehealth"),
    }


async def availability_page(
    provider: StaffMember | None,
    providers: list[StaffMember],
    *,
    block_form: Form | None = None,
    exception_form: Form | None = None,
    notice: str = "",
    status: int = 200,
):
    time_zone = g.staff.practice.time_zone
    today = availability.practice_today(time_zone)
    blocks, exceptions = [], []
    if provider is not None:
        blocks = (
            await AvailabilityBlock.filter(provider_id=provider.id)
            .select_related("location")
            .order_by("weekday", "start_minute", "id")
        )
        exceptions = (
            await AvailabilityException.filter(provider_id=provider.id, date__gte=today)
            .select_related("location")
            .order_by("date", "start_minute", "id")
        )
    services = await Service.filter(practice_id=g.staff.practice_id).order_by("-active", "name")
    days = get_day_names("wide", locale=current_locale())
    return await render_page(
        "views/staff/availability.html",
        status=status,
        provider=provider,
        providers=providers,
        blocks=blocks,
        exceptions=exceptions,
        services=services,
        locations=await _locations(),
        modalities=_modalities(),
        weekdays=[str(days[i]) for i in range(7)],
        hhmm=hhmm,
        today=today,
        last_day=availability.a_year_after(today),
        block_form=block_form or Form({"modality": "both", "weekday": "0"}),
        exception_form=exception_form or Form({"kind": "off", "modality": "both"}),
        notice=NOTICES.get(notice or request.args.get("notice", ""), ""),
    )


async def _done(provider: StaffMember, notice: str):
    if is_htmx():
        _, providers = await _provider(str(provider.id))
        return await availability_page(provider, providers, notice=notice)
    return redirect(f"/staff/availability?provider={provider.id}&notice={notice}", 303)


# ---- reading the forms ----------------------------------------------------------------


def _choice(form: Form, name: str, options) -> str | None:
    value = form.value(name)
    if value not in options:
        form.errors[name] = _("Choose one of the options.")
        return None
    return value


def _time(form: Form, name: str, *, end: bool = False) -> int | None:
    """``HH:MM`` on the quarter hour -> minutes after midnight; an end of 00:00 or
    24:00 is midnight at the end of the day."""
    raw = form.value(name).strip()
    match = TIME.fullmatch(raw) if not CONTROL.search(raw) else None
    if match is None:
        form.errors[name] = rule_message("availability_time_invalid")
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        form.errors[name] = rule_message("availability_time_invalid")
        return None
    value = hours * 60 + minutes
    if minutes % availability.GRID:
        form.errors[name] = rule_message("availability_off_grid")
        return None
    if end and value == 0:
        return availability.DAY
    if not end and value == availability.DAY:
        form.errors[name] = rule_message("availability_time_invalid")
        return None
    return value


def _location(form: Form, locations: list[Location]) -> tuple[bool, Location | None]:
    raw = form.value("location")
    if raw == "":
        return True, None
    location_id = _parse_id(raw)
    found = next((loc for loc in locations if loc.id == location_id), None)
    if found is None:
        form.errors["location"] = _("Choose one of the options.")
        return False, None
    return True, found


def _rule_error(form: Form, exc: RuleError) -> None:
    form.errors[CODE_FIELD.get(exc.code, "start")] = rule_message(exc.code)


async def _form_provider(form: Form) -> tuple[StaffMember, list[StaffMember]]:
    provider, providers = await _provider(form.value("provider"))
    if provider is None:
        abort(404)
    return provider, providers


# ---- routes ---------------------------------------------------------------------------


@blueprint.get("")
@staff_only(Role.PROVIDER, Role.SCHEDULER)
async def get_availability():
    raw = request.args.get("provider")
    provider, providers = await _provider(raw)
    return await availability_page(provider, providers)


@blueprint.post("/blocks")
@staff_only(Role.PROVIDER, Role.SCHEDULER)
async def post_block():
    form = Form.of(await request.form)
    provider, providers = await _form_provider(form)
    weekday = _choice(form, "weekday", [str(i) for i in range(7)])
    start = _time(form, "start")
    end = _time(form, "end", end=True)
    modality = _choice(form, "modality", availability.MODALITIES)
    location_ok, location = _location(form, await _locations())
    if form.ok and location_ok:
        try:
            await availability.add_block(
                provider,
                weekday=int(weekday),
                start_minute=start,
                end_minute=end,
                location=location,
                modality=modality,
                by=g.user,
                ip=client_ip(),
            )
        except RuleError as exc:
            _rule_error(form, exc)
        else:
            return await _done(provider, "block_added")
    return await availability_page(provider, providers, block_form=form, status=422)


@blueprint.post("/blocks/<id:block_id>/delete")
@staff_only(Role.PROVIDER, Role.SCHEDULER)
async def post_delete_block(block_id: int):
    block = await AvailabilityBlock.get_or_none(
        id=block_id, provider__practice_id=g.staff.practice_id
    )
    if block is None:
        abort(404)
    provider = await _provider_of(block.provider_id)
    await availability.delete_block(block, provider, by=g.user, ip=client_ip())
    return await _done(provider, "block_deleted")


@blueprint.post("/exceptions")
@staff_only(Role.PROVIDER, Role.SCHEDULER)
async def post_exception():
    form = Form.of(await request.form)
    provider, providers = await _form_provider(form)
    kind = _choice(form, "kind", availability.KINDS)
    day = _date(form)
    whole_day = not form.value("start").strip() and not form.value("end").strip()
    start = end = None
    if not whole_day or kind == "extra":
        start = _time(form, "start")
        end = _time(form, "end", end=True)
    location, modality = None, "both"
    location_ok = True
    if kind == "extra":
        modality = _choice(form, "modality", availability.MODALITIES)
        location_ok, location = _location(form, await _locations())
    if form.ok and location_ok:
        try:
            await availability.add_exception(
                provider,
                day=day,
                kind=kind,
                start_minute=start,
                end_minute=end,
                location=location,
                modality=modality,
                time_zone=g.staff.practice.time_zone,
                by=g.user,
                ip=client_ip(),
            )
        except RuleError as exc:
            _rule_error(form, exc)
        else:
            return await _done(provider, "exception_added")
    return await availability_page(provider, providers, exception_form=form, status=422)


def _date(form: Form) -> date | None:
    raw = form.value("date").strip()
    if not raw:
        form.errors["date"] = _("This field is required.")
        return None
    value = form.optional_date("date")
    return value


@blueprint.post("/exceptions/<id:exception_id>/delete")
@staff_only(Role.PROVIDER, Role.SCHEDULER)
async def post_delete_exception(exception_id: int):
    exception = await AvailabilityException.get_or_none(
        id=exception_id, provider__practice_id=g.staff.practice_id
    )
    if exception is None:
        abort(404)
    provider = await _provider_of(exception.provider_id)
    await availability.delete_exception(exception, provider, by=g.user, ip=client_ip())
    return await _done(provider, "exception_deleted")
