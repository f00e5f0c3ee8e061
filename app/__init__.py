"""The web face: ``create_app()`` wires config, database, sessions, CSRF and sections."""

from __future__ import annotations

import logging

from quart import Quart, abort, g, request

from app import errors, i18n, security, uploads
from app.auth import load_session, rule_of, stage_redirect
from app.config import ROOT, Config
from app.converters import IdConverter
from channels import email
from channels.chat import broker as live
from channels.chat import socket as live_socket
from models import audit, settings
from models.db import close_db, init_db


def create_app(config: Config | None = None) -> Quart:
    config = config or Config.from_env()
    app = Quart(__name__, static_folder=str(ROOT / "static"), static_url_path="/static")
    app.config["PORTAL"] = config
    audit.configure(config.audit_key)
    settings.configure_processors(stripe_live=config.stripe_live, demo=not config.https)
    app.url_map.converters["id"] = IdConverter
    uploads.install(app)  # 1 MiB bodies, and files up to 10 MB where a route takes them
    app.config["MAX_FORM_MEMORY_SIZE"] = 64 * 1024
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600
    app.config["TEMPLATES_AUTO_RELOAD"] = False

    security.install(app)
    errors.install(app)
    _install_request_hooks(app)
    _register_blueprints(app)

    @app.before_serving
    async def startup() -> None:
        i18n.load_catalogs()
        await init_db(config.database_url)
        email.configure(config)
        await live.broker.start(config.redis_url, deployment=config.database_url)
        if config.embedded_worker and not config.testing:
            from app.worker import run_forever

            # Quart sets shutdown_event before it waits for background tasks.
            app.add_background_task(run_forever, app.shutdown_event, config)

    @app.after_serving
    async def shutdown() -> None:
        await live_socket.stop_sweeper()
        await live.broker.stop()
        await close_db()

    return app


def _install_request_hooks(app: Quart) -> None:
    @app.before_request
    async def identify():
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        rule = "public" if request.endpoint == "static" else rule_of(view)
        if view is not None and rule is None:
            abort(403)  # deny by default: a route must declare who may use it
        g.user = g.session = None
        if rule == "webhook" or request.endpoint == "static":
            return
        await load_session()
        g.locale = await _locale_for(g.user)
        if request.method in security.UNSAFE_METHODS and not await security.csrf_ok():
            logging.getLogger("portal.security").warning(
                "authz_fail csrf path=%s user=%s", request.path[:200], getattr(g.user, "id", "-")
            )
            abort(403, description="csrf")
        return stage_redirect()


async def _locale_for(user) -> str:
    """The client's preferred language, a staff member's own, or the browser's."""
    preferred = None
    if user is not None:
        from models.access import own_client

        g.own_client = await own_client(user)
        preferred = g.own_client.preferred_language if g.own_client else user.language
    return i18n.pick_locale(preferred)


def _register_blueprints(app: Quart) -> None:
    from app.routes import (
        account,
        admin,
        appointments,
        booking,
        dashboard,
        dev,
        documents,
        health,
        insurance,
        messages,
        passwords,
        pay,
        profile,
        security,
        sessions,
        staff,
        terms,
        two_factor,
    )

    for module in (
        health,
        sessions,
        passwords,
        terms,
        security,
        two_factor,
        dashboard,
        profile,
        booking,  # /appointments/new before the appointments section's rules
        appointments,
        messages,
        account,
        pay,
        documents,
        insurance,
        staff,
        admin,
        dev,
    ):
        app.register_blueprint(module.blueprint)

    from app.routes import onboarding, staff_accounts  # invitations and registration

    for module in (onboarding, staff_accounts):
        app.register_blueprint(module.blueprint)

    from app.routes import staff_availability  # provider availability (issue 4)

    app.register_blueprint(staff_availability.blueprint)

    from app.routes import waitlist  # the waitlist and its offers (issue 4)

    app.register_blueprint(waitlist.blueprint)

    from channels.chat import socket  # /ws: live messages and badges (issue 5)

    app.register_blueprint(socket.blueprint)

    from app.routes import inbox  # the staff inbox: queues, conversations, replies (issue 5)

    app.register_blueprint(inbox.blueprint)

    from app.routes import sms, sms_status  # Twilio webhooks (issue 6)

    for module in (sms, sms_status):
        app.register_blueprint(module.blueprint)

    from app.routes import staff_deliveries  # a client's texts and emails, for staff (issue 6)

    app.register_blueprint(staff_deliveries.blueprint)

    # My Account's PDFs, cards on file, Stripe's webhook (issue 7)
    from app.routes import account_documents, cards, stripe_webhook

    for module in (account_documents, cards, stripe_webhook):
        app.register_blueprint(module.blueprint)

    # Forms and documents, insurance, My Profile, contacts and help (issue 8)
    from app.routes import (
        forms,
        help,
        profile_details,
        staff_contacts,
        staff_documents,
        staff_forms,
        staff_insurance,
        staff_profile_changes,
    )

    for module in (
        forms,
        help,
        profile_details,
        staff_contacts,
        staff_documents,
        staff_forms,
        staff_insurance,
        staff_profile_changes,
    ):
        app.register_blueprint(module.blueprint)

    # Practice settings and the staff console (issue 9)
    from app.routes import (
        admin_catalog,
        admin_clients,
        admin_payers,
        admin_staff,
        admin_templates,
        staff_client,
    )

    for module in (
        admin_catalog,
        admin_clients,
        admin_payers,
        admin_staff,
        admin_templates,
        staff_client,
    ):
        app.register_blueprint(module.blueprint)
