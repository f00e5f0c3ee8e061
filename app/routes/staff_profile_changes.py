"""The staff review queue for profile changes that need checking (issue 8)."""

from quart import Blueprint

blueprint = Blueprint("staff_profile_changes", __name__, url_prefix="/staff")
