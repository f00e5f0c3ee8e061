from quart import Blueprint, g, redirect

from app.auth import client_section, public
from app.htmx import render_page
from app.menu import open_tasks
from models.dashboard import dashboard_for
from models.people import User

blueprint = Blueprint("dashboard", __name__)


@blueprint.get("/")
@public
async def get_root():
    return redirect("/dashboard" if g.user else "/login", 303)


@blueprint.get("/dashboard")
@client_section()
async def get_dashboard():
    tasks = await open_tasks() if g.access.allows("forms") else None
    user = g.user
    if g.access.preview:  # the client's own tasks (two-factor), not the admin's
        user = await User.get_or_none(id=g.access.client.user_id) or User(totp_enabled_at=None)
    board = await dashboard_for(user, g.access, g.settings, tasks)
    return await render_page("views/client/dashboard.html", board=board, settings=g.settings)
