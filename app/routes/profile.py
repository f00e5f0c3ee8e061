"""My Profile (seed 000): personal information, phones and emails with reminder
settings, contacts, cards on file, username and sign-in history. Read-only here;
editing arrives with the profile issue."""

from quart import Blueprint, g

from app.auth import client_section
from app.htmx import render_page
from models.ledger import SavedCard
from models.people import Contact, ContactPoint
from models.practice import Practice
from models.security import LoginEvent

blueprint = Blueprint("profile", __name__)


@blueprint.get("/profile")
@client_section(scope="profile")
async def get_profile():
    client = g.access.client
    points = await ContactPoint.filter(client_id=client.id).order_by("kind", "-is_default", "id")
    contacts = await Contact.filter(client_id=client.id).order_by("name")
    cards = SavedCard.filter(client_id=client.id)
    if not g.access.is_self:  # a guardian sees only the cards they added
        cards = cards.filter(added_by_id=g.user.id)
    last_login = (
        await LoginEvent.filter(user_id=g.user.id, success=True).order_by("-at").offset(1).first()
    )
    practice = await Practice.get(id=client.practice_id)
    return await render_page(
        "views/client/profile.html",
        points=points,
        contacts=contacts,
        cards=await cards.order_by("-is_default", "id"),
        last_login=last_login,
        practice=practice,
    )
