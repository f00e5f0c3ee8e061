"""Find an Appointment (seed 000): Who, What, Where, a month calendar marking the days
with telehealth and in-person openings, the chosen day's times, a review, then Book.

Everything is one page at ``/appointments/new`` whose state lives in the query string
(GET for every choice, POST only to book), so each step is a link that works without
JavaScript; with htmx a step swaps ``#main`` and pushes its URL, and the month and day
links swap only the calendar and times (``#booking-when``). Every parameter is checked
against what the practice offers this client: malformed is a 400, an id that is not
offered a 404, a time that is not open a 409 with the day's fresh times.

``?reschedule=<id>`` (the client's own upcoming appointment) starts with its provider
and service chosen, and the final POST moves that appointment instead of booking.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from quart import Blueprint, Response, abort, g, redirect, request

from app.auth import client_section
from app.htmx import is_htmx, render_page, render_partial
from app.i18n import _, current_locale
from app.i18n import lazy_gettext as _l
from app.net import client_ip
from app.rules import rule_message
from models import booking, clock, policy
from models.access import BOOKING
from models.errors import RuleError
from models.people import Role, StaffMember
from models.practice import Location, Practice, Service
from models.scheduling import (
    UPCOMING_STATUSES,
    Appointment,
    AppointmentStatus,
    AvailabilityBlock,
    AvailabilityException,
)
from models.settings import practice_settings, rules_for
from models.slots import (
    Slot,
    SlotQuery,
    booking_blocked_reason,
    days_with_slots,
    open_slots,
    slot_is_open,
)

blueprint = Blueprint("booking", __name__)

PATH = "/appointments/new"
ANY = "any"  # any provider; for the service, "I don't know"
EITHER, TELEHEALTH, IN_PERSON = "either", "telehealth", "in_person"
WHEN_TARGET = "booking-when"  # the element the month and day links swap
ID = re.compile(r"[0-9]{1,10}")
MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
AT = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}):([0-9]{2})Z")
YEARS = range(2000, 2201)
# The order parameters appear in URLs (and the hidden fields of the Book form).
PARAMS = ("provider", "service", "where", "month", "day", "at", "p", "mode", "loc", "reschedule")

MESSAGES = {
    "slot_taken": _l("That time was just taken. Here are the times still open that day."),
    "slot_not_offered": _l("That time is not open. Here are the times still open that day."),
    "booking_cap_reached": _l(
        "You already have as many upcoming appointments as the practice allows online. "
        "Cancel or finish one before booking another, or contact the practice."
    ),
    "undo_too_late": _l("It is too late to undo this booking: undo works for 3 minutes."),
    "undo_not_allowed": _l("Only the person who booked this appointment can undo it."),
    "appointment_not_reschedulable": _l(
        "This appointment can no longer be moved. Book a new time instead."
    ),
}


def message(code: str) -> str:
    return str(MESSAGES[code]) if code in MESSAGES else rule_message(code)


# ---------------------------------------------------------------- what is offered


@dataclass
class Offer:
    """What this client may choose from: providers who take self-scheduled clients (their
    own first), self-schedulable services, and in-person locations."""

    providers: list[StaffMember]
    services: list[Service]
    locations: list[Location]
    own_provider_id: int | None

    def provider(self, provider_id: int) -> StaffMember | None:
        return next((p for p in self.providers if p.id == provider_id), None)

    def service(self, service_id: int) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def location(self, location_id: int) -> Location | None:
        return next((loc for loc in self.locations if loc.id == location_id), None)


async def offer_for(practice: Practice, client) -> Offer:
    """The same providers the slot engine books (active, a provider, self-scheduling not
    turned off for their calendar), less those with no hours at all."""
    staff = await StaffMember.filter(practice_id=practice.id, active=True).select_related("user")
    eligible = [
        s
        for s in staff
        if s.has_role(Role.PROVIDER)
        and (s.portal_overrides or {}).get("self_scheduling") is not False
    ]
    ids = [s.id for s in eligible]
    with_hours = set(
        await AvailabilityBlock.filter(provider_id__in=ids)
        .distinct()
        .values_list("provider_id", flat=True)
    ) | set(
        await AvailabilityException.filter(
            provider_id__in=ids, kind="extra", date__gte=clock.now().date() - timedelta(days=1)
        )
        .distinct()
        .values_list("provider_id", flat=True)
    )
    own = client.primary_provider_id
    providers = sorted(
        (s for s in eligible if s.id in with_hours),
        key=lambda s: (s.id != own, s.user.display_name.casefold(), s.id),
    )
    services = await Service.filter(
        practice_id=practice.id, active=True, self_schedulable=True
    ).order_by("name", "id")
    locations = await Location.filter(
        practice_id=practice.id, active=True, telehealth=False
    ).order_by("name", "id")
    return Offer(providers, list(services), list(locations), own)


# ---------------------------------------------------------------- the flow's state


@dataclass
class Pick:
    """The chosen time: a provider, an instant, and how (telehealth, or in person where)."""

    provider: StaffMember
    starts_at: datetime
    telehealth: bool
    location: Location | None
    slot: Slot | None = None  # filled in once checked open


@dataclass
class Flow:
    offer: Offer
    tz: str
    today: date
    provider: StaffMember | None = None
    any_provider: bool = False
    service: Service | None = None
    dont_know: bool = False
    where: str = ""  # "", EITHER, TELEHEALTH or a location id
    location: Location | None = None
    month: date | None = None  # the first of the month shown
    month_given: bool = False
    day: date | None = None
    pick: Pick | None = None
    reschedule: Appointment | None = None

    @property
    def who_done(self) -> bool:
        return self.any_provider or self.provider is not None

    @property
    def what_done(self) -> bool:
        return self.dont_know or self.service is not None

    @property
    def where_done(self) -> bool:
        return bool(self.where)

    @property
    def step(self) -> str:
        if not self.who_done:
            return "who"
        if not self.what_done:
            return "what"
        if not self.where_done:
            return "where"
        return "review" if self.pick is not None else "when"

    @property
    def started(self) -> bool:
        return self.who_done or self.what_done or self.where_done

    def params(self) -> dict[str, str]:
        values = {
            "provider": ANY
            if self.any_provider
            else str(self.provider.id)
            if self.provider
            else "",
            "service": ANY if self.dont_know else str(self.service.id) if self.service else "",
            "where": self.where,
            "month": self.month.strftime("%Y-%m") if self.month and self.month_given else "",
            "day": self.day.isoformat() if self.day else "",
            "reschedule": str(self.reschedule.id) if self.reschedule else "",
        }
        if self.pick is not None:
            values.update(
                at=self.pick.starts_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ"),
                p=str(self.pick.provider.id),
                mode=TELEHEALTH if self.pick.telehealth else IN_PERSON,
                loc=str(self.pick.location.id) if self.pick.location else "",
            )
        return values

    def url(self, **changes) -> str:
        """This flow's URL with some parameters changed (None or "" drops one)."""
        values = self.params()
        values.update({k: v for k, v in changes.items()})
        pairs = [(k, values[k]) for k in PARAMS if values.get(k)]
        return PATH + ("?" + urlencode(pairs) if pairs else "")

    def start_url(self) -> str:
        """Back to the first step (a reschedule starts again from its appointment)."""
        return PATH + (f"?reschedule={self.reschedule.id}" if self.reschedule else "")

    def choose(self, **changes) -> str:
        """A choice in Who / What / Where: the day and time chosen so far no longer hold."""
        return self.url(day=None, at=None, p=None, mode=None, loc=None, **changes)

    def slot_url(self, slot: Slot, telehealth: bool) -> str:
        return self.url(
            at=slot.starts_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ"),
            p=str(slot.provider_id),
            mode=TELEHEALTH if telehealth else IN_PERSON,
            loc=str(slot.location_id) if not telehealth and slot.location_id else None,
        )

    def hidden_fields(self) -> list[tuple[str, str]]:
        values = self.params()
        return [(k, values[k]) for k in PARAMS if values.get(k)]

    def query(self, practice: Practice, client, start: date, end: date) -> SlotQuery:
        return SlotQuery(
            practice=practice,
            start=start,
            end=end,
            tz=self.tz,
            provider_ids=None if self.any_provider else [self.provider.id],
            service=self.service,
            location_id=self.location.id if self.location else None,
            telehealth=True if self.where == TELEHEALTH else False if self.location else None,
            # A reschedule moves an appointment: the cap on upcoming ones does not apply.
            client=None if self.reschedule else client,
        )


