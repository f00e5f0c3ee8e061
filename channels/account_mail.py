"""Emails about the account itself: a new device, a reset link, a changed factor.

None carries health information; each says what happened and links to
My Profile > Sign-in and security, built from PUBLIC_URL (never the Host header).
"""

from __future__ import annotations

from models import clock
from models.devices import approximate_place
from models.people import User
from models.security import Device


def _queue(**kwargs):
    from channels.email import queue_email  # the outbox-backed sender

    return queue_email(**kwargs)


async def new_device(user: User, device: Device, *, ip: str) -> None:
    when = device.notified_at or clock.now()
    await _queue(
        to=user.email,
        template="new_device",
        lang=user.language,
        dedupe_key=f"new-device:{device.id}:{when.isoformat()}",
        context={
            "name": user.display_name,
            "when": when.strftime("%Y-%m-%d %H:%M UTC"),
            "place": approximate_place(ip),
            "browser": device.label,
        },
    )


async def password_reset(user: User, token: str, reset_id: int) -> None:
    await _queue(
        to=user.email,
        template="password_reset",
        lang=user.language,
        dedupe_key=f"password-reset:{reset_id}",
        context={"name": user.display_name, "path": f"/password/reset/{token}"},
    )


async def security_notice(user: User, what: str) -> None:
    """``what``: password, username, two_factor_on, two_factor_off, recovery_codes,
    code_replayed (a right code entered again: at most one email a minute)."""
    now = clock.now()
    stamp = now.replace(second=0, microsecond=0) if what == "code_replayed" else now
    await _queue(
        to=user.email,
        template="security_notice",
        lang=user.language,
        dedupe_key=f"security:{what}:{user.id}:{stamp.isoformat()}",
        context={
            "name": user.display_name,
            "what": what,
            "when": now.strftime("%Y-%m-%d %H:%M UTC"),
        },
    )
