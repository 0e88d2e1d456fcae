"""The layout's memoized ``url_for``: the URLs Flask builds, per script root; external ones never memoized."""

from __future__ import annotations

from flask import Flask, url_for

from wizard.rendering import cached_url_for


def _app() -> Flask:
    app = Flask(__name__)
    app.add_url_rule("/catalog/", "catalog", lambda: "")
    app.add_url_rule("/run/<int:run_id>", "run", lambda run_id: "")
    return app


def test_memoized_urls_are_the_urls_flask_builds() -> None:
    app = _app()
    cases = [("catalog", {}), ("catalog", {"outcome": "rejected"}), ("catalog", {"q": "mug", "page": 2}),
             ("run", {"run_id": 7}), ("run", {"run_id": 8}), ("static", {"filename": "app.css"})]
    with app.test_request_context("/"):
        for _ in range(2):  # built, then served from the memo
            for endpoint, values in cases:
                assert cached_url_for(endpoint, **values) == url_for(endpoint, **values)


def test_an_app_mounted_under_a_prefix_gets_its_own_urls() -> None:
    app = _app()
    with app.test_request_context("/"):
        assert cached_url_for("catalog", outcome="x") == "/catalog/?outcome=x"
    with app.test_request_context("/", environ_overrides={"SCRIPT_NAME": "/shop"}):
        assert cached_url_for("catalog", outcome="x") == "/shop/catalog/?outcome=x"


def test_external_urls_follow_the_request_host() -> None:
    app = _app()
    with app.test_request_context("/", base_url="http://one.example"):
        assert cached_url_for("catalog", _external=True) == "http://one.example/catalog/"
    with app.test_request_context("/", base_url="http://two.example"):
        assert cached_url_for("catalog", _external=True) == "http://two.example/catalog/"