def _id(raw: str) -> int:
    if not ID.fullmatch(raw) or not 1 <= int(raw) <= 2**31 - 1:
        abort(400)
    return int(raw)


def _first_of_month(raw: str) -> date:
    match = MONTH.fullmatch(raw)
    if not match or int(match[1]) not in YEARS or not 1 <= int(match[2]) <= 12:
        abort(400)
    return date(int(match[1]), int(match[2]), 1)


def _day(raw: str) -> date:
    try:
        value = date.fromisoformat(raw) if DAY.fullmatch(raw) else None
    except ValueError:
        value = None
    if value is None or value.year not in YEARS:
        abort(400)
    return value


def _instant(raw: str) -> datetime:
    match = AT.fullmatch(raw)
    if not match:
        abort(400)
    day = _day(match[1])
    hour, minute = int(match[2]), int(match[3])
    if hour > 23 or minute > 59:
        abort(400)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


async def _own_upcoming(appointment_id: int) -> Appointment:
    """The client's own upcoming appointment, else 404 (another client's included)."""
    appointment = (
        await Appointment.filter(id=appointment_id, client_id=g.access.client.id)
        .select_related("provider__user", "service", "location")
        .first()
    )
    if appointment is None or not appointment.is_upcoming:
        abort(404)
    return appointment


