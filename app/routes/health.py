from quart import Blueprint
from tortoise import connections

from app.auth import public

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
@public
async def get_healthz():
    """Ready: the database answers."""
    await connections.get("default").execute_query("SELECT 1")
    return {"status": "ok"}


@blueprint.get("/healthz/live")
@public
async def get_live():
    """Alive: the process answers (also the benchmark's floor route)."""
    return "ok", 200, {"Content-Type": "text/plain"}
