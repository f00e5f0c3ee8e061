"""A fake Stripe that speaks the wire format the ``stripe`` SDK (v16) uses, on 127.0.0.1.

Point the SDK at it with::

    stripe.StripeClient(fake.api_key, base_addresses={"api": fake.url},
                        http_client=stripe.HTTPXClient(allow_sync_methods=True))

Wire format: form-encoded bodies with bracket notation (``metadata[k]=v``,
``payment_method_types[0]=card`` or ``[]``, ``automatic_payment_methods[enabled]=true``),
``Authorization: Bearer <secret key>`` (401 with Stripe's error JSON otherwise), JSON
objects shaped like Stripe's (``id``, ``object``, ``created``, ``livemode: false``...),
errors as ``{"error": {"type", "code", "decline_code", "message", "param",
"payment_intent"...}}`` with Stripe's statuses (400, 401, 402 card errors, 404 unknown
ids with ``resource_missing``, 500 ``api_error``). Unknown parameters are refused the way
Stripe refuses them (400 "Received unknown parameter: x"), so a typo fails loudly.

What it serves (``/v1``):

- customers: create, retrieve, update, list their payment methods;
- payment methods: the test tokens in ``TEST_CARDS`` (``pm_card_visa`` ...). As at Stripe,
  using a token (attach, confirm) creates a new ``pm_...`` with its card details; attach,
  detach, retrieve, ``GET /v1/payment_methods?customer=``;
- setup intents: create (optionally ``confirm=true``), retrieve, update, confirm, cancel;
- payment intents: create (optionally ``confirm=true``, ``off_session``), retrieve, update,
  confirm, cancel; charges are created on success (and on declines, status ``failed``,
  as Stripe does);
- refunds (create, retrieve), charges and disputes (retrieve), events (retrieve, list).

Test cards (``TEST_CARDS``): visa/mastercard/amex succeed; ``pm_card_chargeDeclined`` is
declined (402 ``card_declined``/``generic_decline``), also when attached or set up;
``pm_card_chargeCustomerFail`` attaches and sets up but every charge is declined;
``pm_card_visa_chargeDeclinedInsufficientFunds`` and ``pm_card_chargeDeclinedExpiredCard``
decline charges with their codes; ``pm_card_authenticationRequired`` asks for 3-D Secure
on every setup and payment (``requires_action``; off-session or with
``error_on_requires_action`` a 402 ``authentication_required``);
``pm_card_authenticationRequiredOnSetup`` asks once: after a completed setup (or an
authenticated payment) it pays without asking, on or off session.

``next_action`` is ``use_stripe_sdk`` or, when the confirm carried ``return_url``,
``redirect_to_url`` (as at Stripe); both point at ``GET /3ds/{intent}``, a page of the
fake's own with "Complete authentication" / "Fail authentication" buttons that then
redirects to the return URL with ``payment_intent=...&redirect_status=...``. From Python,
``complete_action(intent_id, succeed)`` does the same.

Idempotency (Stripe's semantics): a POST's ``Idempotency-Key`` (scoped to the API key)
with the same endpoint and parameters replays the first answer byte for byte with
``Idempotent-Replayed: true`` and does nothing again; different parameters or another
endpoint answer 400 ``idempotency_error``; requests with one key run one at a time (the
second waits and replays; ``concurrent_conflict = True`` answers it 409 instead, as Stripe
does). Validation errors (400) are not saved, so the key can be used again after a fix;
card errors (402) are saved and replayed.

Every state change appends an ``Event`` (``fake.events``, ``fake.events_for(id)``), and
``add_webhook_endpoint(url, secret)`` makes the fake deliver them, signed, as Stripe does.

Test controls: ``fail_next`` (next N POSTs answer 500 without doing anything),
``drop_after_next`` (next N POSTs are done but the answer is replaced by a 500: a lost
answer; a retry with the same key replays the original), ``delay`` (seconds each POST is
held, with its key locked, after it was done), ``dispute(charge_id)``; ``requests``
records every request.

Signing: ``sign``, ``webhook_request``, ``deliver`` (module functions; the fake has them
as methods too).

Runs in the current event loop (``await fake.start()``), in a thread of its own
(``fake.start_thread()``; the ``fake_stripe`` fixture), or as a process::

    python -m tests.fakes.stripe_server --port 0
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import copy
import hashlib
import hmac
import html
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from aiohttp import ClientSession, web

API_VERSION = "2026-10-28.endive"  # what stripe-python 16 pins (stripe.api_version)
_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    """``<prefix>_<base62>`` like Stripe's ids (without long digit runs: a PAN scan of
    stored references must not trip on them)."""
    while True:
        tail = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if not re.search(r"\d{10}", tail):
            return f"{prefix}_{tail}"


# ---- test cards --------------------------------------------------------------------------


@dataclass(frozen=True)
class TestCard:
    brand: str
    last4: str
    # (code, decline_code, message) when a charge is declined
    decline: tuple[str, str, str] | None = None
    decline_on_setup: bool = False  # declined when attached / set up as well
    authentication: str = ""  # "" | "always" | "setup" (asks until set up once)
    funding: str = "credit"

    __test__ = False  # not a pytest class


GENERIC_DECLINE = ("card_declined", "generic_decline", "Your card was declined.")
TEST_CARDS: dict[str, TestCard] = {
    "pm_card_visa": TestCard("visa", "4242"),
    "pm_card_visa_debit": TestCard("visa", "5556", funding="debit"),
    "pm_card_mastercard": TestCard("mastercard", "4444"),
    "pm_card_amex": TestCard("amex", "8431"),
    "pm_card_chargeDeclined": TestCard("visa", "0002", GENERIC_DECLINE, decline_on_setup=True),
    "pm_card_chargeCustomerFail": TestCard("visa", "0341", GENERIC_DECLINE),
    "pm_card_visa_chargeDeclinedInsufficientFunds": TestCard(
        "visa", "9995", ("card_declined", "insufficient_funds", "Your card has insufficient funds.")
    ),
    "pm_card_chargeDeclinedExpiredCard": TestCard(
        "visa",
        "0069",
        ("expired_card", "expired_card", "Your card has expired."),
        decline_on_setup=True,
    ),
    "pm_card_authenticationRequired": TestCard("visa", "3184", authentication="always"),
    "pm_card_authenticationRequiredOnSetup": TestCard("visa", "3155", authentication="setup"),
}

AUTH_REQUIRED_MESSAGE = "Your card was declined. This transaction requires authentication."
PI_AUTH_FAILURE = (
    "The provided PaymentMethod has failed authentication. You can provide "
    "payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again."
)
SETI_AUTH_FAILURE = (
    "The latest attempt to set up the payment method has failed because authentication failed."
)
CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)
STRIPE_JS = """(function () {
  "use strict";
  var BASE = "%(base)s";
  function Stripe(publishableKey) {
    if (!(this instanceof Stripe)) return new Stripe(publishableKey);
    var self = this;
    self.elements = function (options) {
      options = options || {};
      var group = { clientSecret: options.clientSecret, frame: null };
      group.create = function (type) {
        return {
          mount: function (target) {
            var host = typeof target === "string" ? document.querySelector(target) : target;
            var frame = document.createElement("iframe");
            frame.src = BASE + "/elements?client_secret=" + encodeURIComponent(group.clientSecret) +
              "&key=" + encodeURIComponent(publishableKey) + "&type=" + encodeURIComponent(type);
            frame.title = "Secure payment input frame";
            frame.name = "fake-stripe-" + type;
            frame.style.cssText = "width:100%%;border:0;min-height:260px";
            host.appendChild(frame);
            group.frame = frame;
          },
          unmount: function () {
            var frame = group.frame;
            if (frame && frame.parentNode) frame.parentNode.removeChild(frame);
            group.frame = null;
          },
          on: function () {},
          destroy: function () { this.unmount(); }
        };
      };
      group.submit = function () { return Promise.resolve({}); };
      return group;
    };
    function refuse(message) {
      return Promise.resolve({ error: { type: "invalid_request_error", message: message } });
    }
    function confirm(kind, args) {
      args = args || {};
      var group = args.elements;
      var params = args.confirmParams || {};
      var name = kind === "payment" ? "payment_intent" : "setup_intent";
      var key = kind === "payment" ? "paymentIntent" : "setupIntent";
      if (!group || !group.frame) {
        return refuse("Mount the element before confirming.");
      }
      if (!params.return_url && args.redirect !== "if_required") {
        return refuse("confirmParams.return_url is required.");
      }
      return new Promise(function (resolve) {
        var ticket = Math.random().toString(36).slice(2);
        function onMessage(event) {
          if (event.origin !== BASE || !event.data || event.data.fakeStripe !== ticket) return;
          window.removeEventListener("message", onMessage);
          var intent = event.data.intent;
          if (event.data.error) { resolve({ error: event.data.error }); return; }
          var ok = intent.status === "succeeded" || intent.status === "processing";
          if (args.redirect === "if_required" && ok) {
            var result = {};
            result[key] = intent;
            resolve(result);
            return;
          }
          var url = new URL(params.return_url, window.location.href);
          url.searchParams.set(name, intent.id);
          url.searchParams.set(name + "_client_secret", intent.client_secret);
          url.searchParams.set("redirect_status", ok ? "succeeded" : "failed");
          window.location.assign(url.toString());
        }
        window.addEventListener("message", onMessage);
        group.frame.contentWindow.postMessage(
          { fakeStripe: ticket, action: "confirm", return_url: params.return_url || null }, BASE);
      });
    }
    self.confirmPayment = function (args) { return confirm("payment", args); };
    self.confirmSetup = function (args) { return confirm("setup", args); };
  }
  window.Stripe = Stripe;
})();
"""

ELEMENTS_JS = """(function () {
  "use strict";
  var page = new URLSearchParams(window.location.search);
  var secret = page.get("client_secret") || "";
  var key = page.get("key") || "";
  var setup = secret.indexOf("seti_") === 0;
  var path = setup ? "setup_intents" : "payment_intents";
  var intentId = secret.split("_secret_")[0];
  var auth = document.getElementById("auth");
  var pending = null;
  function finish(intent) {
    var error = intent.last_payment_error || intent.last_setup_error;
    if (intent.status === "requires_payment_method" && error) {
      var copy = Object.assign({}, error);
      copy[setup ? "setup_intent" : "payment_intent"] = intent;
      pending({ error: copy });
    } else {
      pending({ intent: intent });
    }
  }
  function decide(action) {
    auth.hidden = true;
    fetch("/3ds/" + intentId + "/result", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ action: action, client_secret: secret })
    }).then(function (r) { return r.json(); }).then(finish);
  }
  ["complete", "fail"].forEach(function (action) {
    document.getElementById(action).addEventListener("click", function () { decide(action); });
  });
  window.addEventListener("message", function (event) {
    if (!event.data || event.data.action !== "confirm") return;
    var ticket = event.data.fakeStripe;
    pending = function (body) {
      body.fakeStripe = ticket;
      event.source.postMessage(body, event.origin);
    };
    var chosen = document.querySelector("input[name=card]:checked");
    if (!chosen) {
      var message = "Choose a test card.";
      pending({ error: { type: "validation_error", code: "incomplete", message: message } });
      return;
    }
    var form = new URLSearchParams({ payment_method: chosen.value, client_secret: secret });
    if (event.data.return_url) form.set("return_url", event.data.return_url);
    fetch("/v1/" + path + "/" + intentId + "/confirm", {
      method: "POST",
      headers: {
        "Authorization": "Bearer " + key,
        "Content-Type": "application/x-www-form-urlencoded"
      },
      body: form
    }).then(function (r) { return r.json(); }).then(function (body) {
      if (body.error) { pending({ error: body.error }); return; }
      if (body.status === "requires_action") { auth.hidden = false; return; }
      pending({ intent: body });
    }, function (failure) {
      pending({ error: { type: "api_connection_error", message: String(failure) } });
    });
  });
})();
"""


MIN_AMOUNT = {"usd": 50, "eur": 50, "cad": 50, "aud": 50, "gbp": 30}


# ---- webhook signing ----------------------------------------------------------------------


def _hmac(secret: str, timestamp: int, payload: bytes) -> str:
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(
    payload: bytes,
    secret: str,
    timestamp: int | None = None,
    *,
    extra_v1: Iterable[str] = (),
    schemes: Iterable[str] = ("v1",),
) -> str:
    """The ``Stripe-Signature`` header Stripe sends with ``payload``:
    ``t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<payload>")>``.

    ``extra_v1``: more *secrets* to sign with, one more ``v1=`` each (Stripe signs with
    the old and the new secret while an endpoint's secret is being rolled).
    ``schemes``: which schemes ``secret`` signs under; ``("v0",)`` gives a header with no
    v1 signature at all (Stripe's test-mode v0), which verifiers must refuse.
    """
    if isinstance(payload, str):
        payload = payload.encode()
    ts = int(time.time()) if timestamp is None else int(timestamp)
    parts = [f"t={ts}"]
    parts += [f"{scheme}={_hmac(secret, ts, payload)}" for scheme in schemes]
    parts += [f"v1={_hmac(other, ts, payload)}" for other in extra_v1]
    return ",".join(parts)


def webhook_request(
    event: dict, secret: str, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """(raw body, headers) of the webhook POST Stripe would send for ``event``."""
    body = json.dumps(event, indent=2).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": sign(body, secret, timestamp),
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        "Accept": "*/*; q=0.5, application/xml",
        "Cache-Control": "no-cache",
    }
    return body, headers


async def deliver(url: str, event: dict, secret: str, timestamp: int | None = None) -> int:
    """POST the signed ``event`` to ``url`` over HTTP; the HTTP status answered."""
    body, headers = webhook_request(event, secret, timestamp)
    async with ClientSession() as session, session.post(url, data=body, headers=headers) as r:
        await r.read()
        return r.status


# ---- form decoding ------------------------------------------------------------------------

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def parse_form(body: str) -> dict:
    """Stripe's bracket notation into nested dicts and lists (``a[b][c]=1``,
    ``l[]=x``, ``l[0]=x``). Metadata keys stay a dict even when they are digits."""
    root: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        match = _KEY.match(key)
        if match is None:
            root[key] = value
            continue
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = root
        for depth, part in enumerate(parts):
            if part == "":
                part = f"\0{len(node):06d}"
            if depth == len(parts) - 1:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = node[part] = {}
                node = child
    return _listify(root, "")


def _listify(node, name: str):
    if not isinstance(node, dict):
        return node
    out = {k: _listify(v, k) for k, v in node.items()}
    if out and name != "metadata" and all(k.isdigit() or k.startswith("\0") for k in out):

        def order(k: str):
            return int(k[1:]) if k.startswith("\0") else int(k)

        return [out[k] for k in sorted(out, key=order)]
    return out


# ---- errors -------------------------------------------------------------------------------


class StripeError(Exception):
    """An error answer. ``saved``: kept for idempotent replays (Stripe keeps the result
    of a request that started executing, not of one refused by validation)."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        saved: bool = False,
        **extra,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.saved = saved
        self.error: dict = {"type": type_, "message": message}
        if code:
            self.error["code"] = code
            self.error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        if param:
            self.error["param"] = param
        self.error.update({k: v for k, v in extra.items() if v is not None})

    def body(self) -> dict:
        return {"error": self.error}


def invalid(message: str, param: str | None = None, code: str | None = None) -> StripeError:
    return StripeError(400, "invalid_request_error", message, param=param, code=code)


def missing(kind: str, object_id: str, param: str | None = None) -> StripeError:
    """No such object: 404 when it is in the path, 400 when it is a parameter."""
    return StripeError(
        400 if param else 404,
        "invalid_request_error",
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param or "id",
    )


def _bool(params: dict, name: str, default: bool = False) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if value in ("true", "false"):
        return value == "true"
    raise invalid(f"Invalid boolean: {value}", name)


def _int(params: dict, name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
        raise invalid(f"Invalid integer: {value}", name)
    return int(value)


def _metadata(value, current: dict | None = None) -> dict:
    """Stripe's metadata update: keys merge, an empty value unsets one, an empty
    ``metadata=`` unsets all."""
    result = dict(current or {})
    if value is None:
        return result
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid("Invalid object", "metadata")
    for k, v in value.items():
        if not isinstance(v, str):
            raise invalid("Invalid metadata value", f"metadata[{k}]")
        if v == "":
            result.pop(k, None)
        else:
            result[k] = v
    return result


def _allowed(params: dict, names: Iterable[str]) -> None:
    allowed = set(names) | {"expand"}
    for name in params:
        if name not in allowed:
            raise invalid(f"Received unknown parameter: {name}", name)


# ---- what it saw ----------------------------------------------------------------------------


@dataclass
class Request:
    """One HTTP request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic()
    wall: datetime
    status: int = 0  # the HTTP status answered
    replayed: bool = False

    @property
    def params(self) -> dict:
        return parse_form(self.body.decode())

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("Idempotency-Key")


@dataclass
class _Saved:
    method: str
    path: str
    params: dict
    status: int
    body: bytes
    request_id: str


@dataclass
class Delivery:
    event_id: str
    event_type: str
    url: str
    status: int | None  # None: the connection failed
    at: float


@dataclass
class _Endpoint:
    url: str
    secret: str
    events: set[str] = field(default_factory=lambda: {"*"})

    def wants(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


# ---- the fake ---------------------------------------------------------------------------------


class FakeStripe:
    def __init__(
        self,
        api_key: str | None = None,
        publishable_key: str | None = None,
        webhook_secret: str | None = None,
    ) -> None:
        self.api_key = api_key or "sk_test_" + secrets.token_hex(12)
        self.publishable_key = publishable_key or "pk_test_" + secrets.token_hex(12)
        self.webhook_secret = webhook_secret or "whsec_" + secrets.token_hex(16)
        self.fail_next = 0
        self.drop_after_next = 0
        self.delay = 0.0
        self.concurrent_conflict = False
        self.clock: Callable[[], float] = time.time
        self.requests: list[Request] = []
        self.deliveries: list[Delivery] = []
        self.port = 0
        self._objects: dict[str, dict] = {}  # every object by id
        self._events: list[dict] = []
        self._cards: dict[str, TestCard] = {}  # pm id -> behaviour
        self._set_up: set[str] = set()  # pm ids authenticated once (3155 stops asking)
        self._spent: set[str] = set()  # pm ids detached: unusable
        self._return_urls: dict[str, str] = {}
        self._saved: dict[tuple[str, str], _Saved] = {}
        self._key_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._endpoints: list[_Endpoint] = []
        self._request_ctx: dict = {"id": None, "idempotency_key": None}
        self._mutex = threading.RLock()
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop serving
        self._thread: threading.Thread | None = None
        self._queue: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None

    # ---- where it is, what it holds -------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config_overrides(self, **more) -> dict:
        """Config fields that point the portal at this fake."""
        return {
            "stripe_secret_key": self.api_key,
            "stripe_publishable_key": self.publishable_key,
            "stripe_webhook_secret": self.webhook_secret,
            "stripe_api_base": self.url,
            **more,
        }

    def env(self) -> dict[str, str]:
        """The same as environment variables, for a ``portal`` subprocess."""
        return {
            "STRIPE_SECRET_KEY": self.api_key,
            "STRIPE_PUBLISHABLE_KEY": self.publishable_key,
            "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
            "STRIPE_API_BASE": self.url,
        }

    def client(self, **kw):
        """A real ``stripe.StripeClient`` pointed at this fake."""
        import stripe

        kw.setdefault("http_client", stripe.HTTPXClient(allow_sync_methods=True))
        return stripe.StripeClient(self.api_key, base_addresses={"api": self.url}, **kw)

    def _of(self, kind: str) -> list[dict]:
        with self._mutex:
            return [copy.deepcopy(o) for o in self._objects.values() if o["object"] == kind]

    def get(self, object_id: str) -> dict:
        """A copy of any object the fake holds, by id (KeyError if none)."""
        with self._mutex:
            return copy.deepcopy(self._objects[object_id])

    @property
    def customers(self) -> list[dict]:
        return self._of("customer")

    @property
    def payment_methods(self) -> list[dict]:
        return self._of("payment_method")

    @property
    def setup_intents(self) -> list[dict]:
        return self._of("setup_intent")

    @property
    def payment_intents(self) -> list[dict]:
        return self._of("payment_intent")

    @property
    def charges(self) -> list[dict]:
        """Every Charge, in order; declined ones too (status "failed", paid false)."""
        return self._of("charge")

    @property
    def paid_charges(self) -> list[dict]:
        return [c for c in self.charges if c["paid"]]

    @property
    def refunds(self) -> list[dict]:
        return self._of("refund")

    @property
    def disputes(self) -> list[dict]:
        return self._of("dispute")

    @property
    def events(self) -> list[dict]:
        with self._mutex:
            return copy.deepcopy(self._events)

    def events_for(self, object_id: str) -> list[dict]:
        """Events whose ``data.object`` is ``object_id``, in order."""
        return [e for e in self.events if e["data"]["object"].get("id") == object_id]

    def event_types(self, object_id: str | None = None) -> list[str]:
        found = self.events if object_id is None else self.events_for(object_id)
        return [e["type"] for e in found]

    def posts(self, path: str | None = None) -> list[Request]:
        """POST requests received (optionally only to ``path``)."""
        with self._mutex:
            return [
                r for r in self.requests if r.method == "POST" and (path is None or r.path == path)
            ]

    def reset(self) -> None:
        with self._mutex:
            self.requests.clear()
            self.deliveries.clear()
            self._objects.clear()
            self._events.clear()
            self._cards.clear()
            self._set_up.clear()
            self._spent.clear()
            self._return_urls.clear()
            self._saved.clear()
        self.fail_next = self.drop_after_next = 0
        self.delay = 0.0
        self.concurrent_conflict = False

    # ---- signing (the module functions, with this fake's secret by default) -------------

    def sign(
        self,
        payload: bytes,
        secret: str | None = None,
        timestamp: int | None = None,
        *,
        extra_v1: Iterable[str] = (),
        schemes: Iterable[str] = ("v1",),
    ) -> str:
        return sign(
            payload, secret or self.webhook_secret, timestamp, extra_v1=extra_v1, schemes=schemes
        )

    def webhook_request(
        self, event: dict, secret: str | None = None, timestamp: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        return webhook_request(event, secret or self.webhook_secret, timestamp)

    async def deliver(self, url: str, event: dict, secret: str | None = None) -> int:
        return await deliver(url, event, secret or self.webhook_secret)

    def add_webhook_endpoint(
        self, url: str, secret: str | None = None, events: Iterable[str] = ("*",)
    ) -> None:
        """Deliver every later event (of ``events`` types) to ``url``, signed with
        ``secret`` (this fake's ``webhook_secret`` by default), one at a time in order,
        from the fake's loop; each attempt lands in ``deliveries``. No retries."""
        with self._mutex:
            self._endpoints.append(_Endpoint(url, secret or self.webhook_secret, set(events)))

    def wait_for_deliveries(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        """Block (from another thread than the fake's) until ``count`` deliveries."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._mutex:
                if len(self.deliveries) >= count:
                    return list(self.deliveries)
            time.sleep(0.01)
        raise TimeoutError(f"{len(self.deliveries)} of {count} webhook deliveries")

    # ---- objects --------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self.clock())

    def _store(self, obj: dict) -> dict:
        self._objects[obj["id"]] = obj
        return obj

    def _find(self, kind: str, object_id, param: str | None = None, label: str = "") -> dict:
        obj = self._objects.get(object_id) if isinstance(object_id, str) else None
        if obj is None or obj["object"] != kind:
            raise missing(label or kind, str(object_id), param)
        return obj

    def _emit(self, event_type: str, obj: dict) -> dict:
        endpoints = [e for e in self._endpoints if e.wants(event_type)]
        event = {
            "id": new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self._now(),
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": len(endpoints),
            "request": dict(self._request_ctx),
            "type": event_type,
        }
        self._store(event)
        self._events.append(event)
        for endpoint in endpoints:
            self._enqueue(endpoint, copy.deepcopy(event))
        return event

    def _enqueue(self, endpoint: _Endpoint, event: dict) -> None:
        loop, queue = self._loop, self._queue
        if loop is None or queue is None:
            return
        if loop is _running_loop():
            queue.put_nowait((endpoint, event))
        else:
            loop.call_soon_threadsafe(queue.put_nowait, (endpoint, event))

    async def _deliver_worker(self) -> None:
        assert self._queue is not None
        async with ClientSession() as session:
            while True:
                endpoint, event = await self._queue.get()
                body, headers = webhook_request(event, endpoint.secret)
                status: int | None = None
                try:
                    async with session.post(endpoint.url, data=body, headers=headers) as r:
                        await r.read()
                        status = r.status
                except Exception:  # noqa: BLE001  the endpoint is down: recorded as None
                    status = None
                with self._mutex:
                    self.deliveries.append(
                        Delivery(event["id"], event["type"], endpoint.url, status, time.monotonic())
                    )

    def _customer(self, params: dict, customer_id: str | None = None) -> dict:
        return {
            "id": customer_id or new_id("cus", 14),
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": self._now(),
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": params.get("description"),
            "email": params.get("email"),
            "invoice_prefix": secrets.token_hex(4).upper(),
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": _metadata(params.get("metadata")),
            "name": params.get("name"),
            "phone": params.get("phone"),
            "preferred_locales": params.get("preferred_locales") or [],
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": None,
        }

    def _new_payment_method(self, token: str, card: TestCard) -> dict:
        year = datetime.now(UTC).year + 3  # next year + 2
        pm = {
            "id": new_id("pm"),
            "object": "payment_method",
            "allow_redisplay": "unspecified",
            "billing_details": {
                "address": {
                    "city": None,
                    "country": None,
                    "line1": None,
                    "line2": None,
                    "postal_code": None,
                    "state": None,
                },
                "email": None,
                "name": None,
                "phone": None,
                "tax_id": None,
            },
            "card": {
                "brand": card.brand,
                "checks": {
                    "address_line1_check": None,
                    "address_postal_code_check": None,
                    "cvc_check": "pass",
                },
                "country": "US",
                "display_brand": card.brand,
                "exp_month": 12,
                "exp_year": year,
                "fingerprint": hashlib.sha256(token.encode()).hexdigest()[:16],
                "funding": card.funding,
                "generated_from": None,
                "last4": card.last4,
                "networks": {"available": [card.brand], "preferred": None},
                "regulated_status": "unregulated",
                "three_d_secure_usage": {"supported": True},
                "wallet": None,
            },
            "created": self._now(),
            "customer": None,
            "livemode": False,
            "metadata": {},
            "type": "card",
        }
        self._cards[pm["id"]] = card
        return self._store(pm)

    def _payment_method(self, ref, param: str = "payment_method") -> dict:
        """A test token becomes a new PaymentMethod; an id must exist (400 otherwise)."""
        if isinstance(ref, str) and ref in TEST_CARDS:
            return self._new_payment_method(ref, TEST_CARDS[ref])
        return self._find("payment_method", ref, param, "PaymentMethod")

    def _check_payment_method(self, ref, customer: str | None, confirm: bool, kind: str) -> None:
        """Validate before anything is stored (a refused request leaves no trace)."""
        if confirm and not ref:
            raise invalid(
                f"You cannot confirm this {kind} because it's missing a payment method. "
                f"Update the {kind} with a payment method and then confirm it again.",
                code=f"{'payment' if kind == 'PaymentIntent' else 'setup'}_intent_unexpected_state",
            )
        if ref and ref not in TEST_CARDS:
            self._usable_by(
                self._find("payment_method", ref, "payment_method", "PaymentMethod"), customer
            )

    def _usable_by(self, pm: dict, customer: str | None) -> None:
        if pm["id"] in self._spent:
            raise invalid(
                "This PaymentMethod was previously used without being attached to a Customer "
                "or was detached from a Customer, and may not be used again.",
                "payment_method",
            )
        if pm["customer"] is not None and pm["customer"] != customer:
            if customer is None:
                message = (
                    "The provided PaymentMethod is attached to a Customer; pass that "
                    f"Customer ({pm['customer']}) as `customer` to use it."
                )
            else:
                message = (
                    f"The provided PaymentMethod {pm['id']} belongs to a different Customer "
                    f"than {customer}."
                )
            raise invalid(message, "payment_method")

    def _attach(self, pm: dict, customer_id: str) -> None:
        if pm["customer"] == customer_id:
            return
        pm["customer"] = customer_id
        self._emit("payment_method.attached", pm)

    def _charge(self, pi: dict, pm: dict, failure: tuple[str, str, str] | None = None) -> dict:
        card = pm["card"]
        paid = failure is None
        charge_id = new_id("ch")
        charge = {
            "id": charge_id,
            "object": "charge",
            "amount": pi["amount"],
            "amount_captured": pi["amount"] if paid else 0,
            "amount_refunded": 0,
            "application_fee_amount": None,
            "balance_transaction": new_id("txn") if paid else None,
            "billing_details": copy.deepcopy(pm["billing_details"]),
            "calculated_statement_descriptor": "THERAPY PORTAL",
            "captured": paid,
            "created": self._now(),
            "currency": pi["currency"],
            "customer": pi["customer"],
            "description": pi["description"],
            "disputed": False,
            "failure_code": None if paid else failure[0],
            "failure_message": None if paid else failure[2],
            "livemode": False,
            "metadata": dict(pi["metadata"]),
            "outcome": {
                "network_status": "approved_by_network" if paid else "declined_by_network",
                "reason": None if paid else failure[1],
                "risk_level": "normal",
                "seller_message": "Payment complete." if paid else "The bank declined it.",
                "type": "authorized" if paid else "issuer_declined",
            },
            "paid": paid,
            "payment_intent": pi["id"],
            "payment_method": pm["id"],
            "payment_method_details": {
                "card": {
                    "brand": card["brand"],
                    "country": card["country"],
                    "exp_month": card["exp_month"],
                    "exp_year": card["exp_year"],
                    "fingerprint": card["fingerprint"],
                    "funding": card["funding"],
                    "last4": card["last4"],
                    "network": card["brand"],
                },
                "type": "card",
            },
            "receipt_email": pi["receipt_email"],
            "receipt_url": f"{self.url}/receipts/{charge_id}" if paid else None,
            "refunded": False,
            "status": "succeeded" if paid else "failed",
        }
        self._store(charge)
        self._emit("charge.succeeded" if paid else "charge.failed", charge)
        return charge

    # ---- payment and setup outcomes ------------------------------------------------------

    def _needs_authentication(self, pm: dict) -> bool:
        card = self._cards.get(pm["id"])
        if card is None or not card.authentication:
            return False
        return card.authentication == "always" or pm["id"] not in self._set_up

    def _next_action(self, intent: dict) -> dict:
        url = f"{self.url}/3ds/{intent['id']}"
        return_url = self._return_urls.get(intent["id"])
        if return_url:
            return {
                "type": "redirect_to_url",
                "redirect_to_url": {"return_url": return_url, "url": url},
            }
        return {
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {
                "type": "three_d_secure_redirect",
                "source": new_id("src"),
                "stripe_js": url,
            },
        }

    def _pi_succeed(self, pi: dict, pm: dict) -> None:
        charge = self._charge(pi, pm)
        if pi["setup_future_usage"] and pi["customer"]:
            self._attach(pm, pi["customer"])
            if self._cards.get(pm["id"]) and self._cards[pm["id"]].authentication == "setup":
                self._set_up.add(pm["id"])
        pi.update(
            status="succeeded",
            amount_received=pi["amount"],
            latest_charge=charge["id"],
            payment_method=pm["id"],
            next_action=None,
            last_payment_error=None,
        )
        self._emit("payment_intent.succeeded", pi)

    def _pi_fail(self, pi: dict, pm: dict, error: dict, charge: dict | None = None) -> None:
        error = {**error, "payment_method": copy.deepcopy(pm)}
        code = error["code"]
        error.setdefault("doc_url", f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}")
        if charge is not None:
            error["charge"] = charge["id"]
            pi["latest_charge"] = charge["id"]
        pi.update(
            status="requires_payment_method",
            payment_method=None,
            next_action=None,
            last_payment_error=error,
        )
        self._emit("payment_intent.payment_failed", pi)

    def _card_error(self, error: dict, **objects) -> StripeError:
        extra = {k: v for k, v in error.items() if k not in ("type", "message", "code")}
        return StripeError(
            402,
            "card_error",
            error["message"],
            code=error["code"],
            saved=True,
            **extra,
            **{k: copy.deepcopy(v) for k, v in objects.items()},
        )

    def _confirm_pi(self, pi: dict, params: dict) -> None:
        if pi["status"] not in (
            "requires_payment_method",
            "requires_confirmation",
            "requires_action",
        ):
            raise invalid(
                f"You cannot confirm this PaymentIntent because it has a status of {pi['status']}.",
                code="payment_intent_unexpected_state",
            )
        ref = params.get("payment_method") or pi["payment_method"]
        if not ref:
            raise invalid(
                "You cannot confirm this PaymentIntent because it's missing a payment method. "
                "Update the PaymentIntent with a payment method and then confirm it again.",
                code="payment_intent_unexpected_state",
            )
        pm = self._payment_method(ref)
        self._usable_by(pm, pi["customer"])
        if params.get("return_url"):
            self._return_urls[pi["id"]] = params["return_url"]
        if params.get("setup_future_usage"):
            pi["setup_future_usage"] = params["setup_future_usage"]
        off_session = params.get("off_session") not in (None, "false")
        card = self._cards.get(pm["id"], TestCard("visa", pm["card"]["last4"]))
        pi["payment_method"] = pm["id"]
        if self._needs_authentication(pm):
            if off_session or params.get("error_on_requires_action") == "true":
                code = "authentication_required"
                error = {
                    "type": "card_error",
                    "code": code,
                    "decline_code": code,
                    "message": AUTH_REQUIRED_MESSAGE,
                }
                charge = (
                    self._charge(pi, pm, (code, code, AUTH_REQUIRED_MESSAGE))
                    if off_session
                    else None
                )
                self._pi_fail(pi, pm, error, charge)
                raise self._card_error(pi["last_payment_error"], payment_intent=pi)
            pi.update(status="requires_action", next_action=self._next_action(pi))
            self._emit("payment_intent.requires_action", pi)
            return
        if card.decline:
            code, decline_code, message = card.decline
            charge = self._charge(pi, pm, card.decline)
            error = {
                "type": "card_error",
                "code": code,
                "decline_code": decline_code,
                "message": message,
            }
            self._pi_fail(pi, pm, error, charge)
            raise self._card_error(pi["last_payment_error"], payment_intent=pi)
        self._pi_succeed(pi, pm)

    def _seti_succeed(self, seti: dict, pm: dict) -> None:
        if seti["customer"]:
            self._attach(pm, seti["customer"])
        self._set_up.add(pm["id"])
        seti.update(
            status="succeeded", payment_method=pm["id"], next_action=None, last_setup_error=None
        )
        self._emit("setup_intent.succeeded", seti)

    def _confirm_seti(self, seti: dict, params: dict) -> None:
        if seti["status"] not in (
            "requires_payment_method",
            "requires_confirmation",
            "requires_action",
        ):
            raise invalid(
                f"You cannot confirm this SetupIntent because it has a status of {seti['status']}.",
                code="setup_intent_unexpected_state",
            )
        ref = params.get("payment_method") or seti["payment_method"]
        if not ref:
            raise invalid(
                "You cannot confirm this SetupIntent because it's missing a payment method.",
                code="setup_intent_unexpected_state",
            )
        pm = self._payment_method(ref)
        self._usable_by(pm, seti["customer"])
        if params.get("return_url"):
            self._return_urls[seti["id"]] = params["return_url"]
        card = self._cards.get(pm["id"])
        seti["latest_attempt"] = new_id("setatt")
        if card and card.decline and card.decline_on_setup:
            code, decline_code, message = card.decline
            seti.update(
                status="requires_payment_method",
                payment_method=None,
                next_action=None,
                last_setup_error={
                    "code": code,
                    "decline_code": decline_code,
                    "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
                    "message": message,
                    "payment_method": copy.deepcopy(pm),
                    "type": "card_error",
                },
            )
            self._emit("setup_intent.setup_failed", seti)
            raise self._card_error(seti["last_setup_error"], setup_intent=seti)
        seti["payment_method"] = pm["id"]
        if card and card.authentication:
            seti.update(status="requires_action", next_action=self._next_action(seti))
            self._emit("setup_intent.requires_action", seti)
            return
        self._seti_succeed(seti, pm)

    # ---- test helpers (Python) -------------------------------------------------------------

    def complete_action(self, intent_id: str, succeed: bool = True) -> dict:
        """The customer finishes (or fails) 3-D Secure on a PaymentIntent or SetupIntent
        in ``requires_action``. Returns the intent (a copy)."""
        with self._mutex:
            intent = self._objects.get(intent_id)
            if intent is None or intent.get("status") != "requires_action":
                raise ValueError(f"{intent_id} is not waiting for an action")
            pm = self._objects[intent["payment_method"]]
            self._request_ctx = {"id": None, "idempotency_key": None}
            if intent["object"] == "payment_intent":
                if succeed:
                    if self._cards.get(pm["id"]) and self._cards[pm["id"]].decline:
                        card = self._cards[pm["id"]]
                        charge = self._charge(intent, pm, card.decline)
                        code, decline_code, message = card.decline
                        error = {
                            "type": "card_error",
                            "code": code,
                            "decline_code": decline_code,
                            "message": message,
                        }
                        self._pi_fail(intent, pm, error, charge)
                    else:
                        self._pi_succeed(intent, pm)
                else:
                    code = "payment_intent_authentication_failure"
                    error = {
                        "type": "invalid_request_error",
                        "code": code,
                        "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
                        "message": PI_AUTH_FAILURE,
                    }
                    self._pi_fail(intent, pm, error)
            elif succeed:
                self._seti_succeed(intent, pm)
            else:
                code = "setup_intent_authentication_failure"
                intent.update(
                    status="requires_payment_method",
                    payment_method=None,
                    next_action=None,
                    last_setup_error={
                        "code": code,
                        "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
                        "message": SETI_AUTH_FAILURE,
                        "payment_method": copy.deepcopy(pm),
                        "type": "invalid_request_error",
                    },
                )
                self._emit("setup_intent.setup_failed", intent)
            return copy.deepcopy(intent)

    def dispute(
        self, charge_id: str, amount: int | None = None, reason: str = "fraudulent"
    ) -> dict:
        """The cardholder disputes a charge: a Dispute ``dp_...`` (needs_response) and the
        event ``charge.dispute.created``. Returns the dispute (a copy)."""
        with self._mutex:
            charge = self._objects[charge_id]
            if charge["object"] != "charge" or not charge["paid"]:
                raise ValueError(f"{charge_id} is not a paid charge")
            self._request_ctx = {"id": None, "idempotency_key": None}
            charge["disputed"] = True
            dispute = {
                "id": new_id("dp"),
                "object": "dispute",
                "amount": charge["amount"] if amount is None else amount,
                "balance_transactions": [],
                "charge": charge_id,
                "created": self._now(),
                "currency": charge["currency"],
                "evidence": {},
                "evidence_details": {
                    "due_by": self._now() + 7 * 86400,
                    "has_evidence": False,
                    "past_due": False,
                    "submission_count": 0,
                },
                "is_charge_refundable": False,
                "livemode": False,
                "metadata": {},
                "payment_intent": charge["payment_intent"],
                "reason": reason,
                "status": "needs_response",
            }
            self._store(dispute)
            self._emit("charge.dispute.created", dispute)
            return copy.deepcopy(dispute)

    # ---- endpoint handlers: (params, path ids) -> (status, object) -------------------------

    def h_create_customer(self, p: dict, m: dict) -> dict:
        _allowed(
            p,
            ("email", "name", "metadata", "description", "phone", "preferred_locales",
             "payment_method", "invoice_settings"),
        )  # fmt: skip
        customer = self._store(self._customer(p))
        self._emit("customer.created", customer)
        if p.get("payment_method"):
            pm = self._payment_method(p["payment_method"])
            self._usable_by(pm, customer["id"])
            self._attach(pm, customer["id"])
        self._customer_settings(customer, p)
        return customer

    def _customer_settings(self, customer: dict, p: dict) -> None:
        settings = p.get("invoice_settings")
        if isinstance(settings, dict) and "default_payment_method" in settings:
            ref = settings["default_payment_method"] or None
            if ref is not None:
                pm = self._find("payment_method", ref, "invoice_settings[default_payment_method]")
                if pm["customer"] != customer["id"]:
                    raise invalid(
                        "The customer does not have a payment method with the ID "
                        f"{ref}. The payment method must be attached to the customer.",
                        "invoice_settings[default_payment_method]",
                    )
            customer["invoice_settings"]["default_payment_method"] = ref

    def h_get_customer(self, p: dict, m: dict) -> dict:
        return self._find("customer", m["id"])

    def h_update_customer(self, p: dict, m: dict) -> dict:
        _allowed(
            p,
            ("email", "name", "metadata", "description", "phone", "preferred_locales",
             "invoice_settings"),
        )  # fmt: skip
        customer = self._find("customer", m["id"])
        for name in ("email", "name", "description", "phone"):
            if name in p:
                customer[name] = p[name] or None
        customer["metadata"] = _metadata(p.get("metadata"), customer["metadata"])
        self._customer_settings(customer, p)
        self._emit("customer.updated", customer)
        return customer

    def _list(self, items: list[dict], url: str, p: dict) -> dict:
        limit = _int(p, "limit") or 10
        if not 1 <= limit <= 100:
            raise invalid("Invalid limit: must be between 1 and 100", "limit")
        after = p.get("starting_after")
        if after:
            ids = [i["id"] for i in items]
            items = items[ids.index(after) + 1 :] if after in ids else []
        return {
            "object": "list",
            "data": items[:limit],
            "has_more": len(items) > limit,
            "url": url,
        }

    def _pms_of(self, customer_id: str, p: dict, url: str) -> dict:
        kind = p.get("type")
        found = [
            o
            for o in self._objects.values()
            if o["object"] == "payment_method"
            and o["customer"] == customer_id
            and (kind is None or o["type"] == kind)
        ]
        found.sort(key=lambda o: o["created"], reverse=True)
        return self._list(found, url, p)

    def h_customer_payment_methods(self, p: dict, m: dict) -> dict:
        _allowed(p, ("type", "limit", "starting_after", "ending_before", "allow_redisplay"))
        self._find("customer", m["id"])
        return self._pms_of(m["id"], p, f"/v1/customers/{m['id']}/payment_methods")

    def h_list_payment_methods(self, p: dict, m: dict) -> dict:
        _allowed(p, ("customer", "type", "limit", "starting_after", "ending_before"))
        if not p.get("customer"):
            raise invalid("Missing required param: customer.", "customer", "parameter_missing")
        self._find("customer", p["customer"], "customer")
        return self._pms_of(p["customer"], p, "/v1/payment_methods")

    def h_get_payment_method(self, p: dict, m: dict) -> dict:
        return self._find("payment_method", m["id"], label="PaymentMethod")

    def h_attach(self, p: dict, m: dict) -> dict:
        _allowed(p, ("customer",))
        if not p.get("customer"):
            raise invalid("Missing required param: customer.", "customer", "parameter_missing")
        customer = self._find("customer", p["customer"], "customer")
        if m["id"] in TEST_CARDS:
            pm = self._new_payment_method(m["id"], TEST_CARDS[m["id"]])
        else:
            pm = self._find("payment_method", m["id"], label="PaymentMethod")
        if pm["id"] in self._spent:
            self._usable_by(pm, customer["id"])
        if pm["customer"] is not None and pm["customer"] != customer["id"]:
            raise invalid(
                "The payment method you provided has already been attached to a customer.",
                "payment_method",
            )
        card = self._cards.get(pm["id"])
        if card and card.decline and card.decline_on_setup:
            code, decline_code, message = card.decline
            raise StripeError(
                402, "card_error", message, code=code, decline_code=decline_code, saved=True
            )
        self._attach(pm, customer["id"])
        return pm

    def h_detach(self, p: dict, m: dict) -> dict:
        _allowed(p, ())
        pm = self._find("payment_method", m["id"], label="PaymentMethod")
        if pm["customer"] is None:
            raise invalid(
                "The payment method you provided is not attached to a customer so detachment "
                "is impossible."
            )
        customer = self._objects.get(pm["customer"])
        if customer and customer["invoice_settings"]["default_payment_method"] == pm["id"]:
            customer["invoice_settings"]["default_payment_method"] = None
        pm["customer"] = None
        self._spent.add(pm["id"])
        self._emit("payment_method.detached", pm)
        return pm

    def _methods(self, p: dict, intent: dict | None = None) -> None:
        types = p.get("payment_method_types")
        automatic = p.get("automatic_payment_methods")
        if types is not None and automatic is not None:
            raise invalid(
                "You may only specify one of these parameters: automatic_payment_methods, "
                "payment_method_types.",
                "automatic_payment_methods",
            )
        if types is not None:
            if isinstance(types, str):
                types = [types]
            if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
                raise invalid("Invalid array", "payment_method_types")
            if intent is not None:
                intent["payment_method_types"] = types
                intent["automatic_payment_methods"] = None
        elif automatic is not None:
            if not isinstance(automatic, dict):
                raise invalid("Invalid hash", "automatic_payment_methods")
            _allowed(automatic, ("enabled", "allow_redirects"))
            enabled = _bool(automatic, "enabled")
            if intent is not None:
                intent["automatic_payment_methods"] = (
                    {"allow_redirects": automatic.get("allow_redirects", "always"), "enabled": True}
                    if enabled
                    else None
                )
                intent["payment_method_types"] = ["card"]

    def _customer_param(self, p: dict) -> str | None:
        if p.get("customer"):
            self._find("customer", p["customer"], "customer")
            return p["customer"]
        return None

    SETI_PARAMS = (
        "customer", "usage", "payment_method_types", "automatic_payment_methods", "metadata",
        "description", "payment_method", "confirm", "return_url", "payment_method_options",
        "single_use", "mandate_data", "use_stripe_sdk", "flow_directions",
    )  # fmt: skip

    def h_create_seti(self, p: dict, m: dict) -> dict:
        _allowed(p, self.SETI_PARAMS)
        usage = p.get("usage", "off_session")
        if usage not in ("off_session", "on_session"):
            raise invalid("Invalid usage: must be one of off_session or on_session", "usage")
        confirm = _bool(p, "confirm")
        seti_id = new_id("seti")
        seti = {
            "id": seti_id,
            "object": "setup_intent",
            "application": None,
            "automatic_payment_methods": {"allow_redirects": "always", "enabled": True},
            "cancellation_reason": None,
            "client_secret": f"{seti_id}_secret_{new_id('x', 25)[2:]}",
            "created": self._now(),
            "customer": self._customer_param(p),
            "description": p.get("description"),
            "flow_directions": None,
            "last_setup_error": None,
            "latest_attempt": None,
            "livemode": False,
            "mandate": None,
            "metadata": _metadata(p.get("metadata")),
            "next_action": None,
            "on_behalf_of": None,
            "payment_method": None,
            "payment_method_configuration_details": None,
            "payment_method_options": {
                "card": {
                    "mandate_options": None,
                    "network": None,
                    "request_three_d_secure": "automatic",
                }
            },
            "payment_method_types": ["card"],
            "single_use_mandate": None,
            "status": "requires_payment_method",
            "usage": usage,
        }
        self._methods(p, seti)
        self._check_payment_method(
            p.get("payment_method"), seti["customer"], confirm, "SetupIntent"
        )
        if p.get("payment_method") and not confirm:
            pm = self._payment_method(p["payment_method"])
            self._usable_by(pm, seti["customer"])
            seti.update(payment_method=pm["id"], status="requires_confirmation")
        self._store(seti)
        self._emit("setup_intent.created", seti)
        if confirm:
            self._confirm_seti(seti, p)
        return seti

    def h_get_seti(self, p: dict, m: dict) -> dict:
        return self._find("setup_intent", m["id"], label="setupintent")

    def h_update_seti(self, p: dict, m: dict) -> dict:
        _allowed(
            p, ("customer", "metadata", "description", "payment_method", "payment_method_types")
        )
        seti = self._find("setup_intent", m["id"], label="setupintent")
        if seti["status"] in ("succeeded", "canceled"):
            raise invalid(
                f"You cannot update this SetupIntent because it has a status of {seti['status']}.",
                code="setup_intent_unexpected_state",
            )
        if "customer" in p:
            seti["customer"] = self._customer_param(p)
        if "description" in p:
            seti["description"] = p["description"] or None
        seti["metadata"] = _metadata(p.get("metadata"), seti["metadata"])
        self._methods(p, seti)
        if p.get("payment_method"):
            pm = self._payment_method(p["payment_method"])
            self._usable_by(pm, seti["customer"])
            seti.update(payment_method=pm["id"], status="requires_confirmation")
        return seti

    def h_confirm_seti(self, p: dict, m: dict) -> dict:
        _allowed(
            p,
            ("payment_method", "return_url", "client_secret", "mandate_data",
             "payment_method_options", "use_stripe_sdk"),
        )  # fmt: skip
        seti = self._find("setup_intent", m["id"], label="setupintent")
        self._confirm_seti(seti, p)
        return seti

    def h_cancel_seti(self, p: dict, m: dict) -> dict:
        _allowed(p, ("cancellation_reason",))
        seti = self._find("setup_intent", m["id"], label="setupintent")
        if seti["status"] in ("succeeded", "canceled"):
            raise invalid(
                f"You cannot cancel this SetupIntent because it has a status of {seti['status']}.",
                code="setup_intent_unexpected_state",
            )
        seti.update(
            status="canceled",
            cancellation_reason=p.get("cancellation_reason"),
            next_action=None,
        )
        self._emit("setup_intent.canceled", seti)
        return seti

    PI_PARAMS = (
        "amount", "currency", "customer", "payment_method", "confirm", "off_session",
        "setup_future_usage", "metadata", "automatic_payment_methods", "return_url",
        "payment_method_types", "description", "receipt_email", "statement_descriptor",
        "statement_descriptor_suffix", "capture_method", "confirmation_method",
        "error_on_requires_action", "mandate_data", "payment_method_options", "shipping",
        "use_stripe_sdk",
    )  # fmt: skip

    def _amount(self, p: dict, currency: str) -> int:
        amount = _int(p, "amount")
        if amount is None:
            raise invalid("Missing required param: amount.", "amount", "parameter_missing")
        if amount <= 0:
            raise invalid(
                "This value must be greater than or equal to 1.",
                "amount",
                "parameter_invalid_integer",
            )
        least = MIN_AMOUNT.get(currency, 1)
        if amount < least:
            raise invalid(
                f"Amount must be at least {least / 100:.2f} {currency}",
                "amount",
                "amount_too_small",
            )
        if amount > 99999999:
            raise invalid("Amount must be no more than 999,999.99", "amount", "amount_too_large")
        return amount

    def h_create_pi(self, p: dict, m: dict) -> dict:
        _allowed(p, self.PI_PARAMS)
        currency = p.get("currency")
        if not currency:
            raise invalid("Missing required param: currency.", "currency", "parameter_missing")
        currency = currency.lower()
        amount = self._amount(p, currency)
        confirm = _bool(p, "confirm")
        if p.get("off_session") not in (None, "false") and not confirm:
            raise invalid(
                "You may only specify `off_session` when confirming a PaymentIntent "
                "(confirm=true).",
                "off_session",
            )
        if p.get("capture_method", "automatic") not in ("automatic", "automatic_async"):
            raise invalid("The fake Stripe only captures automatically.", "capture_method")
        sfu = p.get("setup_future_usage")
        if sfu not in (None, "on_session", "off_session"):
            raise invalid("Invalid setup_future_usage", "setup_future_usage")
        pi_id = new_id("pi")
        pi = {
            "id": pi_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_details": {"tip": {}},
            "amount_received": 0,
            "application": None,
            "application_fee_amount": None,
            "automatic_payment_methods": {"allow_redirects": "always", "enabled": True},
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": "automatic_async",
            "client_secret": f"{pi_id}_secret_{new_id('x', 25)[2:]}",
            "confirmation_method": "automatic",
            "created": self._now(),
            "currency": currency,
            "customer": self._customer_param(p),
            "description": p.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": _metadata(p.get("metadata")),
            "next_action": None,
            "on_behalf_of": None,
            "payment_method": None,
            "payment_method_configuration_details": None,
            "payment_method_options": {
                "card": {
                    "installments": None,
                    "mandate_options": None,
                    "network": None,
                    "request_three_d_secure": "automatic",
                }
            },
            "payment_method_types": ["card"],
            "processing": None,
            "receipt_email": p.get("receipt_email"),
            "review": None,
            "setup_future_usage": sfu,
            "shipping": None,
            "source": None,
            "statement_descriptor": p.get("statement_descriptor"),
            "statement_descriptor_suffix": p.get("statement_descriptor_suffix"),
            "status": "requires_payment_method",
            "transfer_data": None,
            "transfer_group": None,
        }
        self._methods(p, pi)
        self._check_payment_method(
            p.get("payment_method"), pi["customer"], confirm, "PaymentIntent"
        )
        if p.get("payment_method") and not confirm:
            pm = self._payment_method(p["payment_method"])
            self._usable_by(pm, pi["customer"])
            pi.update(payment_method=pm["id"], status="requires_confirmation")
        self._store(pi)
        self._emit("payment_intent.created", pi)
        if confirm:
            self._confirm_pi(pi, p)
        return pi

    def h_get_pi(self, p: dict, m: dict) -> dict:
        return self._find("payment_intent", m["id"], label="payment_intent")

    def h_update_pi(self, p: dict, m: dict) -> dict:
        _allowed(
            p,
            ("amount", "currency", "customer", "metadata", "description", "payment_method",
             "receipt_email", "setup_future_usage", "payment_method_types",
             "statement_descriptor", "statement_descriptor_suffix"),
        )  # fmt: skip
        pi = self._find("payment_intent", m["id"], label="payment_intent")
        frozen = pi["status"] in ("succeeded", "canceled", "processing")
        if frozen and set(p) - {"metadata", "description", "receipt_email", "expand"}:
            raise invalid(
                f"You cannot update this PaymentIntent because it has a status of {pi['status']}.",
                code="payment_intent_unexpected_state",
            )
        if "currency" in p:
            pi["currency"] = p["currency"].lower()
        if "amount" in p:
            pi["amount"] = self._amount(p, pi["currency"])
        if "customer" in p:
            pi["customer"] = self._customer_param(p)
        for name in ("description", "receipt_email", "setup_future_usage"):
            if name in p:
                pi[name] = p[name] or None
        pi["metadata"] = _metadata(p.get("metadata"), pi["metadata"])
        self._methods(p, pi)
        if p.get("payment_method"):
            pm = self._payment_method(p["payment_method"])
            self._usable_by(pm, pi["customer"])
            pi.update(payment_method=pm["id"], status="requires_confirmation")
        return pi

    def h_confirm_pi(self, p: dict, m: dict) -> dict:
        _allowed(
            p,
            ("payment_method", "return_url", "off_session", "setup_future_usage",
             "client_secret", "error_on_requires_action", "mandate_data", "receipt_email",
             "payment_method_options", "use_stripe_sdk", "capture_method"),
        )  # fmt: skip
        pi = self._find("payment_intent", m["id"], label="payment_intent")
        self._confirm_pi(pi, p)
        return pi

    def h_cancel_pi(self, p: dict, m: dict) -> dict:
        _allowed(p, ("cancellation_reason",))
        pi = self._find("payment_intent", m["id"], label="payment_intent")
        if pi["status"] not in CANCELABLE:
            raise invalid(
                "You cannot cancel this PaymentIntent because it has a status of "
                f"{pi['status']}. Only a PaymentIntent with one of the following statuses may "
                "be canceled: " + ", ".join(CANCELABLE) + ".",
                code="payment_intent_unexpected_state",
            )
        pi.update(
            status="canceled",
            canceled_at=self._now(),
            cancellation_reason=p.get("cancellation_reason"),
            next_action=None,
        )
        self._emit("payment_intent.canceled", pi)
        return pi

    def h_create_refund(self, p: dict, m: dict) -> dict:
        _allowed(p, ("payment_intent", "charge", "amount", "reason", "metadata"))
        if p.get("charge"):
            charge = self._find("charge", p["charge"], "charge")
        elif p.get("payment_intent"):
            pi = self._find("payment_intent", p["payment_intent"], "payment_intent")
            if pi["status"] != "succeeded":
                raise invalid(
                    f"This PaymentIntent ({pi['id']}) does not have a successful charge to refund.",
                    "payment_intent",
                )
            charge = self._objects[pi["latest_charge"]]
        else:
            raise invalid(
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                code="parameter_missing",
            )
        if not charge["paid"]:
            raise invalid(f"Charge {charge['id']} has not succeeded; it cannot be refunded.")
        if charge["disputed"]:
            raise invalid(
                f"Charge {charge['id']} has been charged back; cannot issue a refund.",
                code="charge_disputed",
            )
        left = charge["amount"] - charge["amount_refunded"]
        if left <= 0:
            raise invalid(
                f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
            )
        amount = _int(p, "amount")
        if amount is None:
            amount = left
        if amount <= 0:
            raise invalid("This value must be greater than or equal to 1.", "amount")
        if amount > left:
            raise invalid(
                f"Refund amount (${amount / 100:.2f}) is greater than unrefunded amount on "
                f"charge (${left / 100:.2f})",
                "amount",
            )
        reason = p.get("reason")
        if reason not in (None, "duplicate", "fraudulent", "requested_by_customer"):
            raise invalid("Invalid reason", "reason")
        refund = {
            "id": new_id("re"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": new_id("txn"),
            "charge": charge["id"],
            "created": self._now(),
            "currency": charge["currency"],
            "destination_details": {"card": {"type": "refund"}, "type": "card"},
            "metadata": _metadata(p.get("metadata")),
            "payment_intent": charge["payment_intent"],
            "reason": reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
        }
        self._store(refund)
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        self._emit("refund.created", refund)
        self._emit("charge.refunded", charge)
        return refund

    def h_get_refund(self, p: dict, m: dict) -> dict:
        return self._find("refund", m["id"])

    def h_get_charge(self, p: dict, m: dict) -> dict:
        return self._find("charge", m["id"])

    def h_get_dispute(self, p: dict, m: dict) -> dict:
        return self._find("dispute", m["id"])

    def h_get_event(self, p: dict, m: dict) -> dict:
        return self._find("event", m["id"])

    def h_list_events(self, p: dict, m: dict) -> dict:
        _allowed(p, ("type", "types", "limit", "starting_after", "ending_before", "created"))
        found = list(reversed(self._events))  # newest first
        if p.get("type"):
            pattern = re.compile(re.escape(p["type"]).replace(r"\*", ".*") + "$")
            found = [e for e in found if pattern.match(e["type"])]
        if p.get("types"):
            wanted = set(p["types"]) if isinstance(p["types"], list) else {p["types"]}
            found = [e for e in found if e["type"] in wanted]
        return self._list(found, "/v1/events", p)

    # ---- the HTTP side ---------------------------------------------------------------------

    def _key_of(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return header[7:].strip()
        if header.startswith("Basic "):
            with contextlib.suppress(ValueError):
                return base64.b64decode(header[6:]).decode().partition(":")[0]
        return None

    def _unauthorised(self, key: str | None) -> web.Response:
        if not key:
            message = (
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for "
                "details, or we can help at https://support.stripe.com/."
            )
        elif key.startswith("pk_"):
            message = (
                "This API call cannot be made with a publishable API key. Please use a secret "
                "API key. You can find a list of your API keys at "
                "https://dashboard.stripe.com/account/apikeys."
            )
        else:
            message = f"Invalid API Key provided: {key[:8]}{'*' * 12}{key[-4:]}"
        return web.json_response(
            {"error": {"message": message, "type": "invalid_request_error"}},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="Stripe"', "Request-Id": new_id("req", 14)},
        )

    @staticmethod
    def _json(status: int, body: bytes, headers: dict[str, str]) -> web.Response:
        return web.Response(
            body=body, status=status, content_type="application/json", headers=headers
        )

    @staticmethod
    def _expand(obj: dict, paths, objects: dict[str, dict]) -> dict:
        if not paths:
            return obj
        if isinstance(paths, str):
            paths = [paths]
        out = copy.deepcopy(obj)
        for path in paths:
            node = out
            for part in path.split("."):
                if not isinstance(node, dict) or part not in node:
                    raise invalid(f"This property cannot be expanded ({path}).", "expand")
                value = node[part]
                if isinstance(value, str) and value in objects:
                    node[part] = copy.deepcopy(objects[value])
                node = node[part]
        return out

    def _publishable_ok(self, params: dict, match: dict) -> bool:
        intent = self._objects.get(match.get("id", ""))
        if intent is None or "client_secret" not in intent:
            return False
        kind = "PaymentIntent" if intent["object"] == "payment_intent" else "SetupIntent"
        if params.get("client_secret") != intent["client_secret"]:
            raise invalid(
                "The client_secret provided does not match the client_secret associated with "
                f"the {kind}.",
                "client_secret",
            )
        return True

    def _route(self, handler, *, post: bool, publishable: bool = False):
        async def serve(request: web.Request) -> web.Response:
            raw = await request.read()
            record = Request(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=dict(request.headers),
                body=raw,
                at=time.monotonic(),
                wall=datetime.now(UTC),
            )
            with self._mutex:
                self.requests.append(record)
            response = await self._serve(request, record, handler, post, publishable)
            record.status = response.status
            return response

        return serve

    async def _serve(self, request, record, handler, post, publishable) -> web.Response:
        request_id = new_id("req", 14)
        headers = {"Request-Id": request_id, "Stripe-Version": API_VERSION}
        key = self._key_of(request)
        params = parse_form(record.body.decode() if post else request.query_string)
        secret_ok = key is not None and secrets.compare_digest(key, self.api_key)
        if not secret_ok:
            allowed = False
            if publishable and key == self.publishable_key:
                try:
                    with self._mutex:
                        allowed = self._publishable_ok(params, dict(request.match_info))
                except StripeError as err:
                    return self._json(err.status, json.dumps(err.body()).encode(), headers)
            if not allowed:
                return self._unauthorised(key)
        if post and self.fail_next > 0:
            self.fail_next -= 1
            return self._api_error(headers)
        idem = request.headers.get("Idempotency-Key") if post else None
        if idem is not None:
            headers["Idempotency-Key"] = idem
            if len(idem) > 255:
                err = invalid("Idempotency-Key must be at most 255 characters long.")
                return self._json(err.status, json.dumps(err.body()).encode(), headers)
            slot = (key or "", idem)
            lock = self._key_locks.setdefault(slot, asyncio.Lock())
            if lock.locked() and self.concurrent_conflict:
                err = StripeError(
                    409,
                    "idempotency_error",
                    "There is currently another in-progress request using this Idempotent Key "
                    "(that probably means you submitted twice, and the other request is still "
                    "going through): " + idem + ". Please try again later.",
                )
                return self._json(409, json.dumps(err.body()).encode(), headers)
            async with lock:
                return await self._execute(
                    request, handler, params, headers, request_id, idem, slot, record
                )
        return await self._execute(
            request, handler, params, headers, request_id, None, None, record
        )

    def _api_error(self, headers: dict) -> web.Response:
        body = {
            "error": {
                "type": "api_error",
                "message": "An unknown error occurred (the fake Stripe was told to fail).",
            }
        }
        return self._json(500, json.dumps(body).encode(), headers)

    async def _execute(self, request, handler, params, headers, request_id, idem, slot, record):
        post = request.method == "POST"
        method_path = (request.method, request.path)
        saved = self._saved.get(slot) if slot else None
        if saved is not None:
            if (saved.method, saved.path) != method_path:
                err = StripeError(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used for the same endpoint they "
                    f"were first used for ('{saved.path}' vs '{request.path}'). Try using a "
                    f"key other than '{idem}' if you meant to execute a different request.",
                )
                return self._json(400, json.dumps(err.body()).encode(), headers)
            if saved.params != params:
                err = StripeError(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters "
                    "they were first used with. Try using a key other than "
                    f"'{idem}' if you meant to execute a different request.",
                )
                return self._json(400, json.dumps(err.body()).encode(), headers)
            record.replayed = True
            headers.update({"Idempotent-Replayed": "true", "Original-Request": saved.request_id})
            return self._respond(post, saved.status, saved.body, headers)
        with self._mutex:
            self._request_ctx = {"id": request_id, "idempotency_key": idem}
            try:
                obj = handler(params, dict(request.match_info))
                status = 200
                body = json.dumps(
                    self._expand(obj, params.get("expand"), self._objects), indent=2
                ).encode()
                keep = True
            except StripeError as err:
                status, body, keep = (
                    err.status,
                    json.dumps(err.body(), indent=2).encode(),
                    err.saved,
                )
            finally:
                self._request_ctx = {"id": None, "idempotency_key": None}
            if slot and keep:
                self._saved[slot] = _Saved(
                    request.method, request.path, params, status, body, request_id
                )
        if post:
            headers["Original-Request"] = request_id
        if self.delay and post:
            await asyncio.sleep(self.delay)
        return self._respond(post, status, body, headers)

    def _respond(self, post: bool, status: int, body: bytes, headers: dict) -> web.Response:
        if post and self.drop_after_next > 0:
            self.drop_after_next -= 1
            return self._api_error(headers)
        return self._json(status, body, headers)

    async def _unknown(self, request: web.Request) -> web.Response:
        body = {
            "error": {
                "type": "invalid_request_error",
                "message": f"Unrecognized request URL ({request.method}: {request.path}). "
                "Please see https://stripe.com/docs or we can help at "
                "https://support.stripe.com/.",
            }
        }
        return web.json_response(body, status=404)

    # ---- the 3-D Secure page (next_action's url) -------------------------------------------

    def _redirect_target(self, intent: dict, succeeded: bool) -> str | None:
        return_url = self._return_urls.get(intent["id"])
        if not return_url:
            return None
        kind = intent["object"]  # payment_intent | setup_intent
        query = {
            kind: intent["id"],
            f"{kind}_client_secret": intent["client_secret"],
            "redirect_status": "succeeded" if succeeded else "failed",
        }
        parts = urlsplit(return_url)
        joined = "&".join(x for x in (parts.query, urlencode(query)) if x)
        return urlunsplit(parts._replace(query=joined))

    async def _three_ds_page(self, request: web.Request) -> web.Response:
        intent_id = request.match_info["id"]
        with self._mutex:
            intent = self._objects.get(intent_id)
        if intent is None or intent["object"] not in ("payment_intent", "setup_intent"):
            return web.Response(status=404, text="No such intent")
        amount = ""
        if intent["object"] == "payment_intent":
            amount = f"<p>Amount: {intent['amount'] / 100:.2f} {intent['currency'].upper()}</p>"
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test 3D Secure</title></head>
<body><main><h1>Test 3D Secure authentication</h1>{amount}
<p>Status: <span id="status">{html.escape(intent["status"])}</span></p>
<form method="post"><button name="action" value="complete">Complete authentication</button>
<button name="action" value="fail">Fail authentication</button></form></main></body></html>"""
        return web.Response(text=page, content_type="text/html")

    async def _three_ds_submit(self, request: web.Request) -> web.Response:
        intent_id = request.match_info["id"]
        form = await request.post()
        succeed = form.get("action") == "complete"
        try:
            intent = self.complete_action(intent_id, succeed)
        except (ValueError, KeyError):
            return web.Response(status=409, text="This intent is not waiting for authentication")
        target = self._redirect_target(intent, intent["status"] == "succeeded")
        if target:
            raise web.HTTPSeeOther(target)
        return web.Response(text=f"Authentication {'completed' if succeed else 'failed'}.")

    # ---- the fake Stripe.js (GET /v3/) and its Payment Element iframe (GET /elements) -----

    async def _stripe_js(self, request: web.Request) -> web.Response:
        return web.Response(
            text=STRIPE_JS % {"base": self.url}, content_type="application/javascript"
        )

    async def _elements_js(self, request: web.Request) -> web.Response:
        return web.Response(text=ELEMENTS_JS, content_type="application/javascript")

    async def _elements(self, request: web.Request) -> web.Response:
        choices = "\n".join(
            f'<label><input type="radio" name="card" value="{token}"> {token} '
            f"({card.brand} {card.last4})</label><br>"
            for token, card in TEST_CARDS.items()
        )
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test payment method</title></head>
<body><form id="cards" onsubmit="return false"><fieldset><legend>Test card</legend>
{choices}</fieldset></form>
<div id="auth" hidden><p>Test 3D Secure authentication</p>
<button type="button" id="complete">Complete authentication</button>
<button type="button" id="fail">Fail authentication</button></div>
<script src="/elements.js"></script></body></html>"""
        return web.Response(text=page, content_type="text/html")

    async def _three_ds_result(self, request: web.Request) -> web.Response:
        """The iframe's 3-D Secure step: JSON in and out, gated by the client secret."""
        intent_id = request.match_info["id"]
        form = await request.post()
        with self._mutex:
            intent = self._objects.get(intent_id)
            if intent is None or form.get("client_secret") != intent.get("client_secret"):
                return web.json_response(
                    {"error": {"type": "invalid_request_error", "message": "No such intent"}},
                    status=404,
                )
        try:
            done = self.complete_action(intent_id, form.get("action") == "complete")
        except ValueError as err:
            body = {"error": {"type": "invalid_request_error", "message": str(err)}}
            return web.json_response(body, status=400)
        return web.json_response(done)

    def application(self) -> web.Application:
        app = web.Application()
        r = app.router
        routes = [
            ("POST", "/v1/customers", self.h_create_customer, False),
            ("GET", "/v1/customers/{id}", self.h_get_customer, False),
            ("POST", "/v1/customers/{id}", self.h_update_customer, False),
            ("GET", "/v1/customers/{id}/payment_methods", self.h_customer_payment_methods, False),
            ("GET", "/v1/payment_methods", self.h_list_payment_methods, False),
            ("GET", "/v1/payment_methods/{id}", self.h_get_payment_method, False),
            ("POST", "/v1/payment_methods/{id}/attach", self.h_attach, False),
            ("POST", "/v1/payment_methods/{id}/detach", self.h_detach, False),
            ("POST", "/v1/setup_intents", self.h_create_seti, False),
            ("GET", "/v1/setup_intents/{id}", self.h_get_seti, True),
            ("POST", "/v1/setup_intents/{id}", self.h_update_seti, False),
            ("POST", "/v1/setup_intents/{id}/confirm", self.h_confirm_seti, True),
            ("POST", "/v1/setup_intents/{id}/cancel", self.h_cancel_seti, False),
            ("POST", "/v1/payment_intents", self.h_create_pi, False),
            ("GET", "/v1/payment_intents/{id}", self.h_get_pi, True),
            ("POST", "/v1/payment_intents/{id}", self.h_update_pi, False),
            ("POST", "/v1/payment_intents/{id}/confirm", self.h_confirm_pi, True),
            ("POST", "/v1/payment_intents/{id}/cancel", self.h_cancel_pi, False),
            ("POST", "/v1/refunds", self.h_create_refund, False),
            ("GET", "/v1/refunds/{id}", self.h_get_refund, False),
            ("GET", "/v1/charges/{id}", self.h_get_charge, False),
            ("GET", "/v1/disputes/{id}", self.h_get_dispute, False),
            ("GET", "/v1/events", self.h_list_events, False),
            ("GET", "/v1/events/{id}", self.h_get_event, False),
        ]
        for method, path, handler, publishable in routes:
            serve = self._route(handler, post=method == "POST", publishable=publishable)
            r.add_route(method, path, serve)
        r.add_get("/3ds/{id}", self._three_ds_page)
        r.add_post("/3ds/{id}", self._three_ds_submit)
        r.add_post("/3ds/{id}/result", self._three_ds_result)
        r.add_get("/v3/", self._stripe_js)
        r.add_get("/v3", self._stripe_js)
        r.add_get("/elements", self._elements)
        r.add_get("/elements.js", self._elements_js)
        r.add_route("*", "/v1/{tail:.*}", self._unknown)
        return app

    # ---- running it ------------------------------------------------------------------------

    async def start(self, port: int = 0) -> FakeStripe:
        """Serve in the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._worker = asyncio.ensure_future(self._deliver_worker())
        self._runner = web.AppRunner(self.application(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start_thread(self) -> FakeStripe:
        """Serve from a thread with its own event loop (reachable from other processes)."""
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=serve, name="fake-stripe", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake Stripe did not start")
        return self

    def stop_thread(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


@pytest.fixture
def fake_stripe():
    """A fake Stripe in a thread of its own, for this one test."""
    fake = FakeStripe().start_thread()
    try:
        yield fake
    finally:
        fake.stop_thread()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake Stripe API on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--publishable-key", default=None)
    parser.add_argument("--webhook-secret", default=None)
    parser.add_argument("--forward-to", default=None, help="deliver every event here, signed")
    args = parser.parse_args(argv)
    fake = FakeStripe(args.api_key, args.publishable_key, args.webhook_secret)
    if args.forward_to:
        fake.add_webhook_endpoint(args.forward_to)

    async def serve() -> None:
        await fake.start(args.port)
        print(
            json.dumps(
                {
                    "url": fake.url,
                    "api_key": fake.api_key,
                    "publishable_key": fake.publishable_key,
                    "webhook_secret": fake.webhook_secret,
                }
            ),
            flush=True,
        )
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