async def parse_flow(values, offer: Offer, tz: str) -> Flow:
    """The flow from query arguments or the Book form: 400 malformed, 404 not offered."""

    def get(name: str) -> str:
        raw = values.get(name, "")
        return raw.strip() if isinstance(raw, str) else ""

    flow = Flow(offer=offer, tz=tz, today=clock.now().astimezone(ZoneInfo(tz)).date())
    if raw := get("reschedule"):
        flow.reschedule = await _own_upcoming(_id(raw))
    if raw := get("provider"):
        if raw == ANY:
            flow.any_provider = True
        elif (provider := offer.provider(_id(raw))) is None:
            abort(404)
        else:
            flow.provider = provider
    if raw := get("service"):
        if raw == ANY:
            flow.dont_know = True
        elif (service := offer.service(_id(raw))) is None:
            abort(404)
        else:
            flow.service = service
    if raw := get("where"):
        if raw in (EITHER, TELEHEALTH):
            flow.where = raw
        elif (location := offer.location(_id(raw))) is None:
            abort(404)
        else:
            flow.where, flow.location = raw, location
    if raw := get("month"):
        flow.month, flow.month_given = _first_of_month(raw), True
    if raw := get("day"):
        flow.day = _day(raw)
    at, p, mode, loc = get("at"), get("p"), get("mode"), get("loc")
    if at or p or mode or loc:
        flow.pick = _pick(flow, at, p, mode, loc)
        flow.day = flow.pick.starts_at.astimezone(ZoneInfo(tz)).date()
    if flow.day is not None and (flow.month is None or flow.month != flow.day.replace(day=1)):
        flow.month, flow.month_given = flow.day.replace(day=1), False
    return flow


def _pick(flow: Flow, at: str, p: str, mode: str, loc: str) -> Pick:
    if not (at and p and mode) or mode not in (TELEHEALTH, IN_PERSON):
        abort(400)
    if not (flow.who_done and flow.what_done and flow.where_done):
        abort(400)  # a time comes after Who, What and Where
    starts_at = _instant(at)
    provider = flow.offer.provider(_id(p))
    if provider is None:
        abort(404)
    if flow.provider is not None and provider.id != flow.provider.id:
        abort(400)
    telehealth = mode == TELEHEALTH
    location = None
    if telehealth:
        if loc or flow.location is not None:
            abort(400)
    else:
        if not loc or flow.where == TELEHEALTH:
            abort(400)
        location = flow.offer.location(_id(loc))
        if location is None:
            abort(404)
        if flow.location is not None and location.id != flow.location.id:
            abort(400)
    return Pick(provider, starts_at, telehealth, location)


# ---------------------------------------------------------------- words and numbers


LONG_DAY = {"en": "EEEE, MMMM d", "es": "EEEE, d 'de' MMMM"}


def long_day(day: date) -> str:
    """ "Wednesday, November 25" in English, "miércoles, 25 de noviembre" in Spanish."""
    locale = current_locale()
    return format_date(day, LONG_DAY.get(locale, "EEEE d MMMM"), locale=locale)


