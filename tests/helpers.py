"""Small helpers for tests."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_token(client: FlaskClient, path: str) -> str:
    """Open ``path`` and return the CSRF token the page carries."""
    html = client.get(path).get_data(as_text=True)
    match = _TOKEN.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)
