"""One helper decides "full page or fragment" for every step and page; fragments go through one helper too."""

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
    if wants_fragment:
        return render_fragment(name, status=status, **context)
    return _response(f"{name}.html", status, context)


def render_fragment(name: str, *, status: int = 200, **context: Any) -> Response:
    """Render only the fragment ``partial/<name>.html``: for endpoints that exist only for htmx.

    Sets ``Vary: HX-Request`` like :func:`render_page`, so the rule for caches lives in one place.
    """
    return _response(f"partial/{name}.html", status, context)


def _response(template: str, status: int, context: dict[str, Any]) -> Response:
    response = make_response(render_template(template, **context), status)
    response.headers["Vary"] = "HX-Request"
    return response
