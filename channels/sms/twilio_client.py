"""Twilio's REST API through its SDK (``twilio`` 9), asynchronously.

One SDK client per (event loop, account, API base), holding one aiohttp session, so a
burst of texts reuses its connections; ``close()`` ends them (the worker calls it when
it stops). ``TWILIO_API_BASE`` points the client at a local fake in tests: the SDK
builds every URL from its ``api`` domain's ``base_url``.

The SDK logs each request's URL and query at INFO (a list query carries the phone
number), so its logger here is held at WARNING: no numbers or bodies in our logs.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from datetime import UTC, datetime, timedelta

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from app.config import Config

TIMEOUT_SECONDS = 15.0  # Twilio's own webhook read timeout; a create answers far sooner
LIST_LIMIT = 100  # messages to one number looked at when reconciling

_sdk_log = logging.getLogger("portal.sms.sdk")
_sdk_log.setLevel(logging.WARNING)

# Per event loop (an aiohttp session belongs to the loop it was made in).
_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple, tuple[Client, _HttpClient]]
] = weakref.WeakKeyDictionary()


class TwilioError(Exception):
    """Twilio refused (``status`` 4xx/5xx, ``code`` Twilio's error code) or could not be
    reached (``status`` 0: the request may or may not have arrived)."""

    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(f"twilio {status} {code or ''}: {message}"[:200])
        self.status = status
        self.code = code

    @property
    def unreachable(self) -> bool:
        """No answer: Twilio may have accepted the message (reconcile before resending)."""
        return self.status == 0

    @property
    def retryable(self) -> bool:
        return self.status == 0 or self.status == 429 or self.status >= 500


class _HttpClient(AsyncTwilioHttpClient):
    """The SDK's aiohttp client with a timeout that holds: the SDK passes
    ``timeout=None`` on every request, which aiohttp takes as "no timeout"."""

    async def request(self, method, url, *args, timeout=None, **kwargs):
        return await super().request(method, url, *args, timeout=timeout or self.timeout, **kwargs)


def _client(config: Config) -> Client:
    clients = _clients.setdefault(asyncio.get_running_loop(), {})
    key = (config.twilio_account_sid, config.twilio_auth_token, config.twilio_api_base)
    found = clients.get(key)
    if found is not None and not found[1].session.closed:
        return found[0]
    http = _HttpClient(logger=_sdk_log, timeout=TIMEOUT_SECONDS)
    client = Client(config.twilio_account_sid, config.twilio_auth_token, http_client=http)
    client.api.base_url = config.twilio_api_base.rstrip("/")
    clients[key] = (client, http)
    return client


async def close() -> None:
    """Close the sessions opened in this event loop."""
    clients = _clients.pop(asyncio.get_running_loop(), {})
    for _sdk, http in clients.values():
        if http.session is not None and not http.session.closed:
            await http.session.close()


def _sender(config: Config) -> dict[str, str]:
    sender = config.twilio_from.strip()
    if sender.startswith("MG"):
        return {"messaging_service_sid": sender}
    return {"from_": sender}


async def send(
    config: Config, *, to: str, body: str, status_callback: str, validity_seconds: int
) -> str:
    """Hand one text to Twilio; its Message SID. Raises ``TwilioError``."""
    messages = _client(config).messages
    try:
        message = await messages.create_async(
            to=to,
            body=body,
            status_callback=status_callback or None,
            validity_period=max(1, min(36000, int(validity_seconds))),
            **_sender(config),
        )
    except TwilioRestException as exc:
        raise TwilioError(exc.status, exc.code, str(exc.msg or "")) from None
    except (TimeoutError, aiohttp.ClientError, TwilioException, OSError) as exc:
        raise TwilioError(0, None, type(exc).__name__) from None
    if not message.sid:
        raise TwilioError(0, None, "no sid in Twilio's answer")
    return message.sid


async def find_sent(
    config: Config, *, to: str, since: datetime, body: str, exclude: set[str] | frozenset = ()
) -> str | None:
    """The SID of a message to ``to`` with this ``body`` created since ``since`` (and not
    in ``exclude``), or None. Looks at messages sent since then, and also at the most
    recent ones still queued (Twilio sets ``date_sent`` only once it sends)."""
    messages = _client(config).messages
    since = since.astimezone(UTC)
    try:
        found = await messages.list_async(to=to, date_sent_after=since, limit=LIST_LIMIT)
        match = _match(found, since, body, exclude)
        if match is None:
            recent = await messages.list_async(to=to, limit=LIST_LIMIT)
            match = _match(recent, since, body, exclude)
    except TwilioRestException as exc:
        raise TwilioError(exc.status, exc.code, str(exc.msg or "")) from None
    except (TimeoutError, aiohttp.ClientError, TwilioException, OSError) as exc:
        raise TwilioError(0, None, type(exc).__name__) from None
    return match


def _match(found, since: datetime, body: str, exclude) -> str | None:
    slack = timedelta(seconds=1)  # Twilio's dates have whole seconds
    for message in found:
        created = message.date_created
        if created is not None and created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        if created is not None and created + slack < since:
            continue
        if message.sid in exclude or (message.direction or "").startswith("inbound"):
            continue
        # A trial account prefixes its own words: the body must end with ours.
        if message.body == body or (message.body or "").endswith(body):
            return message.sid
    return None
