"""The ``connect`` blueprint and what its three view modules share: step guards, URLs, page context."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, redirect, url_for
from werkzeug.wrappers import Response

from wizard.connect import tips
from wizard.connect.service import ConnectionView, connection_for
from wizard.connect.steps import (
    STEP_INFO,
    Facts,
    StepName,
    checklist,
    current_step,
    facts_for,
    is_allowed,
    wizard_steps,
)
from wizard.db import get_session
from wizard.models import Account, User
from wizard.security import can_manage, current_user

bp = Blueprint("connect", __name__)

PREFIX = "/settings/integrations/amazon"
SETTINGS_ENDPOINT = "amazon_settings.index"


def facts(account: Account) -> Facts:
    """Return the account's wizard facts, read from the database."""
    return facts_for(get_session(), account)


def settings_url() -> str | None:
    """Return the settings page (step 4) if that blueprint is registered."""
    return url_for(SETTINGS_ENDPOINT) if SETTINGS_ENDPOINT in current_app.view_functions else None


def step_url(step: StepName) -> str:
    """Return the page of ``step``; past step 3 that is the settings page, or the integration page."""
    if step in (StepName.PREREQUISITES, StepName.GRANT_ACCESS, StepName.VERIFY):
        return url_for(STEP_INFO[step][1])
    return settings_url() or url_for("connect.index")


def guard(step: StepName, account: Account) -> Response | None:
    """Send the merchant back to the step they are at if ``step`` is not open yet."""
    known = facts(account)
    if is_allowed(step, known):
        return None
    return redirect(step_url(current_step(known)))


def redirect_uri() -> str:
    """Return the OAuth redirect URI registered with Amazon: the public base URL plus the callback path."""
    return str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/") + url_for("connect.oauth_callback")


def page_context(account: Account, page: StepName | None) -> dict[str, Any]:
    """Return what every wizard page and the integration page render: connection, facts, stepper, tips."""
    known = facts(account)
    connection = connection_for(get_session(), account.id or 0)
    return {
        "account": account,
        "connection": connection,
        "view": ConnectionView.of(connection),
        "facts": known,
        "steps": wizard_steps(known),
        "current": page.value if page else "",
        "checklist": checklist(known, can_manage=can_manage(), on_integration_page=True),
        "tips": tips,
        "settings_url": settings_url(),
    }


def signed_in_user() -> User:
    """Return the signed-in user (the access decorators guarantee one)."""
    user = current_user()
    if user is None:  # the access decorators make this unreachable
        abort(401)
    return user
