"""Staff share documents with a client and see what the client uploaded (issue 8)."""

from quart import Blueprint

blueprint = Blueprint("staff_documents", __name__, url_prefix="/staff")
