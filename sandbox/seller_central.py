"""Seller Central pages: the consent page, "Manage Your Apps" and the Login-URI confirmation.

Amazon's documented outcomes are followed (MD1000 for a Draft app without ``version=beta``, MD5101 for an
unregistered redirect URI, ``state``/``selling_partner_id``/``spapi_oauth_code`` on success).
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import urlencode

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from sandbox import get_store, public_url
from sandbox.sellers import SELLERS, pickable_sellers
from sandbox.store import AppRegistration

bp = Blueprint("seller_central", __name__)

APP_NAME = "Ecommerce"
PERMISSIONS = (
    ("Product Listing", "Manage your listings, inventory quantities and prices."),
    ("Selling Partner Insights", "View your store name, selling plan and the marketplaces you sell in."),
)
#: Cancel is not documented by Amazon. Our assumption, shared with the web app: an OAuth-style denial.
CANCEL_ERROR = "access_denied"
CANCEL_DESCRIPTION = "The seller declined the authorization"
AMAZON_STATE_LIFETIME = 600.0


class ConsentError(Exception):
    """An error Seller Central shows on its own page instead of redirecting."""

    def __init__(self, code: str, title: str, message: str) -> None:
        super().__init__(message)
        self.code, self.title, self.message = code, title, message


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return str(session["csrf"])


def _check_csrf() -> None:
    sent = request.form.get("nonce", "")
    if not sent or not secrets.compare_digest(sent, str(session.get("csrf", ""))):
        raise ConsentError("", "Your session has expired",
                           "Start the authorization again from the application.")


def _check_request(registration: AppRegistration, application_id: str, version: str,
                   redirect_uri: str) -> str:
    """Check the consent parameters as Seller Central does; return the redirect URI to use."""
    if application_id != registration.app_id:
        raise ConsentError("", "We can't find this application",
                           f"No application with ID {application_id or '(none)'} is registered.")
    if registration.draft and version != "beta":
        raise ConsentError("MD1000", "This application is in draft state",
                           "A Draft application can only be authorized with version=beta in the request.")
    if redirect_uri and redirect_uri not in registration.redirect_uris:
        raise ConsentError("MD5101", "The redirect URI is not registered",
                           "The redirect_uri in the request does not match any OAuth Redirect URI registered "
                           "for this application.")
    if not registration.redirect_uris:
        raise ConsentError("MD5101", "The redirect URI is not registered",
                           "This application has no OAuth Redirect URI registered.")
    return redirect_uri or registration.redirect_uris[0]


def _with_params(base: str, params: dict[str, str]) -> str:
    return base + ("&" if "?" in base else "?") + urlencode(params)


@bp.errorhandler(ConsentError)
def _consent_error(error: ConsentError) -> tuple[str, int]:
    return render_template("error.html", error=error), 400


@bp.get("/apps/authorize/consent")
def consent() -> str:
    """Show the consent page: what the app asks for, which account, Authorize or Cancel."""
    store = get_store()
    args = request.args
    _check_request(store.registration, args.get("application_id", ""), args.get("version", ""),
                   args.get("redirect_uri", ""))
    return render_template(
        "consent.html", app_name=APP_NAME, permissions=PERMISSIONS, sellers=list(pickable_sellers()),
        nonce=_csrf_token(), application_id=args.get("application_id", ""), state=args.get("state", ""),
        version=args.get("version", ""), redirect_uri=args.get("redirect_uri", ""),
    )


@bp.post("/apps/authorize/consent")
def decide() -> Response:
    """Authorize (redirect with a code) or Cancel (redirect with ``error=access_denied``).

    Amazon does not document what Cancel does. Our documented assumption is an OAuth 2.0 style denial:
    ``redirect_uri?state=<state>&error=access_denied&error_description=The+seller+declined+the+authorization``.
    """
    _check_csrf()
    store = get_store()
    form = request.form
    target = _check_request(store.registration, form.get("application_id", ""), form.get("version", ""),
                            form.get("redirect_uri", ""))
    state = form.get("state", "")
    if form.get("decision") == "cancel":
        return redirect(_with_params(target, {"state": state, "error": CANCEL_ERROR,
                                              "error_description": CANCEL_DESCRIPTION}))
    seller_id = form.get("selling_partner_id", "")
    if seller_id not in SELLERS:
        raise ConsentError("", "Choose an account", "Select the seller account to authorize, then try again.")
    code = store.issue_code(seller_id, form.get("redirect_uri") or None)
    return redirect(_with_params(target, {"state": state, "selling_partner_id": seller_id,
                                          "spapi_oauth_code": code}))


@bp.get("/apps/manage")
def manage() -> str:
    """Show "Manage Your Apps": start the Login-URI flow (authorize or re-authorize) for any seller."""
    store = get_store()
    rows = [(seller, store.authorization_status(seller.id)) for seller in pickable_sellers()]
    return render_template("manage.html", app_name=APP_NAME, rows=rows, nonce=_csrf_token(),
                           login_uri=store.registration.login_uri)


@bp.post("/apps/manage/<selling_partner_id>/authorize")
def start_login_uri_flow(selling_partner_id: str) -> Response:
    """Open our Login URI with ``amazon_callback_uri``, ``amazon_state`` and ``selling_partner_id``."""
    _check_csrf()
    if selling_partner_id not in SELLERS:
        abort(404)
    store = get_store()
    registration = store.registration
    if not registration.login_uri:
        raise ConsentError("", "No Login URI", "Register a Login URI for this application first.")
    amazon_state = secrets.token_urlsafe(24)
    with store.lock:
        store.amazon_states[amazon_state] = (selling_partner_id, False, time.time())
    params = {
        "amazon_callback_uri": public_url() + url_for("seller_central.confirm",
                                                      application_id=registration.app_id),
        "amazon_state": amazon_state,
        "selling_partner_id": selling_partner_id,
    }
    if registration.draft:
        params["version"] = "beta"
    return redirect(_with_params(registration.login_uri, params))


@bp.post("/apps/manage/<selling_partner_id>/revoke")
def revoke(selling_partner_id: str) -> Response:
    """Remove the app's authorization for this seller, as "Manage Your Apps" lets a seller do."""
    _check_csrf()
    if selling_partner_id not in SELLERS:
        abort(404)
    get_store().revoke(selling_partner_id)
    return redirect(url_for("seller_central.manage"))


@bp.get("/apps/authorize/confirm/<application_id>")
def confirm(application_id: str) -> Response:
    """Finish the Login-URI flow: check ``amazon_state`` and redirect with a fresh authorization code."""
    store = get_store()
    args = request.args
    target = _check_request(store.registration, application_id, args.get("version", ""),
                            args.get("redirect_uri", ""))
    amazon_state = args.get("amazon_state", "")
    with store.lock:
        found = store.amazon_states.get(amazon_state)
        if found is None or found[1] or time.time() - found[2] > AMAZON_STATE_LIFETIME:
            raise ConsentError("", "This authorization request is no longer valid",
                               "The amazon_state is unknown, expired or already used. Start again from "
                               "Manage Your Apps.")
        store.amazon_states[amazon_state] = (found[0], True, found[2])
    code = store.issue_code(found[0], args.get("redirect_uri") or None)
    return redirect(_with_params(target, {"state": args.get("state", ""), "selling_partner_id": found[0],
                                          "spapi_oauth_code": code}))
