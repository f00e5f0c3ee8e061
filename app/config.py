"""Configuration from the environment (names in DESIGN.md; documented in .env.example)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
# The audit chain's HMAC key when AUDIT_KEY is unset: development only (refused
# with an https PUBLIC_URL), fixed so the chain still verifies after a restart.
DEVELOPMENT_AUDIT_KEY = "portal-development-audit-key-not-for-production"


@dataclass(frozen=True)
class Config:
    database_url: str = "sqlite://portal.db"
    redis_url: str = ""
    secret_key: str = ""
    audit_key: str = DEVELOPMENT_AUDIT_KEY  # AUDIT_KEY; never stored in the database
    public_url: str = "http://127.0.0.1:8000"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from: str = ""
    twilio_api_base: str = "https://api.twilio.com"
    sms_rate: float = 1.0  # SMS_RATE: texts per second (one US long code sends 1)
    stripe_secret_key: str = ""
    stripe_publishable_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = "https://api.stripe.com"
    stripe_js_url: str = "https://js.stripe.com/v3/"  # STRIPE_JS_URL: a fake's in tests
    smtp_url: str = ""
    mail_from: str = "portal@localhost"
    data_dir: Path = field(default_factory=lambda: ROOT / "var")
    # Peers whose X-Forwarded-For is believed (comma-separated IPs or CIDRs).
    trusted_proxies: str = ""
    # The worker runs inside the web process unless a separate `portal worker` is used.
    embedded_worker: bool = True
    testing: bool = False

    @property
    def https(self) -> bool:
        return urlsplit(self.public_url).scheme == "https"

    @property
    def dev_outbox(self) -> bool:
        """Development without SMTP: email goes to the /dev/mail page (never in production)."""
        return not self.smtp_url and not self.https

    @property
    def twilio_live(self) -> bool:
        """Texts go to Twilio (through TWILIO_API_BASE): credentials and a sender are set."""
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from)

    @property
    def stripe_live(self) -> bool:
        """Card payments go to Stripe (through STRIPE_API_BASE): all three keys are set."""
        return bool(
            self.stripe_secret_key and self.stripe_publishable_key and self.stripe_webhook_secret
        )

    @property
    def sms_dev_outbox(self) -> bool:
        """Development without Twilio: texts go to the /dev/sms page (never in production)."""
        return not self.twilio_live and not self.https

    @property
    def twilio_webhook_token(self) -> str:
        """The key /sms/inbound and /sms/status check signatures with: Twilio's auth
        token, or in the developer outbox one derived from SECRET_KEY (the /dev/sms page
        signs its replies with it). "" in production without Twilio: every webhook is
        refused."""
        if self.twilio_auth_token:
            return self.twilio_auth_token
        if self.sms_dev_outbox:
            import hashlib
            import hmac

            return hmac.new(self.secret_key.encode(), b"dev-twilio", hashlib.sha1).hexdigest()
        return ""

    @classmethod
    def from_env(cls, **overrides) -> Config:
        env = os.environ
        values = {
            "database_url": env.get("DATABASE_URL", "sqlite://portal.db"),
            "redis_url": env.get("REDIS_URL", ""),
            "secret_key": env.get("SECRET_KEY", ""),
            "audit_key": env.get("AUDIT_KEY", "") or DEVELOPMENT_AUDIT_KEY,
            "public_url": env.get("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
            "twilio_account_sid": env.get("TWILIO_ACCOUNT_SID", ""),
            "twilio_auth_token": env.get("TWILIO_AUTH_TOKEN", ""),
            "twilio_from": env.get("TWILIO_FROM", ""),
            "twilio_api_base": env.get("TWILIO_API_BASE", "https://api.twilio.com"),
            "sms_rate": _positive_float(env.get("SMS_RATE", ""), 1.0),
            "stripe_secret_key": env.get("STRIPE_SECRET_KEY", ""),
            "stripe_publishable_key": env.get("STRIPE_PUBLISHABLE_KEY", ""),
            "stripe_webhook_secret": env.get("STRIPE_WEBHOOK_SECRET", ""),
            "stripe_api_base": env.get("STRIPE_API_BASE", "https://api.stripe.com"),
            "stripe_js_url": env.get("STRIPE_JS_URL", "https://js.stripe.com/v3/"),
            "smtp_url": env.get("SMTP_URL", ""),
            "mail_from": env.get("MAIL_FROM", "portal@localhost"),
            "embedded_worker": env.get("PORTAL_EMBEDDED_WORKER", "1") != "0",
            "trusted_proxies": env.get("TRUSTED_PROXIES", ""),
        }
        if env.get("PORTAL_DATA_DIR"):
            values["data_dir"] = Path(env["PORTAL_DATA_DIR"])
        values.update(overrides)
        config = cls(**values)
        if config.https and (
            config.audit_key == DEVELOPMENT_AUDIT_KEY or len(config.audit_key) < 32
        ):
            raise RuntimeError("AUDIT_KEY (32+ characters) must be set when PUBLIC_URL is https")
        if not config.secret_key:
            if config.https:
                raise RuntimeError("SECRET_KEY must be set when PUBLIC_URL is https")
            # Development only: a key kept in the data directory, so remembered
            # devices and sign-in forms survive a restart.
            object.__setattr__(config, "secret_key", _development_key(config.data_dir))
        from app.net import parse_networks

        parse_networks(config.trusted_proxies)  # a typo fails at startup, not per request
        return config


def _positive_float(text: str, default: float) -> float:
    if not text.strip():
        return default
    value = float(text)  # a typo fails at startup
    if not 0 < value <= 1000:
        raise RuntimeError(
            "SMS_RATE must be a number of texts per second, above 0 and at most 1000"
        )
    return value


def _development_key(data_dir: Path) -> str:
    path = data_dir / "dev-secret-key"
    try:
        key = path.read_text().strip()
        if len(key) >= 32:
            return key
    except OSError:
        pass
    key = secrets.token_urlsafe(32)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(key)
        path.chmod(0o600)
    except OSError:
        pass  # a read-only checkout: a per-process key still works
    return key