def day_and_time(moment: datetime, tz: str) -> str:
    return f"{long_day(moment.astimezone(ZoneInfo(tz)).date())}, {local_time(moment, tz)}"


def month_label(month: date) -> str:
    return format_date(month, "LLLL y", locale=current_locale())


def local_time(moment: datetime, tz: str) -> str:
    return format_time(moment, "short", tzinfo=ZoneInfo(tz), locale=current_locale())


def address_of(location: Location, practice: Practice) -> str:
    if location.hide_address or practice_settings(practice)["hide_location_address"]:
        return ""
    parts = [location.address_line1, location.address_line2, location.city]
    region = " ".join(x for x in (location.region, location.postal_code) if x)
    return ", ".join(x for x in [*parts, region] if x)


# ---------------------------------------------------------------- calendar and times


@dataclass
class Cell:
    day: date
    kinds: set[str]
    today: bool
    selected: bool
    past: bool
    label: str  # "Wednesday, November 25"


def month_grid(flow: Flow, days: dict[date, set[str]]) -> list[list[Cell | None]]:
    first_weekday = 6 if current_locale() == "en" else 0  # Sunday in the US, else Monday
    weeks = calendar.Calendar(first_weekday).monthdatescalendar(flow.month.year, flow.month.month)
    return [
        [
            Cell(
                day=d,
                kinds=days.get(d, set()),
                today=d == flow.today,
                selected=d == flow.day,
                past=d < flow.today,
                label=long_day(d),
            )
            if d.month == flow.month.month
            else None
            for d in week
        ]
        for week in weeks
    ]


def weekday_names() -> list[tuple[str, str]]:
    """(short, full) weekday names in the calendar's column order."""
    from babel import Locale

    names = Locale.parse(current_locale()).days
    order = [6, 0, 1, 2, 3, 4, 5] if current_locale() == "en" else list(range(7))
    return [
        (names["stand-alone"]["abbreviated"][i], names["stand-alone"]["wide"][i]) for i in order
    ]


def horizon_month(practice: Practice, flow: Flow) -> date:
    """The last month with any day inside the booking horizon."""
    providers = [flow.provider] if flow.provider else flow.offer.providers
    days = max((rules_for(practice, p)["booking_horizon_days"] for p in providers), default=0)
    return (flow.today + timedelta(days=int(days))).replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


@dataclass
class Row:
    """One time on the chosen day: a start, its provider, and the ways it is offered."""

    slot: Slot
    time: str
    provider: StaffMember
    telehealth_url: str | None
    in_person_url: str | None
    location: Location | None


def day_rows(flow: Flow, slots: list[Slot], day: date) -> list[Row]:
    zone = ZoneInfo(flow.tz)
    rows = []
    for slot in slots:
        if slot.starts_at.astimezone(zone).date() != day:
            continue
        provider = flow.offer.provider(slot.provider_id)
        if provider is None:
            continue
        location = flow.offer.location(slot.location_id) if slot.location_id else None
        in_person = slot.in_person and location is not None
        if not (slot.telehealth or in_person):
            continue
        rows.append(
            Row(
                slot=slot,
                time=local_time(slot.starts_at, flow.tz),
                provider=provider,
                telehealth_url=flow.slot_url(slot, True) if slot.telehealth else None,
                in_person_url=flow.slot_url(slot, False) if in_person else None,
                location=location if in_person else None,
            )
        )
    return rows


async def when_context(flow: Flow, practice: Practice, client) -> dict:
    """The month calendar (and the chosen day's times) for the ``when`` step."""
    this_month = flow.today.replace(day=1)
    last_month = max(horizon_month(practice, flow), this_month)
    if flow.month is None:
        flow.month = this_month
    month_end = add_months(flow.month, 1) - timedelta(days=1)
    slots = await open_slots(flow.query(practice, client, flow.month, month_end))
    if not slots and not flow.month_given and flow.day is None and flow.month < last_month:
        # Nothing left this month: open on the next one (where the openings are).
        following = add_months(flow.month, 1)
        more = await open_slots(
            flow.query(practice, client, following, add_months(following, 1) - timedelta(days=1))
        )
        if more:
            flow.month, slots = following, more
    days = days_with_slots(slots, flow.tz)
    prev_month, next_month = add_months(flow.month, -1), add_months(flow.month, 1)
    return {
        "weeks": month_grid(flow, days),
        "weekdays": weekday_names(),
        "month_label": month_label(flow.month),
        "open_days": len(days),
        "prev_url": flow.url(month=prev_month.strftime("%Y-%m"), day=None)
        if prev_month >= this_month
        else None,
        "next_url": flow.url(month=next_month.strftime("%Y-%m"), day=None)
        if next_month <= last_month
        else None,
        "prev_label": month_label(prev_month),
        "next_label": month_label(next_month),
        "rows": day_rows(flow, slots, flow.day) if flow.day else [],
        "day_label": long_day(flow.day) if flow.day else "",
    }


