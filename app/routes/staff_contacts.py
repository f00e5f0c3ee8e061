"""Staff manage a client's contacts: portal access and the rights of each link (issue 8)."""

from quart import Blueprint

blueprint = Blueprint("staff_contacts", __name__, url_prefix="/staff")
