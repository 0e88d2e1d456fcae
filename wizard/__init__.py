"""Ecommerce's Amazon integration: the onboarding wizard web app."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from wizard import config as config_module
from wizard import db, limits, pagecache
from wizard.extensions import csrf, htmx
from wizard.logs import configure_logging
from wizard.security import PUBLIC, Refused, SessionCookies, access_level, can_manage, current_user
from wizard.text import plural, thousands


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the web app: defaults, then the environment, then ``test_config``."""
    app = Flask(__name__)
    app.config.from_mapping(config_module.from_environment(check=False))
    app.config.from_prefixed_env()
    if test_config:
        app.config.update(test_config)
    config_module.check_production_safety(app.config)
    configure_logging(str(app.config["LOG_FORMAT"]))
    _configure_flask(app)
    db.init_app(app)
    limits.init_app(app)  # before CSRF protection, which reads the body
    csrf.init_app(app)
    htmx.init_app(app)
    pagecache.init_app(app)
    _register_blueprints(app)
    _configure_access(app)
    _configure_security_headers(app)
    _configure_templates(app)
    _configure_errors(app)
    _register_cli(app)
    return app


def _configure_flask(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the session
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",  # Lax, so the OAuth callback (a top-level GET from Amazon) signs in
        SESSION_COOKIE_SECURE=bool(app.config["SESSION_COOKIE_SECURE"]),
        PREFERRED_URL_SCHEME="https" if app.config["SESSION_COOKIE_SECURE"] else "http",
        # The cookie's signature expires with it too; security.current_user also ends a session this old.
        PERMANENT_SESSION_LIFETIME=timedelta(hours=int(app.config["SESSION_LIFETIME_HOURS"])),
        # A session's lifetime runs from the sign-in (security.current_user ends it then), not from the last
        # request: re-signing and re-sending the cookie on every page would buy nothing and cost each request
        # a serialization, a compression and an HMAC.
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    app.session_interface = SessionCookies()
    if proxies := int(app.config["TRUSTED_PROXIES"]):
        # Behind a load balancer the client's address is in X-Forwarded-For: the sign-in throttle needs it.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    app.jinja_env.undefined = __import__("jinja2").StrictUndefined
    app.jinja_env.globals["plural"] = plural
    # A filter, not '{:,}'.format(n): a template calls a filter directly, a method through its context.
    app.jinja_env.filters["thousands"] = thousands


def _register_blueprints(app: Flask) -> None:
    from wizard.accounts import views as accounts
    from wizard.catalog import api
    from wizard.catalog import views as catalog
    from wizard.connect import views as connect
    from wizard.home import views as home
    from wizard.ops import views as ops
    from wizard.reconcile import views as reconcile
    from wizard.settings import views as settings
    from wizard.sync import check_views as check
    from wizard.sync import rejection_views as rejections
    from wizard.sync import views as sync

    for blueprint in (accounts.bp, home.bp, connect.bp, settings.bp, catalog.bp, api.bp, sync.bp,
                      reconcile.bp, ops.bp, check.bp, rejections.bp):
        app.register_blueprint(blueprint)


def _configure_access(app: Flask) -> None:
    """Refuse any route that did not declare who may use it: secure by default."""

    @app.before_request
    def _require_declared_access() -> None:
        if request.endpoint in (None, "static"):
            return
        view = app.view_functions.get(request.endpoint)
        if view is None or access_level(view) is None:
            from flask import abort

            abort(403)


def _configure_security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        seller_central = app.config["AMAZON_SELLER_CENTRAL_URL"].rstrip("/")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'; "
            f"form-action 'self' {seller_central}",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Pages can carry an OAuth state in their URL; never leak it to another site.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "unsafe-none")
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def _configure_templates(app: Flask) -> None:
    from wizard import wording

    app.jinja_env.globals.update(wording.TEMPLATE_GLOBALS)
    from wizard.rendering import cached_url_for

    app.jinja_env.globals["url_for"] = cached_url_for
    from wizard.widgets import render_field

    app.jinja_env.globals["render_field"] = render_field  # the ``field`` macro's markup, built in Python

    from wizard.connect.banner import connection_banner

    @app.context_processor
    def _globals() -> dict[str, Any]:
        # The layout's banner and menu are functions the layout calls: a fragment (most htmx answers) never
        # renders the layout, so it should not pay for their queries.
        return {
            "current_user": current_user(),
            "can_manage": can_manage(),
            "connection_banner": connection_banner,
            "nav_items": lambda: _nav_items(app),
        }


#: The main menu: (endpoint, label). Items whose blueprint is not registered are left out.
NAV = [
    ("home.index", "Home"),
    ("connect.index", "Integrations: Amazon"),
    ("amazon_settings.index", "Amazon settings"),
    ("catalog.index", "Catalog"),
    ("sync.index", "Sync"),
]


def _nav_items(app: Flask) -> list[dict[str, Any]]:
    from wizard.rendering import cached_url_for as url_for

    items = []
    for endpoint, label in NAV:
        if endpoint in app.view_functions:
            blueprint = endpoint.split(".")[0]
            items.append({"url": url_for(endpoint), "label": label,
                          "active": request.blueprint == blueprint})
    return items


def _configure_errors(app: Flask) -> None:
    def _error(status: int, title: str, message: str) -> tuple[str, int]:
        return render_template("error.html", status=status, title=title, message=message), status

    @app.errorhandler(CSRFError)
    def _csrf(_exc: CSRFError) -> tuple[str, int]:
        return _error(400, "Your form expired",
                      "For your security the form expired. Reload the page and try again; nothing was saved.")

    @app.errorhandler(401)
    def _unauthorized(_exc: Exception) -> tuple[str, int]:
        return _error(401, "Please sign in", "Your session ended. Sign in again to continue.")

    @app.errorhandler(403)
    def _forbidden(exc: Exception) -> tuple[str, int]:
        if isinstance(exc, Refused):
            return _error(403, exc.title, str(exc.description))
        return _error(403, "Admin or manager access needed",
                      "Only admins and managers can change the Amazon integration. "
                      "Ask an admin of your Ecommerce account to do this, or to give you manager access.")

    @app.errorhandler(413)
    def _too_large(_exc: Exception) -> tuple[str, int]:
        limit = request.max_content_length or 0
        return _error(413, "Too large to accept",
                      f"What you sent is larger than {limit / (1024 * 1024):,.0f} MB, the most this page "
                      "accepts. Nothing was saved. Send a smaller file or shorter values.")

    @app.errorhandler(404)
    def _not_found(_exc: Exception) -> tuple[str, int]:
        return _error(404, "Page not found", "This page does not exist. Use the menu to find your way.")


def _register_cli(app: Flask) -> None:
    from wizard import cli

    cli.init_app(app)


__all__ = ["PUBLIC", "create_app"]