# ---------------------------------------------------------------- pages


def _vary(response: Response) -> Response:
    response.headers["Vary"] = response.headers.get("Vary", "") + ", HX-Target"
    response.headers["Vary"] = response.headers["Vary"].lstrip(", ")
    return response


async def _page(flow: Flow | None, *, status: int = 200, **context) -> Response:
    """The flow page, or for htmx its ``main`` block (the calendar and times alone when
    the month or day links asked for just them)."""
    if (
        flow is not None
        and flow.step == "when"
        and is_htmx()
        and request.headers.get("HX-Target") == WHEN_TARGET
        and request.method == "GET"
    ):
        return _vary(
            await render_partial("partials/_booking_when.html", status=status, flow=flow, **context)
        )
    return _vary(await render_page("views/booking/find.html", status=status, flow=flow, **context))


def conflict_status() -> int:
    # htmx swaps 4xx answers only for 422 (and 403/404): the "just taken" page must show.
    return 422 if is_htmx() else 409


async def render_flow(
    flow: Flow, *, status: int = 200, alert: str = "", notice: str = ""
) -> Response:
    client = g.access.client
    practice = client.practice
    context: dict = {"alert": alert, "notice": notice, "practice": practice}
    if flow.reschedule is None:
        blocked = await booking_blocked_reason(practice, client)
        if blocked == "self_scheduling_off":
            abort(404)
        if blocked:
            return await _page(flow, status=status, blocked=message(blocked), **context)
    if flow.step == "review":
        pick = flow.pick
        day_query = flow.query(practice, client, flow.day, flow.day)
        slot = await slot_is_open(
            day_query,
            pick.provider.id,
            pick.starts_at,
            telehealth=pick.telehealth,
            location_id=pick.location.id if pick.location else None,
        )
        if slot is None:
            return await render_flow(
                replace(flow, pick=None),
                status=conflict_status(),
                alert=message("slot_not_offered"),
            )
        pick.slot = slot
        context.update(
            mode=booking.scheduling_mode(practice, pick.provider),
            when_label=long_day(flow.day),
            start_label=local_time(slot.starts_at, flow.tz),
            end_label=local_time(slot.ends_at, flow.tz),
            address=address_of(pick.location, practice) if pick.location else "",
            back_url=flow.url(at=None, p=None, mode=None, loc=None),
        )
    elif flow.step == "when":
        context.update(await when_context(flow, practice, client))
    elif flow.step == "where":
        context["addresses"] = {loc.id: address_of(loc, practice) for loc in flow.offer.locations}
    if flow.reschedule is not None:
        context["reschedule_label"] = day_and_time(flow.reschedule.starts_at, flow.tz)
    return await _page(flow, status=status, **context)


async def _flow_from(values) -> Flow:
    client = g.access.client
    offer = await offer_for(client.practice, client)
    return await parse_flow(values, offer, client.time_zone)


@blueprint.get(PATH)
@client_section(scope=BOOKING, feature="self_scheduling", category="appointments")
async def get_new():
    flow = await _flow_from(request.args)
    if flow.reschedule is not None and not (
        "provider" in request.args or "service" in request.args
    ):
        # Start a reschedule with the appointment's provider and service chosen.
        appointment = flow.reschedule
        changes = {}
        if flow.offer.provider(appointment.provider_id) is not None:
            changes["provider"] = str(appointment.provider_id)
        if appointment.service_id and flow.offer.service(appointment.service_id) is not None:
            changes["service"] = str(appointment.service_id)
        if changes:
            return redirect(flow.url(**changes), 303)
    notice = {
        "1": _("Your booking was undone."),
        "moved": _("Undone: your appointment is back at its old time."),
    }.get(request.args.get("undone", ""), "")
    return await render_flow(flow, notice=notice)


