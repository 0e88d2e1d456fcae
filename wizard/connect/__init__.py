"""Connecting an Ecommerce account to Amazon: the wizard's steps 1 to 3 and the Amazon integration page."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("connect", __name__)

from wizard.connect import views  # noqa: E402,F401 - registers the routes on ``bp``

__all__ = ["bp"]
