"""The "Amazon only" list: listings on Amazon that are not in the catalog, and the confirmed "Set to 0"."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, url_for
from werkzeug.wrappers import Response

from wizard.db import get_session
from wizard.forms import EmptyForm
from wizard.reconcile import status
from wizard.rendering import render_page
from wizard.rules import format_usd
from wizard.security import can_manage, current_account, current_user, manage, signed_in
from wizard.tasks import schedule_sync_soon
from wizard.text import plural

bp = Blueprint("reconcile", __name__, url_prefix="/catalog/amazon-only")

#: Shown above the list when any Amazon-only listing has stock.
OVERSELL_WARNING = ("These listings are on Amazon but not in your Ecommerce catalog, so Ecommerce never "
                    "updates their stock: these can oversell.")


def _context(confirm: bool) -> dict[str, Any]:
    account = current_account()
    assert account.id is not None
    session = get_session()
    listings = status.amazon_only(session, account.id, current_app.config["AMAZON_SELLER_CENTRAL_URL"])
    counts = status.counts(session, account.id)
    return {"account": account, "listings": listings, "counts": counts, "usd": format_usd,
            "warning": OVERSELL_WARNING, "form": EmptyForm(), "editable": can_manage(), "confirm": confirm}


@bp.get("/")
@signed_in
def index() -> Response:
    """List the Amazon-only listings with Amazon's quantity."""
    return render_page("reconcile/amazon_only", **_context(confirm=False))


@bp.get("/set-to-zero")
@manage
def confirm_zero() -> Response:
    """Ask the merchant to confirm setting the Amazon-only listings in stock to 0."""
    return render_page("reconcile/amazon_only", **_context(confirm=True))


@bp.post("/set-to-zero")
@manage
def set_to_zero() -> Response:
    """Record the confirmed request; the next sync sends quantity 0 through the normal feed pipeline."""
    form = EmptyForm()
    if not form.validate_on_submit():
        return render_page("reconcile/amazon_only", status=400, **_context(confirm=True))
    account = current_account()
    assert account.id is not None
    user = current_user()
    count = status.request_zero(get_session(), account.id, user.id if user else None)
    if count:
        schedule_sync_soon(account.id)
        flash(f"{plural(count, 'Amazon-only listing')} will be set to 0 on Amazon by the next sync, in a "
              "minute or two. The Sync page shows the result.", "success")
    else:
        flash("No Amazon-only listing has stock: nothing to set to 0.", "info")
    return redirect(url_for(".index"))