@blueprint.post(PATH)
@client_section(scope=BOOKING, feature="self_scheduling", category="appointments")
async def post_new():
    form = await request.form
    flow = await _flow_from(form)
    if flow.pick is None:
        abort(400)
    pick = flow.pick
    wanted = booking.BookingRequest(
        provider_id=pick.provider.id,
        starts_at=pick.starts_at,
        telehealth=pick.telehealth,
        location_id=pick.location.id if pick.location else None,
        service_id=flow.service.id if flow.service else None,
    )
    try:
        if flow.reschedule is not None:
            appointment = await booking.reschedule(
                flow.reschedule, wanted, by=g.user, via="web", ip=client_ip()
            )
        else:
            appointment = await booking.book(
                g.access.client, wanted, by=g.user, via="web", ip=client_ip()
            )
    except RuleError as exc:
        if exc.code == "self_scheduling_off":
            abort(404)
        if exc.code in ("slot_taken", "slot_not_offered"):
            return await render_flow(
                replace(flow, pick=None), status=conflict_status(), alert=message(exc.code)
            )
        if exc.code == "booking_cap_reached":
            return await _page(
                flow, status=422, blocked=message(exc.code), practice=g.access.client.practice
            )
        return await render_flow(flow, status=422, alert=message(exc.code))
    target = f"{PATH}/booked/{appointment.id}"
    if is_htmx():
        response = await booked_page(appointment.id)
        response.headers["HX-Push-Url"] = target
        return response
    return redirect(target, 303)


async def booked_page(appointment_id: int, *, status: int = 200, alert: str = "") -> Response:
    appointment = (
        await Appointment.filter(id=appointment_id, client_id=g.access.client.id)
        .select_related("provider__user", "service", "location", "rescheduled_from")
        .first()
    )
    if appointment is None:
        abort(404)
    tz = g.access.client.time_zone
    old = appointment.rescheduled_from
    undo_until = appointment.created_at + booking.UNDO_WINDOW
    can_undo = (
        appointment.status in UPCOMING_STATUSES
        and appointment.booked_by_id == g.user.id
        and policy.undo_open(appointment.created_at, clock.now())
    )
    again = {
        "provider": str(appointment.provider_id),
        "service": str(appointment.service_id) if appointment.service_id else ANY,
    }
    return await render_page(
        "views/booking/booked.html",
        status=status,
        appt=appointment,
        requested=appointment.status == AppointmentStatus.REQUESTED,
        upcoming=appointment.status in UPCOMING_STATUSES,
        can_undo=can_undo,
        undo_until=local_time(undo_until, tz),
        when_label=long_day(appointment.starts_at.astimezone(ZoneInfo(tz)).date()),
        start_label=local_time(appointment.starts_at, tz),
        end_label=local_time(appointment.ends_at, tz),
        address=address_of(appointment.location, g.access.client.practice)
        if appointment.location and not appointment.telehealth
        else "",
        again_url=PATH + "?" + urlencode(again),
        replaced_label=day_and_time(old.starts_at, tz) if old is not None else "",
        alert=alert,
    )


@blueprint.get(f"{PATH}/booked/<id:appointment_id>")
@client_section(scope=BOOKING, feature="self_scheduling", category="appointments")
async def get_booked(appointment_id: int):
    return await booked_page(appointment_id)


@blueprint.post(f"{PATH}/booked/<id:appointment_id>/undo")
@client_section(scope=BOOKING, feature="self_scheduling", category="appointments")
async def post_undo(appointment_id: int):
    appointment = await Appointment.filter(id=appointment_id, client_id=g.access.client.id).first()
    if appointment is None:
        abort(404)
    try:
        await booking.undo_booking(appointment, by=g.user, ip=client_ip())
    except RuleError as exc:
        return await booked_page(appointment_id, status=422, alert=message(exc.code))
    restored = (
        appointment.rescheduled_from_id is not None
        and await Appointment.filter(
            id=appointment.rescheduled_from_id, status__in=UPCOMING_STATUSES
        ).exists()
    )
    again = {
        "provider": str(appointment.provider_id),
        "service": str(appointment.service_id) if appointment.service_id else ANY,
        "undone": "moved" if restored else "1",
    }
    return redirect(PATH + "?" + urlencode(again), 303)
