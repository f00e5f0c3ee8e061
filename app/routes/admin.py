"""Practice settings (admins). Read-only here; the settings issue makes them editable."""

from quart import Blueprint, g

from app.auth import staff_only
from app.htmx import render_page
from models.people import Role
from models.practice import Location, Practice, Service
from models.settings import practice_settings

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


@blueprint.get("/")
@staff_only(Role.ADMIN)
async def get_portal_settings():
    practice = await Practice.get(id=g.staff.practice_id)
    return await render_page(
        "views/admin/settings.html",
        practice=practice,
        settings=practice_settings(practice),
        locations=await Location.filter(practice_id=practice.id).order_by("name"),
        services=await Service.filter(practice_id=practice.id).order_by("name"),
    )
