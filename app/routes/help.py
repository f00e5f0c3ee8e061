"""Help: short guides and frequently asked questions for each portal section (issue 8)."""

from quart import Blueprint

blueprint = Blueprint("help", __name__)
