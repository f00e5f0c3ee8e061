"""Staff build online forms and assign them to clients or to a guardian (issue 8)."""

from quart import Blueprint

blueprint = Blueprint("staff_forms", __name__, url_prefix="/staff")
