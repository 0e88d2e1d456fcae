"""One helper decides "full page or fragment" for every step and page; fragments go through one helper too."""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, render_template, request, url_for

from wizard.extensions import htmx

#: Built URLs by (script root, endpoint, arguments). The app has no URL defaults or preprocessors, so a
#: relative URL depends on nothing else; a layout builds about twenty per page at ~30 µs each.
_URLS: dict[tuple[Any, ...], str] = {}
_URLS_MAX = 4096


def cached_url_for(endpoint: str, **values: Any) -> str:
    """Return ``url_for(endpoint, **values)``, built once per script root and arguments.

    External URLs (``_external``, ``_scheme``) and arguments that cannot be a key are built every time.
    """
    if any(name.startswith("_") and name != "_anchor" for name in values):
        return url_for(endpoint, **values)
    try:
        key = (request.script_root, endpoint, *sorted(values.items()))
        hash(key)
    except TypeError:
        return url_for(endpoint, **values)
    url = _URLS.get(key)
    if url is None:
        url = url_for(endpoint, **values)
        if len(_URLS) >= _URLS_MAX:  # query-string values (a search, a page) must not grow it without end
            _URLS.clear()
        _URLS[key] = url
    return url


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
