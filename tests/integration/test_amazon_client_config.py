"""The web app's Amazon client is built as the worker's: configured retries, shared Redis rate buckets."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from redis import Redis

from tests.conftest import Merchant, sign_in
from tests.fixtures.worker import SELLER, Seller
from tests.helpers import csrf_token
from wizard import create_app
from wizard.amazon.client import AmazonClient
from wizard.config import from_environment

VERIFY = "/settings/integrations/amazon/verify"


def _check_again(client: FlaskClient) -> str:
    token = csrf_token(client, VERIFY)
    response = client.post(VERIFY, data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_web_amazon_calls_retry_as_many_times_as_configured(
        app_config: dict[str, Any], seller: Seller, sandbox, merchant: Merchant) -> None:  # type: ignore[no-untyped-def]
    # Six 500s in a row: the default policy (5 attempts) gives up, the configured one (7) gets through.
    app = create_app({**app_config, "AMAZON_RETRY_ATTEMPTS": 7, "AMAZON_RETRY_BASE_DELAY": 0.01})
    client = app.test_client()
    sign_in(client, merchant.user("admin"))
    sandbox.fault("getMarketplaceParticipations", fail_next=6, status=500)

    html = _check_again(client)

    assert "Acme Outdoor Co" in html
    assert "Amazon is not answering right now" not in html
    assert sandbox.stats()["calls"]["getMarketplaceParticipations"] >= 7


def test_web_amazon_calls_draw_from_the_workers_rate_buckets(
        client: FlaskClient, seller: Seller, sandbox, signed_in_as, redis_url: str,  # type: ignore[no-untyped-def]
        app_config: dict[str, Any]) -> None:
    # A sync used up this seller's getAccount budget (Amazon's plan: burst 15, one call a minute).
    redis = Redis.from_url(redis_url)
    worker = AmazonClient.from_config({**from_environment(), **app_config}, redis)
    while worker.limiter.try_acquire(SELLER, "getAccount") == 0:  # type: ignore[attr-defined]
        pass
    calls_before = sandbox.stats()["calls"].get("getAccount", 0)
    signed_in_as("admin")

    html = _check_again(client)

    # The page does not spend a token the bucket does not have (Amazon would answer 429): it says Amazon is
    # busy, and Amazon never saw the call.
    assert "Amazon is not answering right now" in html
    assert sandbox.stats()["calls"].get("getAccount", 0) == calls_before
    assert sandbox.stats()["throttled"].get("getAccount", 0) == 0
