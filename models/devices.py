"""The browsers a person signs in from.

Each browser carries a random device token in a signed cookie; the database keeps
only the token's hash, per user. A device is "remembered" for 30 days after the
person passed two-factor there and asked for it, and can be revoked from My
Profile. A sign-in from a browser not seen before emails the person, at most
once an hour for the same browser and network.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from models import clock
from models.people import User
from models.security import Device, token_digest

REMEMBER_FOR = timedelta(days=30)
NOTIFY_AT_MOST_EVERY = timedelta(hours=1)


def sign_token(token: str, key: str) -> str:
    mac = hmac.new(key.encode(), token.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{token}.{mac}"


def unsign_token(value: str, key: str) -> str | None:
    """The token in a device cookie, or None when it is missing, malformed or forged."""
    token, _, mac = (value or "").rpartition(".")
    if not token or len(token) != 43 or len(mac) != 32:
        return None
    expected = hmac.new(key.encode(), token.encode(), hashlib.sha256).hexdigest()[:32]
    return token if hmac.compare_digest(mac, expected) else None


def new_token() -> str:
    return secrets.token_urlsafe(32)


_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def describe_agent(user_agent: str) -> str:
    """ "Firefox on Android" from a User-Agent header: enough to recognise one's own device."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or re.sub(r"[^\w ./-]", "", user_agent)[:40] or "Unknown browser"


def approximate_place(ip: str) -> str:
    """The network, not the address: 203.0.113.7 -> 203.0.113.x (no location database here)."""
    if ip.count(".") == 3:
        return ip.rsplit(".", 1)[0] + ".x"
    if ":" in ip:
        return ":".join(ip.split(":")[:3]) + ":…"
    return ip


def _fingerprint(user_agent: str, ip: str) -> str:
    return hashlib.sha256(f"{user_agent}|{approximate_place(ip)}".encode()).hexdigest()


async def find(user: User, token: str | None) -> Device | None:
    if not token:
        return None
    return await Device.get_or_none(
        user_id=user.id, token_hash=token_digest(token), revoked_at__isnull=True
    )


async def note_sign_in(
    user: User, token: str | None, *, ip: str, user_agent: str
) -> tuple[Device, str, bool]:
    """The device for this sign-in: ``(device, token, is_new)``.

    ``token`` is the browser's device token (a new one when it had none, or a
    revoked one), to be set in the device cookie.
    """
    now = clock.now()
    device = await find(user, token)
    if device is not None:
        device.last_seen_at = now
        device.last_ip = ip[:64]
        await device.save(update_fields=["last_seen_at", "last_ip"])
        return device, token, False
    if not token or await Device.exists(user_id=user.id, token_hash=token_digest(token)):
        token = new_token()  # a revoked device starts over as a new one
    device = await Device.create(
        user_id=user.id,
        token_hash=token_digest(token),
        label=describe_agent(user_agent)[:100],
        fingerprint=_fingerprint(user_agent, ip),
        first_seen_at=now,
        last_seen_at=now,
        last_ip=ip[:64],
    )
    return device, token, True


def is_remembered(device: Device | None) -> bool:
    return bool(
        device is not None
        and device.revoked_at is None
        and device.remembered_until is not None
        and device.remembered_until > clock.now()
    )


async def remember(device: Device) -> None:
    device.remembered_until = clock.now() + REMEMBER_FOR
    await device.save(update_fields=["remembered_until"])


async def claim_notice(device: Device) -> bool:
    """Whether to email about this new device now; at most one an hour per browser and network."""
    now = clock.now()
    recent = await Device.filter(
        user_id=device.user_id,
        fingerprint=device.fingerprint,
        notified_at__gte=now - NOTIFY_AT_MOST_EVERY,
    ).exists()
    if recent:
        return False
    device.notified_at = now
    await device.save(update_fields=["notified_at"])
    return True


async def revoke(user: User, device_id: int) -> bool:
    """Forget a device: it is asked for a code again, and its sessions end."""
    from models.security import Session

    count = await Device.filter(id=device_id, user_id=user.id, revoked_at__isnull=True).update(
        revoked_at=clock.now(), remembered_until=None
    )
    if count:
        await Session.filter(device_id=device_id, user_id=user.id).delete()
    return bool(count)


async def forget_all(user: User) -> None:
    """After two-factor is turned off or reset: no browser skips the code any more."""
    await Device.filter(user_id=user.id).update(remembered_until=None)
