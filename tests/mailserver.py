"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 at a free port, in a thread.

Loaded for every test by ``pytest_plugins`` in tests/conftest.py. To run the app
against it, override the config in a test module and deliver what was queued::

    @pytest.fixture
    def config_overrides(smtp_server):
        return {"smtp_url": smtp_server.url}

    async def test_it_mails_a_reset_link(app, client, smtp_server):
        ...  # something that calls channels.email.queue_email
        [message] = await sent_mail(app, smtp_server)
        assert message["To"] == "alice@example.test"
        assert "/reset/" in message.get_content()

(``sent_mail`` runs ``deliver_pending(app.app.config["PORTAL"])``, as the worker
would, and returns every message received so far; ``smtp_server.clear()`` forgets them.)
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """``(cert, key)`` for 127.0.0.1, made with the openssl command."""
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],  # fmt: skip
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


class MailServer:
    """An SMTP server that keeps what it receives.

    ``tls``: ``None`` (plain), ``"starttls"`` (offers STARTTLS) or ``"implicit"``
    (``smtps://``), with ``certificate=(cert, key)``. ``auth=(user, password)``
    requires a login (allowed without TLS here).
    """

    def __init__(
        self,
        *,
        tls: str | None = None,
        certificate: tuple[Path, Path] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.tls = tls
        self.auth = auth
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []  # (MAIL FROM, RCPT TO)
        self.encrypted: list[bool] = []  # per message: did it arrive over TLS
        self.logins: list[str] = []
        self.refuse: set[str] = set()  # recipients answered "550 no such user"
        self._lock = threading.Lock()
        self._context: ssl.SSLContext | None = None
        if tls:
            assert certificate, "TLS needs certificate=(cert, key)"
            self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._context.load_cert_chain(*map(str, certificate))
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        userinfo = ":".join(quote(part, safe="") for part in self.auth) + "@" if self.auth else ""
        return f"{scheme}://{userinfo}127.0.0.1:{self.port}"

    # -- aiosmtpd handler hooks --

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = envelope.original_content or envelope.content
        # Line ends as Python writes them (the wire has CRLF), so tests compare plain text.
        message = BytesParser(policy=policy.default).parsebytes(raw.replace(b"\r\n", b"\n"))
        tls = server.transport.get_extra_info("ssl_object") is not None
        with self._lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.encrypted.append(tls or session.ssl is not None)
        return "250 Message accepted for delivery"

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and self.auth:
            login, password = auth_data.login.decode(), auth_data.password.decode()
            if (login, password) == self.auth:
                self.logins.append(login)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    # -- control --

    def start(self) -> MailServer:
        kwargs: dict = {}
        if self.tls == "implicit":
            kwargs["ssl_context"] = self._context
        elif self.tls == "starttls":
            kwargs["tls_context"] = self._context
        if self.auth:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=False)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Close the port (a later ``start()`` listens on the same one again)."""
        if self._controller is not None:
            with contextlib.suppress(Exception):
                self._controller.stop()
            self._controller = None

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.envelopes.clear()
            self.encrypted.clear()


@pytest.fixture
def smtp_server():
    """A plain SMTP server on 127.0.0.1; ``.url``, ``.messages``, ``.clear()``."""
    server = MailServer().start()
    yield server
    server.stop()


def portal_config(app):
    """The app's Config, from the ``app`` fixture (Quart's test app) or a Quart app."""
    quart_app = getattr(app, "app", app)
    return quart_app.config["PORTAL"]


async def sent_mail(app, smtp_server: MailServer) -> list[EmailMessage]:
    """Deliver what is due, as the worker would; every message received so far."""
    from channels.email import deliver_pending

    await deliver_pending(portal_config(app))
    return list(smtp_server.messages)
