"""My Profile's editable details: phones and emails, personal details, contacts and
the photo ID (issue 8)."""

from quart import Blueprint

blueprint = Blueprint("profile_details", __name__)
