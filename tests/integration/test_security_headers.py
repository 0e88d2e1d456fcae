"""Security headers on every page, and templates that need no inline script or style."""

from __future__ import annotations

import re
from pathlib import Path

from flask.testing import FlaskClient

from tests.conftest import Merchant, sign_in

TEMPLATES = Path(__file__).resolve().parents[2] / "wizard" / "templates"


def csp(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part for part in (p.strip() for p in policy.split(";")) if part}


def test_pages_send_a_csp_without_inline_script_and_the_other_headers(client: FlaskClient,
                                                                      merchant: Merchant) -> None:
    sign_in(client, merchant.user("admin"))
    for path in ("/sign-in", "/", "/settings/integrations/amazon/prerequisites", "/amazon/oauth/callback"):
        response = client.get(path)
        directives = csp(response)
        assert directives["script-src"] == "script-src 'self'", path
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"], path
        assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"], path
        assert directives["frame-ancestors"] == "frame-ancestors 'none'", path
        assert directives["object-src"] == "object-src 'none'", path
        assert response.headers["Referrer-Policy"] == "no-referrer", path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["X-Frame-Options"] == "DENY", path


def test_forms_may_post_only_to_us_and_to_seller_central(client: FlaskClient, app) -> None:  # type: ignore[no-untyped-def]
    form_action = csp(client.get("/sign-in"))["form-action"]
    assert form_action == f"form-action 'self' {app.config['AMAZON_SELLER_CENTRAL_URL']}"


def test_no_template_has_inline_script_inline_style_or_hx_on() -> None:
    offenders = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        text = template.read_text()
        for match in re.finditer(r"<script(?![^>]*\bsrc=)[^>]*>", text):
            offenders.append(f"{template.relative_to(TEMPLATES)}: inline {match.group(0)}")
        if re.search(r"\sstyle\s*=", text):
            offenders.append(f"{template.relative_to(TEMPLATES)}: style attribute")
        if re.search(r"\shx-on", text):
            offenders.append(f"{template.relative_to(TEMPLATES)}: hx-on")
    assert offenders == []


def test_every_post_form_in_the_templates_carries_the_csrf_token() -> None:
    missing = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        text = template.read_text()
        for form in re.finditer(r'<form[^>]*method="post"[^>]*>(.*?)</form>', text, flags=re.S | re.I):
            body = form.group(1)
            if not any(mark in body for mark in ("csrf_token", "hidden_tag()", "csrf()")):
                missing.append(f"{template.relative_to(TEMPLATES)}: {form.group(0)[:80]}")
    assert missing == []
