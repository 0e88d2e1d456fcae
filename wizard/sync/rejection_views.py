""""Try again" for SKUs Amazon rejected (issue 9 §1): one SKU from its catalog row, or all from the Sync page.

A permanent rejection holds a SKU back until its data or the settings change; these buttons lift the hold
now, and a sync soon sends the SKUs again (``wizard.sync.rejections.try_again``).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length

from wizard.db import get_session
from wizard.forms import EmptyForm
from wizard.models.catalog import SKU_MAX_LENGTH
from wizard.security import current_account, manage
from wizard.sync import rejections
from wizard.tasks import schedule_sync_soon
from wizard.text import plural

bp = Blueprint("rejections", __name__, url_prefix="/sync/rejected")


class TryAgainForm(FlaskForm):
    """The SKU to send again."""

    sku = HiddenField("SKU", validators=[DataRequired(), Length(max=SKU_MAX_LENGTH)])


@bp.post("/try-again")
@manage
def try_again() -> Response:
    """Send one rejected SKU again with the next sync, then show its catalog row."""
    form = TryAgainForm()
    if not form.validate_on_submit():
        abort(400)
    account = current_account()
    assert account.id is not None
    sku = form.sku.data or ""
    if rejections.try_again(get_session(), account.id, sku):
        schedule_sync_soon(account.id)
        flash(f"{sku} goes to Amazon again with the next sync, in a minute or so.", "success")
    else:
        flash(f"{sku} is not waiting after a rejection: the next sync sends it if it changed.", "info")
    return redirect(url_for("catalog.index", q=sku))


@bp.post("/try-all-again")
@manage
def try_all_again() -> Response:
    """Send every rejected SKU of the account again with the next sync."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    account = current_account()
    assert account.id is not None
    count = rejections.try_again(get_session(), account.id)
    if count:
        schedule_sync_soon(account.id)
        goes = "goes" if count == 1 else "go"
        flash(f"{plural(count, 'rejected SKU')} {goes} to Amazon again with the next sync, in a minute or "
              "so.", "success")
    else:
        flash("No rejected SKU is waiting: each goes again as soon as its data or your settings change.",
              "info")
    return redirect(url_for("sync.index"))
