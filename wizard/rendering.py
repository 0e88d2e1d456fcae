"""One helper decides "full page or fragment" for every step and page."""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, render_template

from wizard.extensions import htmx


def render_page(name: str, *, status: int = 200, **context: Any) -> Response:
    """Render ``partial/<name>.html`` for an htmx request, else the full page ``<name>.html``.

    Every page template includes its fragment, so both always agree. ``Vary: HX-Request`` keeps caches from
    serving a fragment where a page was asked for.
    """
    wants_fragment = bool(htmx) and not htmx.boosted and not htmx.history_restore_request
    template = f"partial/{name}.html" if wants_fragment else f"{name}.html"
    response = make_response(render_template(template, **context), status)
    response.headers["Vary"] = "HX-Request"
    return response
