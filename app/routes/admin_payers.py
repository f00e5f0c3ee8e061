"""(issue 9; being built)"""

from __future__ import annotations

from quart import Blueprint

blueprint = Blueprint("admin_payers", __name__, url_prefix="/admin")
