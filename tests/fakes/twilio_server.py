"""A fake Twilio that speaks the REST format the ``twilio`` SDK uses, on 127.0.0.1.

What it serves (the parts of ``/2010-04-01`` the portal calls):

- ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (form: ``To``, ``From`` or
  ``MessagingServiceSid``, ``Body``, ``StatusCallback``, ``ValidityPeriod``), HTTP basic
  auth with the account SID and auth token (401 otherwise). 201 with a Message resource
  (``sid`` "SM" + 32 hex, ``status`` "queued", or "accepted" through a Messaging
  Service); 400 with Twilio's JSON error body: 21610 for a number on the blocklist (it
  replied STOP), 21211 for an invalid number, 21602 without a body, 21624 for a
  ValidityPeriod outside 1..36000.
- ``GET .../Messages.json`` with ``To``, ``From``, ``DateSent>``, ``DateSent<`` filters,
  newest first, with Twilio's paging fields.
- ``GET .../Messages/{Sid}.json``.

Every create attempt is recorded in ``attempts`` (refused ones too) with its time.
``fail_next`` makes the next N creates answer 500 (nothing created); ``delay`` holds
each create's answer that many seconds *after* the message was created (Twilio
accepted, the caller has not heard yet); ``hang`` holds it for good.

``status_request(sid, status)`` gives the signed status callback Twilio would post to
the message's ``StatusCallback`` (URL, form, headers) to replay through Quart's test
client; ``post_status`` posts it over HTTP. ``signature_headers`` is the signing helper
other tests (inbound webhooks) reuse.

Runs in the current event loop (``await fake.start()``), in a thread of its own
(``fake.start_thread()``; the ``fake_twilio`` fixture), or as a process::

    python -m tests.fakes.twilio_server --port 0 --sid AC... --token ...
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import parse_qsl

import pytest
from aiohttp import ClientSession, web
from twilio.request_validator import RequestValidator

API = "/2010-04-01"
E164 = re.compile(r"\+[1-9][0-9]{7,14}")
DEFAULT_FROM = "+15550109999"


def new_account_sid() -> str:
    return "AC" + secrets.token_hex(16)


def signature_headers(token: str, url: str, params: Mapping[str, str]) -> dict[str, str]:
    """The headers of a webhook Twilio signs with ``token`` (X-Twilio-Signature)."""
    return {
        "X-Twilio-Signature": RequestValidator(token).compute_signature(url, dict(params)),
        "Content-Type": "application/x-www-form-urlencoded",
    }


def _twilio_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True).replace("GMT", "+0000")


def _parse_filter_date(text: str) -> datetime | None:
    text = text.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"):
        with contextlib.suppress(ValueError):
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
    return None


@dataclass
class Attempt:
    """One create request as the fake received it."""

    at: float  # time.monotonic()
    wall: datetime
    form: dict[str, str]
    status: int  # the HTTP status answered (or about to be)
    sid: str | None = None
    code: int | None = None

    @property
    def to(self) -> str:
        return self.form.get("To", "")


@dataclass
class FakeMessage:
    sid: str
    account_sid: str
    to: str
    from_: str
    messaging_service_sid: str | None
    body: str
    status: str
    date_created: datetime
    date_sent: datetime | None
    status_callback: str
    validity_period: int | None
    statuses: list[str] = field(default_factory=list)

    def resource(self) -> dict:
        uri = f"{API}/Accounts/{self.account_sid}/Messages/{self.sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": self.body,
            "date_created": _twilio_date(self.date_created),
            "date_updated": _twilio_date(self.date_created),
            "date_sent": _twilio_date(self.date_sent) if self.date_sent else None,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": self.to,
            "uri": uri,
        }


class FakeTwilio:
    def __init__(
        self,
        account_sid: str | None = None,
        auth_token: str | None = None,
        *,
        sent_immediately: bool = True,
    ) -> None:
        self.account_sid = account_sid or new_account_sid()
        self.auth_token = auth_token or secrets.token_hex(16)
        # True: a created message counts as sent at once (date_sent set, so it shows
        # up under DateSent> filters); False: it stays queued with no date_sent.
        self.sent_immediately = sent_immediately
        self.blocklist: set[str] = set()  # numbers that replied STOP (21610)
        self.invalid: set[str] = set()  # numbers Twilio calls invalid (21211)
        self.attempts: list[Attempt] = []
        self.messages: dict[str, FakeMessage] = {}
        self.list_requests: list[dict[str, str]] = []
        self.fail_next = 0
        self.delay = 0.0
        self.hang = False
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # ---- where it is, what it saw ----------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config_overrides(self, **more) -> dict:
        """Config fields that point the portal at this fake."""
        return {
            "twilio_account_sid": self.account_sid,
            "twilio_auth_token": self.auth_token,
            "twilio_from": DEFAULT_FROM,
            "twilio_api_base": self.url,
            **more,
        }

    def env(self) -> dict[str, str]:
        """The same as environment variables, for a ``portal`` subprocess."""
        return {
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_FROM": DEFAULT_FROM,
            "TWILIO_API_BASE": self.url,
        }

    def created(self, to: str | None = None) -> list[FakeMessage]:
        """Messages accepted (in order), optionally only those to ``to``."""
        with self._lock:
            found = list(self.messages.values())
        return [m for m in found if to is None or m.to == to]

    def attempts_to(self, to: str) -> list[Attempt]:
        with self._lock:
            return [a for a in self.attempts if a.to == to]

    def reset(self) -> None:
        with self._lock:
            self.attempts.clear()
            self.messages.clear()
            self.list_requests.clear()
        self.fail_next, self.delay, self.hang = 0, 0.0, False

    # ---- status callbacks ---------------------------------------------------------------

    def status_request(
        self, sid: str, status: str, error_code: str | None = None, url: str | None = None
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """(url, form, headers) of the status callback Twilio would post for ``sid``."""
        message = self.messages[sid]
        form = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "From": message.from_,
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": message.to,
        }
        if error_code:
            form["ErrorCode"] = str(error_code)
        target = url or message.status_callback
        return target, form, signature_headers(self.auth_token, target, form)

    async def post_status(self, sid: str, status: str, error_code: str | None = None) -> int:
        """POST the signed callback to the message's StatusCallback; the HTTP status."""
        url, form, headers = self.status_request(sid, status, error_code)
        async with ClientSession() as session, session.post(url, data=form, headers=headers) as r:
            return r.status

    # ---- the HTTP side --------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return secrets.compare_digest(user, self.account_sid) and secrets.compare_digest(
            password, self.auth_token
        )

    @staticmethod
    def _error(status: int, code: int, message: str) -> web.Response:
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return web.json_response(body, status=status)

    def _check(self, request: web.Request) -> web.Response | None:
        if request.match_info["account"] != self.account_sid or not self._authorised(request):
            return self._error(401, 20003, "Authenticate")
        return None

    async def _create(self, request: web.Request) -> web.Response:
        form = dict(parse_qsl(await request.text(), keep_blank_values=True))
        attempt = Attempt(time.monotonic(), datetime.now(UTC), form, 201)
        with self._lock:
            self.attempts.append(attempt)
        refused = self._check(request)
        if refused is not None:
            attempt.status = 401
            return refused
        if self.fail_next > 0:
            self.fail_next -= 1
            attempt.status, attempt.code = 500, 20500
            return self._error(500, 20500, "Internal Server Error")
        to = form.get("To", "")
        validity = form.get("ValidityPeriod")
        problem: tuple[int, str] | None = None
        if not E164.fullmatch(to) or to in self.invalid:
            problem = (21211, f"The 'To' number {to} is not a valid phone number.")
        elif to in self.blocklist:
            problem = (21610, "Attempt to send to unsubscribed recipient")
        elif not form.get("From") and not form.get("MessagingServiceSid"):
            problem = (21603, "The 'From' phone number is required.")
        elif not form.get("Body"):
            problem = (21602, "Message body is required.")
        elif validity is not None and (not validity.isdigit() or not 1 <= int(validity) <= 36000):
            problem = (21624, "Invalid validity period value.")
        if problem:
            attempt.status, attempt.code = 400, problem[0]
            return self._error(400, *problem)
        now = datetime.now(UTC)
        service = form.get("MessagingServiceSid")
        message = FakeMessage(
            sid="SM" + secrets.token_hex(16),
            account_sid=self.account_sid,
            to=to,
            from_=form.get("From") or DEFAULT_FROM,
            messaging_service_sid=service,
            body=form["Body"],
            status="accepted" if service else "queued",
            date_created=now,
            date_sent=now if self.sent_immediately else None,
            status_callback=form.get("StatusCallback", ""),
            validity_period=int(validity) if validity else None,
        )
        with self._lock:
            self.messages[message.sid] = message
        attempt.sid = message.sid
        answer = web.json_response(message.resource(), status=201)
        if self.sent_immediately:
            message.status = "sent"
        if self.hang:
            await asyncio.Event().wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        return answer

    async def _list(self, request: web.Request) -> web.Response:
        refused = self._check(request)
        if refused is not None:
            return refused
        query = dict(request.query)
        with self._lock:
            self.list_requests.append(query)
            found = list(self.messages.values())
        after = _parse_filter_date(query.get("DateSent>", "")) if "DateSent>" in query else None
        before = _parse_filter_date(query.get("DateSent<", "")) if "DateSent<" in query else None
        if query.get("To"):
            found = [m for m in found if m.to == query["To"]]
        if query.get("From"):
            found = [m for m in found if m.from_ == query["From"]]
        if after is not None:
            found = [m for m in found if m.date_sent and m.date_sent >= after]
        if before is not None:
            found = [m for m in found if m.date_sent and m.date_sent <= before]
        found.sort(key=lambda m: m.date_created, reverse=True)
        try:
            page_size = max(1, min(1000, int(query.get("PageSize", "50"))))
            page = max(0, int(query.get("Page", "0")))
        except ValueError:
            return self._error(400, 20001, "Invalid paging parameter")
        chunk = found[page * page_size : (page + 1) * page_size]
        base = f"{API}/Accounts/{self.account_sid}/Messages.json"
        more = (page + 1) * page_size < len(found)
        body = {
            "end": page * page_size + max(0, len(chunk) - 1),
            "first_page_uri": f"{base}?PageSize={page_size}&Page=0",
            "messages": [m.resource() for m in chunk],
            "next_page_uri": f"{base}?PageSize={page_size}&Page={page + 1}" if more else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": (
                f"{base}?PageSize={page_size}&Page={page - 1}" if page > 0 else None
            ),
            "start": page * page_size,
            "uri": f"{base}?PageSize={page_size}&Page={page}",
        }
        return web.json_response(body)

    async def _fetch(self, request: web.Request) -> web.Response:
        refused = self._check(request)
        if refused is not None:
            return refused
        message = self.messages.get(request.match_info["sid"])
        if message is None:
            return self._error(404, 20404, "The requested resource was not found")
        return web.json_response(message.resource())

    def application(self) -> web.Application:
        app = web.Application()
        prefix = API + "/Accounts/{account}/Messages"
        app.router.add_post(prefix + ".json", self._create)
        app.router.add_get(prefix + ".json", self._list)
        app.router.add_get(prefix + "/{sid}.json", self._fetch)
        return app

    # ---- running it ------------------------------------------------------------------------

    async def start(self, port: int = 0) -> FakeTwilio:
        """Serve in the running event loop."""
        self._runner = web.AppRunner(self.application(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start_thread(self) -> FakeTwilio:
        """Serve from a thread with its own event loop (reachable from other processes)."""
        ready = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self.start())
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self.stop())
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="fake-twilio", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake Twilio did not start")
        return self

    def stop_thread(self) -> None:
        if self._loop is not None and self._thread is not None:
            self.hang = False
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None


@pytest.fixture
def fake_twilio():
    """A fake Twilio in a thread of its own, for this one test."""
    fake = FakeTwilio().start_thread()
    try:
        yield fake
    finally:
        fake.stop_thread()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake Twilio REST API on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--sid", default=None)
    parser.add_argument("--token", default=None)
    args = parser.parse_args(argv)
    fake = FakeTwilio(args.sid, args.token)

    async def serve() -> None:
        await fake.start(args.port)
        print(json.dumps({"url": fake.url, "sid": fake.account_sid, "token": fake.auth_token}))
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
