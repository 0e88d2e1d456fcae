"""Request body limits: Flask's ``MAX_CONTENT_LENGTH`` for every route, a larger one where a route allows it.

A body with a Content-Length over the limit is refused before it is read. A chunked body has no length, and
Werkzeug only stops reading it at the limit (the parser then sees a truncated body), so it is wrapped in a
stream that answers 413 as soon as one byte more than the limit arrives. The per-route limit must be set
before anything reads the body, and CSRF protection reads the form in its own ``before_request``, so
:func:`init_app` is called before ``csrf.init_app``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any, TypeVar

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

F = TypeVar("F", bound=Callable[..., Any])


def body_limit(config_key: str) -> Callable[[F], F]:
    """Allow the view a body of up to ``app.config[config_key]`` bytes instead of ``MAX_CONTENT_LENGTH``."""

    def decorate(view: F) -> F:
        view._body_limit = config_key  # type: ignore[attr-defined]
        return view

    return decorate


class _CappedStream:
    """A WSGI input stream that raises ``RequestEntityTooLarge`` once more than ``limit`` bytes were read."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._read = 0

    def _count(self, data: bytes) -> bytes:
        self._read += len(data)
        if self._read > self._limit:
            raise RequestEntityTooLarge()
        return data

    def read(self, size: int = -1) -> bytes:
        """Read like the wrapped stream, counting."""
        return self._count(self._stream.read(size))

    def readline(self, size: int = -1) -> bytes:
        """Read a line like the wrapped stream, counting."""
        return self._count(self._stream.readline(size))


def init_app(app: Flask) -> None:
    """Apply each view's body limit to its requests (register before CSRF protection)."""

    @app.before_request
    def _apply_body_limit() -> None:
        view = app.view_functions.get(request.endpoint or "")
        key = getattr(view, "_body_limit", None)
        limit = int(app.config[key] if key is not None else app.config["MAX_CONTENT_LENGTH"])
        request.max_content_length = limit
        if request.content_length is None and "wsgi.input_terminated" in request.environ:
            request.environ["wsgi.input"] = _CappedStream(request.environ["wsgi.input"], limit)
            # Werkzeug reads one byte past the limit, so the capped stream sees it and answers 413.
            request.max_content_length = limit + 1
