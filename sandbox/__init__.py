"""The Amazon sandbox: Seller Central's consent pages, the LWA token endpoint and the SP-API endpoints we use.

Our production code talks to it exactly as to Amazon: only base URLs differ. Every request is checked against
Amazon's official models; anything that does not follow them is recorded as a violation that tests fail on.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app

from sandbox.models import Models, models_dir
from sandbox.store import AppRegistration, Store

DEFAULTS: dict[str, Any] = {
    "APP_ID": "amzn1.sellerapps.app.sandbox-ecommerce",
    "CLIENT_ID": "amzn1.application-oa2-client.sandbox-ecommerce",
    "CLIENT_SECRET": "sandbox-client-secret",
    "APP_DRAFT": True,
    "REDIRECT_URIS": "http://127.0.0.1:5000/amazon/oauth/callback",
    "LOGIN_URI": "http://127.0.0.1:5000/amazon/login",
    "PUBLIC_URL": None,
    "TIME_SCALE": 1.0,
    "PROCESSING_DELAY": 2.0,
}


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create the sandbox app: defaults, then ``SANDBOX_*`` variables, then ``config``."""
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("SANDBOX")
    if config:
        app.config.update(config)
    _configure_flask(app)
    app.extensions["sandbox_models"] = Models(_models_dir(app))
    app.extensions["sandbox_store"] = Store(
        _registration(app),
        time_scale=float(app.config["TIME_SCALE"]),
        processing_delay=float(app.config["PROCESSING_DELAY"]),
    )
    _register_blueprints(app)
    _configure_security_headers(app)
    return app


def _configure_flask(app: Flask) -> None:
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secrets.token_hex(32)  # sessions and presigned URLs live with the process
    app.config.update(SESSION_COOKIE_NAME="amazon_sandbox_session", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax")
    app.jinja_env.undefined = __import__("jinja2").StrictUndefined


def _models_dir(app: Flask) -> Path:
    return models_dir(app.config.get("MODELS_DIR"))


def _registration(app: Flask) -> AppRegistration:
    uris = app.config["REDIRECT_URIS"]
    if isinstance(uris, str):
        uris = [u.strip() for u in uris.split(",") if u.strip()]
    draft = app.config["APP_DRAFT"]
    if isinstance(draft, str):
        draft = draft.strip().lower() in {"1", "true", "yes", "on"}
    return AppRegistration(app_id=str(app.config["APP_ID"]), client_id=str(app.config["CLIENT_ID"]),
                           client_secret=str(app.config["CLIENT_SECRET"]), draft=bool(draft),
                           redirect_uris=list(uris), login_uri=str(app.config["LOGIN_URI"]))


def _register_blueprints(app: Flask) -> None:
    from sandbox import admin, listings_api, lwa, processing, reports, seller_central, spapi

    app.register_blueprint(seller_central.bp)
    app.register_blueprint(lwa.bp)
    app.register_blueprint(spapi.bp)
    app.register_blueprint(listings_api.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(spapi.s3)
    app.register_blueprint(admin.bp)
    app.register_blueprint(admin.api)
    processing.init_app(app)


def _configure_security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        # No form-action: the consent form's redirect goes to the app's registered redirect URI.
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response


def get_store() -> Store:
    """Return the current app's store."""
    store: Store = current_app.extensions["sandbox_store"]
    return store


def get_models() -> Models:
    """Return the current app's loaded Amazon models."""
    models: Models = current_app.extensions["sandbox_models"]
    return models


def public_url() -> str:
    """Return the sandbox's own base URL (``SANDBOX_PUBLIC_URL`` or the request's host)."""
    from flask import request

    configured = current_app.config.get("PUBLIC_URL")
    return str(configured).rstrip("/") if configured else request.url_root.rstrip("/")
