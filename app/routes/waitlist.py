"""The waitlist in My Appointments: join with your wishes, see your place, leave;
and the page an emailed offer links to (take the held time, or pass it on)."""

from __future__ import annotations

from quart import Blueprint, Response, abort, g, redirect, request

from app.auth import client_section
from app.forms import Form
from app.htmx import hx_redirect, is_htmx, render_page
from app.i18n import lazy_gettext as _l
from app.net import client_ip
from app.rules import rule_message
from channels import appointment_mail
from models import booking, waitlist
from models.access import BOOKING
from models.audit import audit
from models.errors import RuleError
from models.people import Role, StaffMember
from models.practice import Location, Service
from models.scheduling import WaitlistEntry

blueprint = Blueprint("waitlist", __name__)
SECTION = dict(scope=BOOKING, feature="self_scheduling", category="appointments")
WEEKDAYS = [_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun")]
PARTS = {"morning": _l("Morning"), "afternoon": _l("Afternoon"), "evening": _l("Evening")}
MODALITIES = {"any": _l("Either"), "in_person": _l("In person"), "telehealth": _l("Telehealth")}


async def _choices() -> dict:
    client = g.access.client
    providers = [
        p
        for p in await StaffMember.filter(practice_id=client.practice_id, active=True)
        .select_related("user")
        .order_by("id")
        if p.has_role(Role.PROVIDER)
    ]
    services = await Service.filter(
        practice_id=client.practice_id, active=True, self_schedulable=True
    ).order_by("name")
    return {"providers": providers, "services": services}


async def _page(form: Form | None = None, status: int = 200, notice: str = ""):
    client = g.access.client
    entries = (
        await WaitlistEntry.filter(client_id=client.id, status="waiting")
        .select_related("provider__user", "service")
        .order_by("created_at")
    )
    return await render_page(
        "views/client/waitlist.html",
        status=status,
        entries=entries,
        places=await waitlist.places(entries, client.practice_id),
        form=form or Form({"modality": "any"}),
        weekdays=WEEKDAYS,
        parts=PARTS,
        modalities=MODALITIES,
        notice=notice,
        **await _choices(),
    )


@blueprint.get("/appointments/waitlist")
@client_section(**SECTION)
async def get_waitlist():
    return await _page()


def _optional_id(form: Form, name: str) -> int | None:
    raw = form.value(name).strip()
    if raw in ("", "any"):
        return None
    if not raw.isdigit() or len(raw) > 9:
        form.errors[name] = rule_message("waitlist_bad_choice")
        return None
    return int(raw)


@blueprint.post("/appointments/waitlist")
@client_section(**SECTION)
async def post_waitlist():
    raw = await request.form
    form = Form.of(raw)
    provider_id = _optional_id(form, "provider")
    service_id = _optional_id(form, "service")
    days = raw.getlist("weekday")
    parts = raw.getlist("day_part")
    weekdays = [int(d) for d in days if d.isdigit() and len(d) == 1]
    if len(weekdays) != len(days) or len(parts) > len(PARTS):
        form.errors["weekday"] = rule_message("waitlist_bad_choice")
    if form.ok:
        try:
            entry = await waitlist.join(
                g.access.client,
                provider_id=provider_id,
                service_id=service_id,
                modality=form.value("modality") or "any",
                weekdays=weekdays,
                day_parts=[p for p in parts if isinstance(p, str)],
            )
        except RuleError as error:
            form.errors["__all__"] = rule_message(error.code)
        else:
            await audit(
                g.user,
                "waitlist.joined",
                client_id=g.access.client.id,
                obj=entry,
                category="appointments",
                ip=client_ip(),
            )
    if not form.ok:
        return await _page(form, status=422)
    return _back("/appointments/waitlist?joined=1")


@blueprint.post("/appointments/waitlist/<id:entry_id>/leave")
@client_section(**SECTION)
async def post_leave(entry_id: int):
    entry = await WaitlistEntry.get_or_none(id=entry_id, client_id=g.access.client.id)
    if entry is None:
        abort(404)
    await waitlist.leave(entry)
    await audit(
        g.user,
        "waitlist.left",
        client_id=g.access.client.id,
        obj=entry,
        category="appointments",
        ip=client_ip(),
    )
    return _back("/appointments/waitlist")


def _back(target: str) -> Response:
    if is_htmx():
        return hx_redirect(Response("", 200), target)
    return redirect(target, 303)


# ---- an emailed offer ------------------------------------------------------------------


async def _offer_page(token: str, *, status: int = 200, error: str = ""):
    try:
        offer = await waitlist.open_offer(token, g.access.client)
    except RuleError as refused:
        return await render_page(
            "views/client/waitlist_offer.html",
            status=410 if refused.code != "offer_not_found" else 404,
            offer=None,
            message=rule_message(refused.code),
        )
    await offer.fetch_related("provider__user")
    location = await Location.get_or_none(id=offer.location_id) if offer.location_id else None
    return await render_page(
        "views/client/waitlist_offer.html",
        status=status,
        offer=offer,
        location=location,
        token=token,
        message=error,
    )


@blueprint.get("/waitlist/offers/<token>")
@client_section(**SECTION)
async def get_offer(token: str):
    return await _offer_page(token)


@blueprint.post("/waitlist/offers/<token>/take")
@client_section(**SECTION)
async def post_take(token: str):
    try:
        offer = await waitlist.open_offer(token, g.access.client)
        appointment = await booking.book(
            g.access.client,
            booking.BookingRequest(
                provider_id=offer.provider_id,
                starts_at=offer.starts_at,
                telehealth=offer.telehealth,
                location_id=offer.location_id,
                service_id=offer.service_id,
            ),
            by=g.user,
            via="waitlist",
            ip=client_ip(),
        )
    except RuleError as error:
        return await _offer_page(token, status=409, error=rule_message(error.code))
    await waitlist.mark_taken(offer, appointment)
    return _back("/appointments?booked=" + str(appointment.id))


@blueprint.post("/waitlist/offers/<token>/pass")
@client_section(**SECTION)
async def post_pass(token: str):
    try:
        offer = await waitlist.open_offer(token, g.access.client)
    except RuleError:
        return _back("/appointments/waitlist")
    await waitlist.pass_offer(offer, appointment_mail.waitlist_offer)
    return _back("/appointments/waitlist")
