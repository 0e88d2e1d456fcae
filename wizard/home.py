"""The Ecommerce home page: the Amazon connection and sync at a glance."""

from __future__ import annotations

from flask import Blueprint
from sqlmodel import select
from werkzeug.wrappers import Response

from wizard.db import get_session
from wizard.models import Connection
from wizard.rendering import render_page
from wizard.security import current_account, signed_in

bp = Blueprint("home", __name__)


@bp.get("/")
@signed_in
def index() -> Response:
    """Show the home page."""
    account = current_account()
    connection = get_session().exec(select(Connection).where(Connection.account_id == account.id)).first()
    return render_page("home", account=account, connection=connection)
