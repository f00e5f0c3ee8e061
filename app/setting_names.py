"""What the portal switches and the levels that set them are called on staff pages."""

from __future__ import annotations

from app.i18n import lazy_gettext as _l
from models.client_overrides import Feature
from models.people import StaffMember

LABELS = {
    "payments": _l("Allow client payments"),
    "allow_credit": _l("Allow payments above the balance"),
    "messaging": _l("Allow secure messaging"),
    "self_scheduling": _l("Allow self-scheduling"),
    "within_24h": _l("Allow clients to schedule or cancel within 24 hours"),
    "documents": _l("Forms and documents"),
    "insurance_display": _l("Display insurance info"),
    "insurance_add_payers": _l("Allow clients to add new insurance payers"),
    "contact_access": _l("Allow portal access for client contacts"),
    "hide_location_address": _l("Hide location address on intake forms"),
    "scheduling_mode": _l("Self-scheduled appointments are"),
    "require_two_factor": _l("Require two-factor sign-in"),
    # The appointment emails ("Email the client when an appointment is: ...").
    "notify_created": _l("booked or requested"),
    "notify_rescheduled": _l("rescheduled"),
    "notify_cancelled": _l("cancelled"),
    "notify_request_confirmed": _l("a request staff accepted"),
    "notify_request_declined": _l("a request staff declined"),
}
# The settings the practice overview (/admin/) lists, in its order.
OVERVIEW = (
    "payments",
    "messaging",
    "self_scheduling",
    "scheduling_mode",
    "within_24h",
    "documents",
    "insurance_display",
    "insurance_add_payers",
    "contact_access",
    "hide_location_address",
    "require_two_factor",
)
# Why a switch is off for a client, by the level that turned it off.
OFF_BECAUSE = {
    "default": _l("Off by default for the practice."),
    "practice": _l("Off for the whole practice (Client portal settings)."),
    "provider": _l("Off for every client of their provider, %(provider)s."),
    "client": _l("Off for this client only."),
    "processor": _l("Off: the practice has no card processor this server can use."),
}
ON_BECAUSE = {
    "default": _l("On, as the practice has it by default."),
    "practice": _l("On, as the practice has it."),
}


def why(feature: Feature, provider: StaffMember | None) -> str:
    """The sentence that says why ``feature`` is on or off for the client."""
    if feature.on:
        return str(ON_BECAUSE.get(feature.source, ON_BECAUSE["practice"]))
    if feature.source == "provider":
        name = provider.user.display_name if provider is not None else ""
        return str(OFF_BECAUSE["provider"]) % {"provider": name}
    return str(OFF_BECAUSE[feature.source])
