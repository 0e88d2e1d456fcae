"""Usage plans (429 past the burst), the time scale, and injected faults."""

from __future__ import annotations

import json

import requests

from tests.fixtures.sandbox import SandboxControl
from tests.integration.sandbox.conftest import (
    JSON_TYPE,
    REDIRECT_URI,
    SELLER,
    US,
    Amazon,
    one_message_feed,
)


def test_burst_then_429_without_the_rate_header(sandbox: SandboxControl, amazon: Amazon, token: str) -> None:
    sandbox.set_time_scale(1)
    answers = [amazon.call("GET", "/sellers/v1/marketplaceParticipations", token) for _ in range(16)]
    assert [a.status_code for a in answers] == [200] * 15 + [429]
    assert all(a.headers["x-amzn-RateLimit-Limit"] == "0.016" for a in answers[:15])
    assert "x-amzn-RateLimit-Limit" not in answers[15].headers
    quota = {"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}
    assert answers[15].json() == {"errors": [quota]}
    assert sandbox.stats()["throttled"] == {"getMarketplaceParticipations": 1}


def test_limits_are_per_seller(sandbox: SandboxControl, amazon: Amazon, token: str) -> None:
    sandbox.set_time_scale(1)
    for _ in range(15):
        amazon.call("GET", "/sellers/v1/account", token)
    other = amazon.access_token(sandbox.grant("A2PROSELLERUS02"))
    assert amazon.call("GET", "/sellers/v1/account", token).status_code == 429
    assert amazon.call("GET", "/sellers/v1/account", other).status_code == 200


def test_json_listings_feed_allows_five_submissions_then_429(sandbox: SandboxControl, amazon: Amazon,
                                                            token: str) -> None:
    sandbox.set_time_scale(1)
    sandbox.processing(paused=True)
    document_id = amazon.upload(token, json.dumps(one_message_feed()).encode())
    body = {"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [US], "inputFeedDocumentId": document_id}
    answers = [amazon.call("POST", "/feeds/2021-06-30/feeds", token, json=body) for _ in range(6)]
    assert [a.status_code for a in answers] == [202] * 5 + [429]
    assert answers[0].headers["x-amzn-RateLimit-Limit"] == f"{1 / 60:g}"


def test_time_scale_speeds_up_the_refill(sandbox: SandboxControl, amazon: Amazon, token: str) -> None:
    sandbox.set_time_scale(1)
    for _ in range(15):
        amazon.call("GET", "/sellers/v1/account", token)
    assert amazon.call("GET", "/sellers/v1/account", token).status_code == 429
    sandbox.set_time_scale(100_000)  # 1600 tokens a second
    answer = amazon.call("GET", "/sellers/v1/account", token)
    assert answer.status_code == 200
    assert answer.headers["x-amzn-RateLimit-Limit"] == f"{0.016 * 100_000:g}"


def test_fail_next_gives_that_many_errors_then_recovers(sandbox: SandboxControl, amazon: Amazon,
                                                       token: str) -> None:
    sandbox.fault("getFeed", fail_next=2, status=503)
    feed_id = amazon.submit(token, one_message_feed())
    path = f"/feeds/2021-06-30/feeds/{feed_id}"
    statuses = [amazon.call("GET", path, token).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert sandbox.stats()["failures_injected"] == 2


def test_throttle_fault_answers_429_until_lifted(sandbox: SandboxControl, amazon: Amazon, token: str) -> None:
    sandbox.fault("createFeedDocument", throttle=True)
    answer = amazon.call("POST", "/feeds/2021-06-30/documents", token, json={"contentType": JSON_TYPE})
    assert answer.status_code == 429 and answer.json()["errors"][0]["code"] == "QuotaExceeded"
    sandbox.fault("createFeedDocument", throttle=False)
    assert amazon.call("POST", "/feeds/2021-06-30/documents", token,
                       json={"contentType": JSON_TYPE}).status_code == 201
    assert sandbox.stats()["throttled"] == {"createFeedDocument": 1}


def test_lwa_fault_gives_a_server_error(sandbox: SandboxControl, amazon: Amazon) -> None:
    refresh = sandbox.grant(SELLER)
    sandbox.fault("lwa", fail_next=1)
    failed = amazon.token(grant_type="refresh_token", refresh_token=refresh)
    assert failed.status_code == 500 and failed.json()["error"] == "server_error"
    assert amazon.token(grant_type="refresh_token", refresh_token=refresh).status_code == 200


def test_upload_fault_answers_like_s3(sandbox: SandboxControl, amazon: Amazon, token: str) -> None:
    created = amazon.create_document(token)
    sandbox.fault("upload", fail_next=1)
    first = requests.put(created["url"], data=b"{}", headers={"Content-Type": JSON_TYPE}, timeout=10)
    assert first.status_code == 500 and "<Code>InternalError</Code>" in first.text
    second = requests.put(created["url"], data=b"{}", headers={"Content-Type": JSON_TYPE}, timeout=10)
    assert second.status_code == 200


def test_reset_forgets_faults_grants_and_counts(sandbox: SandboxControl, amazon: Amazon) -> None:
    refresh = sandbox.grant(SELLER)
    sandbox.fault("lwa", throttle=True)
    sandbox.reset()
    assert amazon.token(grant_type="refresh_token", refresh_token=refresh).json()["error"] == "invalid_grant"
    assert sandbox.stats()["calls"] == {"lwa": 1}
    # the app registration survives a reset
    assert amazon.consent().startswith(REDIRECT_URI)


def test_overview_page_shows_listings_feeds_and_calls(sandbox: SandboxControl, amazon: Amazon,
                                                      token: str) -> None:
    amazon.wait_for_feed(token, amazon.submit(token, one_message_feed(quantity=7)))
    page = requests.get(amazon.url + "/_sandbox/", timeout=10)
    assert page.status_code == 200
    assert "Acme Outdoor Co" in page.text and "<code>A</code>" in page.text
    assert "DONE" in page.text and "createFeed" in page.text
    assert "<script" not in page.text and "style=" not in page.text
    assert "Content-Security-Policy" in page.headers


def test_generated_sellers_are_professional_us_sellers_with_buckets_of_their_own(
        sandbox: SandboxControl, amazon: Amazon) -> None:
    sandbox.set_time_scale(1)
    sellers = sandbox.generate_sellers(3, prefix="ATEST")
    assert list(sellers) == ["ATEST00000000", "ATEST00000001", "ATEST00000002"]
    first, second = (amazon.access_token(sellers[seller_id]) for seller_id in list(sellers)[:2])
    account = amazon.call("GET", "/sellers/v1/account", first).json()["payload"]
    assert account["sellingPlan"] == "PROFESSIONAL"
    assert [p["marketplace"]["id"] for p in account["marketplaceParticipationList"]] == [US]
    for _ in range(14):
        amazon.call("GET", "/sellers/v1/account", first)
    # The load test (bench/bench_load.py) relies on it: one seller's spent budget is not another's.
    assert amazon.call("GET", "/sellers/v1/account", first).status_code == 429
    assert amazon.call("GET", "/sellers/v1/account", second).status_code == 200
    # A person picking an account on the consent page still sees the four sandbox sellers only.
    consent = requests.get(f"{sandbox.url}/apps/manage", timeout=10).text
    assert "A1PROSELLERUS01" in consent and "ATEST00000000" not in consent


def test_generating_sellers_refuses_a_bad_count_or_prefix(sandbox: SandboxControl) -> None:
    for body in ({"count": 0}, {"count": 100_001}, {"count": 1, "prefix": "lower"},
                 {"count": 1, "prefix": "TOOLONGPREFIX"}):
        response = requests.post(f"{sandbox.url}/_sandbox/api/sellers", json=body, timeout=10)
        assert response.status_code == 400, body
