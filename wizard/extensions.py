"""Extension objects, created unbound and bound to an app in ``create_app``."""

from __future__ import annotations

from flask_htmx import HTMX
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
htmx = HTMX()
