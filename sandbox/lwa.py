"""Login with Amazon's token endpoint, ``POST /auth/o2/token``, as the SP-API developer guide documents it.

The documented form: ``application/x-www-form-urlencoded`` with ``grant_type``, ``code`` or
``refresh_token``, ``redirect_uri`` (code grant), ``client_id`` and ``client_secret`` in the body. Anything
else is answered as leniently as OAuth servers do, but recorded as a violation.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from sandbox import get_store
from sandbox.store import ACCESS_TOKEN_LIFETIME, CODE_LIFETIME, Store

bp = Blueprint("lwa", __name__)
OPERATION = "lwa"


def _error(error: str, description: str, status: int = 400) -> Response:
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _read_params(store: Store) -> dict[str, Any]:
    content_type = request.mimetype
    if request.args:
        store.violation(OPERATION, f"parameters sent in the query string: {sorted(request.args)}")
    if content_type == "application/json":
        store.violation(OPERATION, "JSON body; LWA documents application/x-www-form-urlencoded")
        body = request.get_json(silent=True)
        return dict(body) if isinstance(body, dict) else {}
    if content_type != "application/x-www-form-urlencoded":
        store.violation(OPERATION, f"Content-Type {request.content_type!r}; expected "
                                   "application/x-www-form-urlencoded")
    return request.form.to_dict()


@bp.post("/auth/o2/token")
def token() -> Response:
    """Exchange an authorization code or a refresh token for an access token."""
    store = get_store()
    store.count_call(OPERATION)
    failure = store.take_fault(OPERATION)
    if failure == 429:
        return _error("temporarily_unavailable", "Too many requests, please retry later", 429)
    if failure is not None:
        return _error("server_error", "Internal server error, please retry", failure)
    params = _read_params(store)
    grant_type = params.get("grant_type", "")
    if not grant_type:
        store.violation(OPERATION, "grant_type missing")
        return _error("invalid_request", "The request is missing a required parameter : grant_type")
    if grant_type not in ("authorization_code", "refresh_token"):
        store.violation(OPERATION, f"unsupported grant_type {grant_type!r}")
        return _error("unsupported_grant_type", f"Unsupported grant type: {grant_type}")
    client_error = _authenticate(store, params)
    if client_error is not None:
        return client_error
    if grant_type == "authorization_code":
        return _exchange_code(store, params)
    return _refresh(store, params)


def _authenticate(store: Store, params: dict[str, Any]) -> Response | None:
    registration = store.registration
    client_id, secret = params.get("client_id", ""), params.get("client_secret", "")
    if request.authorization is not None:
        store.violation(OPERATION, "client credentials sent with HTTP Basic; LWA documents client_id and "
                                   "client_secret in the form body")
        client_id = client_id or (request.authorization.username or "")
        secret = secret or (request.authorization.password or "")
    elif not secret:
        store.violation(OPERATION, "client_secret missing from the body")
    if not client_id or not secret:
        return _error("invalid_request", "The request is missing a required parameter : client_id or "
                                         "client_secret")
    if client_id != registration.client_id or not hmac.compare_digest(secret, registration.client_secret):
        return _error("invalid_client", "Client authentication failed", 401)
    return None


def _exchange_code(store: Store, params: dict[str, Any]) -> Response:
    code, redirect_uri = params.get("code", ""), params.get("redirect_uri", "")
    if not code:
        store.violation(OPERATION, "code missing in an authorization_code grant")
        return _error("invalid_request", "The request is missing a required parameter : code")
    with store.lock:
        found = store.codes.get(code)
        if found is None or found.used:
            return _error("invalid_grant", "The request has an invalid grant parameter : code")
        if time.time() - found.created > CODE_LIFETIME:
            return _error("invalid_grant", "The authorization code has expired")
        expected = found.redirect_uri
        allowed = [expected] if expected else store.registration.redirect_uris
        if redirect_uri and redirect_uri not in allowed:
            return _error("invalid_grant", "The redirect_uri does not match the one used for authorization")
        found.used = True
    refresh_token = store.issue_grant(found.seller_id)
    return _tokens(store, refresh_token)


def _refresh(store: Store, params: dict[str, Any]) -> Response:
    refresh_token = params.get("refresh_token", "")
    if not refresh_token:
        store.violation(OPERATION, "refresh_token missing in a refresh_token grant")
        return _error("invalid_request", "The request is missing a required parameter : refresh_token")
    with store.lock:
        grant = store.grants.get(refresh_token)
        if grant is None or grant.revoked:
            return _error("invalid_grant", "The request has an invalid grant parameter : refresh_token")
    return _tokens(store, refresh_token)


def _tokens(store: Store, refresh_token: str) -> Response:
    response = jsonify({"access_token": store.issue_access_token(refresh_token), "token_type": "bearer",
                        "expires_in": ACCESS_TOKEN_LIFETIME, "refresh_token": refresh_token})
    response.headers["Cache-Control"] = "no-store"
    return response
