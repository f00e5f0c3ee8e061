"""Filling in an online form: drafts saved while typing, submit with an e-signature,
then locked with a PDF copy in My Documents (issue 8)."""

from quart import Blueprint

blueprint = Blueprint("forms", __name__)
