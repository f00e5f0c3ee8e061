"""The web face: ``create_app()`` wires config, database, sessions, CSRF and sections."""

from __future__ import annotations

import json

from jinja2 import FileSystemLoader, PrefixLoader
from quart import Quart, abort, g, request

from app import errors, i18n, security
from app.auth import load_session, rule_of
from app.config import ROOT, Config
from app.converters import IdConverter
from app.htmx import is_htmx
from models.db import close_db, init_db


def create_app(config: Config | None = None) -> Quart:
    config = config or Config.from_env()
    app = Quart(__name__, static_folder=str(ROOT / "static"), static_url_path="/static")
    app.config["PORTAL"] = config
    app.url_map.converters["id"] = IdConverter
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024  # forms; uploads raise it per route
    app.config["MAX_FORM_MEMORY_SIZE"] = 64 * 1024
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600
    app.config["TEMPLATES_AUTO_RELOAD"] = False

    app.jinja_loader = PrefixLoader(
        {
            "views": FileSystemLoader(str(ROOT / "views")),
            "partials": FileSystemLoader(str(ROOT / "partials")),
        }
    )
    _install_templates(app)
    security.install(app)
    errors.install(app)
    _install_request_hooks(app)
    _register_blueprints(app)

    @app.before_serving
    async def startup() -> None:
        i18n.load_catalogs()
        await init_db(config.database_url)
        if config.embedded_worker and not config.testing:
            from app.worker import start_embedded

            app.background_tasks_started = await start_embedded(app)

    @app.after_serving
    async def shutdown() -> None:
        await close_db()

    return app


def _install_templates(app: Quart) -> None:
    env = app.jinja_env
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
    env.globals.update(
        csrf_token=security.csrf_token,
        csp_nonce=security.csp_nonce,
        locale=i18n.current_locale,
        languages=i18n.LANGUAGES,
        hx_request=is_htmx,
    )
    env.filters.update(
        money=i18n.money,
        local_datetime=i18n.local_datetime,
        local_date=i18n.local_date,
        local_time=i18n.local_time,
        weekday_date=i18n.weekday_date,
    )
    env.policies["json.dumps_kwargs"] = {"sort_keys": True}

    @app.context_processor
    async def portal_context() -> dict:
        context: dict = {"user": getattr(g, "user", None)}
        if getattr(g, "access", None) is not None:
            from app.menu import client_menu

            context["menu"] = await client_menu()
            context["access"] = g.access
            context["accesses"] = g.accesses
            context["client"] = g.access.client
            context["tz"] = g.access.client.time_zone
        if getattr(g, "staff", None) is not None:
            from app.menu import staff_menu
            from models.practice import Practice

            context["staff"] = g.staff
            context["staff_menu"] = staff_menu(g.staff)
            practice = await Practice.get(id=g.staff.practice_id).only("id", "time_zone")
            context["tz"] = practice.time_zone
        return context

    env.globals["htmx_config"] = json.dumps(
        {
            "allowEval": False,
            "allowScriptTags": False,
            "historyCacheSize": 0,
            "refreshOnHistoryMiss": True,
            "includeIndicatorStyles": False,
            "selfRequestsOnly": True,
            "defaultSwapStyle": "outerHTML",
            "responseHandling": [
                {"code": "204", "swap": False},
                {"code": "[23]..", "swap": True},
                {"code": "422", "swap": True},
                {"code": "40[34]", "swap": True, "error": True},
                {"code": "[45]..", "swap": False, "error": True},
            ],
        }
    )


def _install_request_hooks(app: Quart) -> None:
    @app.before_request
    async def identify() -> None:
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
            abort(403, description="csrf")


async def _locale_for(user) -> str:
    preferred = None
    if user is not None:
        from models.people import Client

        client = await Client.get_or_none(user_id=user.id).only("id", "preferred_language")
        preferred = client.preferred_language if client else user.language
    return i18n.pick_locale(preferred)


def _register_blueprints(app: Quart) -> None:
    from app.routes import (
        account,
        admin,
        appointments,
        dashboard,
        documents,
        health,
        insurance,
        messages,
        pay,
        profile,
        sessions,
        staff,
    )

    for module in (
        health,
        sessions,
        dashboard,
        profile,
        appointments,
        messages,
        account,
        pay,
        documents,
        insurance,
        staff,
        admin,
    ):
        app.register_blueprint(module.blueprint)
