"""The staff review queue for insurance policies and client-added payers (issue 8)."""

from quart import Blueprint

blueprint = Blueprint("staff_insurance", __name__, url_prefix="/staff")
