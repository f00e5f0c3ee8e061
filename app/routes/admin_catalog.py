"""(issue 9; being built)"""

from __future__ import annotations

from quart import Blueprint

blueprint = Blueprint("admin_catalog", __name__, url_prefix="/admin")
