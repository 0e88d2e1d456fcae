"""Sellers and Feeds APIs over real HTTP, checked against Amazon's official models."""

from __future__ import annotations

import gzip
import hashlib
import json
from decimal import Decimal

import pytest
import requests
from jsonschema import Draft4Validator

from sandbox.models import Models, models_dir
from tests.fixtures.sandbox import SandboxControl
from tests.integration.sandbox.conftest import (
    JSON_TYPE,
    SELLER,
    US,
    Amazon,
    feed_document,
    one_message_feed,
    price_message,
    quantity_message,
)


@pytest.fixture(scope="module")
def models() -> Models:
    return Models(models_dir())


def _validate(models: Models, operation: str, status: int, body: object) -> None:
    validator = models.operations[operation].responses[status]
    assert isinstance(validator, Draft4Validator)
    validator.validate(body)


ALL_SELLERS = ["A1PROSELLERUS01", "A2PROSELLERUS02", "A3INDIVIDUAL001", "A4NOUSMARKET001"]


@pytest.mark.parametrize("seller_id", ALL_SELLERS)
def test_sellers_api_answers_match_the_model(sandbox: SandboxControl, amazon: Amazon, models: Models,
                                             seller_id: str) -> None:
    token = amazon.access_token(sandbox.grant(seller_id))
    participations = amazon.call("GET", "/sellers/v1/marketplaceParticipations", token)
    account = amazon.call("GET", "/sellers/v1/account", token)
    assert participations.status_code == 200 and account.status_code == 200
    _validate(models, "getMarketplaceParticipations", 200, participations.json())
    _validate(models, "getAccount", 200, account.json())
    markets = {p["marketplace"]["id"] for p in participations.json()["payload"]}
    assert markets == ({"A2EUQ1WTGCTBG2"} if seller_id == "A4NOUSMARKET001" else {US})
    expected_plan = "INDIVIDUAL" if seller_id == "A3INDIVIDUAL001" else "PROFESSIONAL"
    assert account.json()["payload"]["sellingPlan"] == expected_plan
    assert participations.headers["x-amzn-RateLimit-Limit"] == f"{0.016 * 200:g}"
    assert participations.headers["x-amzn-RequestId"]


def test_invalid_token_gets_amazons_403_body(amazon: Amazon) -> None:
    answer = amazon.call("GET", "/sellers/v1/account", "Atza|not-a-token")
    assert answer.status_code == 403
    assert answer.json() == {"errors": [{
        "code": "Unauthorized", "message": "Access to requested resource is denied.",
        "details": "The access token you provided is revoked, malformed or invalid."}]}
    assert "x-amzn-RateLimit-Limit" not in answer.headers


def test_missing_user_agent_is_recorded(sandbox: SandboxControl, amazon: Amazon, token: str) -> None:
    answer = requests.get(amazon.url + "/sellers/v1/account", headers={"x-amz-access-token": token},
                          timeout=10)
    assert answer.status_code == 200
    assert "User-Agent" in sandbox.violations()[0]["detail"]
    sandbox.clear_violations()


def test_feed_round_trip_updates_listings_and_reports_issues(sandbox: SandboxControl, amazon: Amazon,
                                                              token: str, models: Models) -> None:
    document = feed_document(SELLER, [
        quantity_message(1, "ACME-TENT-1", 42),
        price_message(2, "ACME-TENT-1", 199.99),
        quantity_message(3, "UNKNOWN-SKU-9", 5),
        quantity_message(4, "ACME-LAMP-2", -1),
        price_message(5, "ACME-LAMP-2", 12.345),
        quantity_message(6, "ACME-LAMP-2", 0, op="replace"),
    ])
    feed_id = amazon.submit(token, document)
    feed = amazon.wait_for_feed(token, feed_id)
    _validate(models, "getFeed", 200, feed)
    assert feed["processingStatus"] == "DONE"
    assert feed["processingStartTime"] and feed["processingEndTime"]
    report = amazon.report(token, feed["resultFeedDocumentId"])
    models.report_schema.validate(report)
    assert report["header"] == {"sellerId": SELLER, "version": "2.0", "feedId": feed_id}
    assert report["summary"] == {"errors": 3, "warnings": 0, "messagesProcessed": 6, "messagesAccepted": 3,
                                 "messagesInvalid": 3}
    issues = {i["messageId"]: i for i in report["issues"]}
    assert issues[3]["message"] == "The SKU is not in your Amazon catalog"
    assert issues[3]["sku"] == "UNKNOWN-SKU-9"
    assert issues[4]["attributeName"] == "fulfillment_availability"
    assert issues[5]["attributeName"] == "purchasable_offer"
    listings = sandbox.listings(SELLER)
    assert {sku: (v["quantity"], v["price"]) for sku, v in listings.items()} == {
        "ACME-TENT-1": (42, Decimal("199.99")), "ACME-LAMP-2": (0, None)}
    assert sorted(sandbox.audit()) == [(SELLER, feed_id, 1, "ACME-TENT-1"),
                                       (SELLER, feed_id, 2, "ACME-TENT-1"),
                                       (SELLER, feed_id, 6, "ACME-LAMP-2")]
    stats = sandbox.stats()
    expected_hash = hashlib.sha256(json.dumps(document).encode()).hexdigest()
    feeds = [(f["feedId"], f["content_sha256"], f["messages"]) for f in stats["feeds"]]
    assert feeds == [(feed_id, expected_hash, 6)]


def test_report_can_be_served_with_content_encoding(amazon: Amazon, token: str) -> None:
    feed = amazon.wait_for_feed(token, amazon.submit(token, one_message_feed()))
    doc = amazon.call("GET", f"/feeds/2021-06-30/documents/{feed['resultFeedDocumentId']}", token,
                      params={"enableContentEncodingUrlHeader": "true"}).json()
    raw = requests.get(doc["url"], timeout=10)
    assert raw.headers["Content-Encoding"] == "gzip"
    assert raw.json()["summary"]["messagesAccepted"] == 1  # requests decoded the gzip itself
    plain = requests.get(amazon.call("GET", f"/feeds/2021-06-30/documents/{feed['resultFeedDocumentId']}",
                                     token).json()["url"], timeout=10)
    assert "Content-Encoding" not in plain.headers
    assert json.loads(gzip.decompress(plain.content))["header"]["feedId"] == feed["feedId"]


def test_create_feed_document_answer_matches_the_model(amazon: Amazon, token: str, models: Models) -> None:
    created = amazon.call("POST", "/feeds/2021-06-30/documents", token, json={"contentType": JSON_TYPE})
    assert created.status_code == 201
    _validate(models, "createFeedDocument", 201, created.json())
    assert created.json()["url"].startswith(amazon.url + "/_s3/upload/")
    assert created.headers["x-amzn-RateLimit-Limit"] == f"{0.5 * 200:g}"


def test_upload_with_another_content_type_is_refused_like_s3(sandbox: SandboxControl, amazon: Amazon,
                                                            token: str) -> None:
    created = amazon.create_document(token)
    put = requests.put(created["url"], data=b"{}", headers={"Content-Type": "text/plain"}, timeout=10)
    assert put.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in put.text
    assert "differs from the declared" in sandbox.violations()[0]["detail"]
    sandbox.clear_violations()


def test_create_feed_without_marketplace_ids_is_a_400_and_a_violation(sandbox: SandboxControl, amazon: Amazon,
                                                                     token: str, models: Models) -> None:
    document_id = amazon.upload(token, json.dumps(one_message_feed()).encode())
    answer = amazon.call("POST", "/feeds/2021-06-30/feeds", token,
                         json={"feedType": "JSON_LISTINGS_FEED", "inputFeedDocumentId": document_id})
    assert answer.status_code == 400
    _validate(models, "createFeed", 400, answer.json())
    assert answer.json()["errors"][0]["code"] == "InvalidInput"
    assert "x-amzn-RateLimit-Limit" in answer.headers
    found = sandbox.violations()
    assert [v["operation"] for v in found] == ["createFeed"]
    assert "marketplaceIds" in found[0]["detail"]
    sandbox.clear_violations()


def test_feed_with_another_sellers_header_is_fatal(sandbox: SandboxControl, amazon: Amazon,
                                                   token: str) -> None:
    feed_id = amazon.submit(token, one_message_feed("A2PROSELLERUS02"))
    feed = amazon.wait_for_feed(token, feed_id)
    assert feed["processingStatus"] == "FATAL" and "resultFeedDocumentId" not in feed
    assert "header sellerId" in sandbox.violations()[0]["detail"]
    assert sandbox.listings(SELLER) == {}
    sandbox.clear_violations()


def test_feed_that_breaks_the_listings_schema_is_fatal(sandbox: SandboxControl, amazon: Amazon,
                                                       token: str) -> None:
    no_patches = {"messageId": 1, "sku": "A", "operationType": "PATCH", "productType": "PRODUCT"}
    bad = feed_document(SELLER, [no_patches])
    feed = amazon.wait_for_feed(token, amazon.submit(token, bad))
    assert feed["processingStatus"] == "FATAL"
    assert "listings-feed-schema-v2" in sandbox.violations()[0]["detail"]
    sandbox.clear_violations()


def test_only_queued_feeds_can_be_cancelled(sandbox: SandboxControl, amazon: Amazon, token: str) -> None:
    sandbox.processing(paused=True)
    feed_id = amazon.submit(token, one_message_feed())
    cancelled = amazon.call("DELETE", f"/feeds/2021-06-30/feeds/{feed_id}", token)
    assert cancelled.status_code == 200 and cancelled.text == ""
    assert amazon.feed_status(token, feed_id) == "CANCELLED"
    again = amazon.call("DELETE", f"/feeds/2021-06-30/feeds/{feed_id}", token)
    assert again.status_code == 400
    sandbox.processing(paused=False)
    assert sandbox.listings(SELLER) == {}


def test_feeds_of_one_seller_are_processed_one_at_a_time_in_order(sandbox: SandboxControl, amazon: Amazon,
                                                                  token: str) -> None:
    sandbox.processing(paused=True)
    first = amazon.submit(token, one_message_feed())
    second = amazon.submit(token, one_message_feed(quantity=2))
    assert amazon.feed_status(token, second) == "IN_QUEUE"
    sandbox.processing(paused=False)
    done = [amazon.wait_for_feed(token, f) for f in (first, second)]
    assert done[0]["processingEndTime"] <= done[1]["processingStartTime"]
    assert sandbox.listings(SELLER)["A"]["quantity"] == 2


def test_another_sellers_feed_is_not_found(sandbox: SandboxControl, amazon: Amazon, token: str) -> None:
    feed_id = amazon.submit(token, one_message_feed())
    other = amazon.access_token(sandbox.grant("A2PROSELLERUS02"))
    answer = amazon.call("GET", f"/feeds/2021-06-30/feeds/{feed_id}", other)
    assert answer.status_code == 404 and answer.json()["errors"][0]["code"] == "NotFound"
    assert "x-amzn-RateLimit-Limit" in answer.headers


def test_get_feeds_lists_the_sellers_feeds(amazon: Amazon, token: str, models: Models) -> None:
    feed_id = amazon.submit(token, one_message_feed())
    answer = amazon.call("GET", "/feeds/2021-06-30/feeds", token, params={"feedTypes": "JSON_LISTINGS_FEED"})
    assert answer.status_code == 200
    _validate(models, "getFeeds", 200, answer.json())
    assert [f["feedId"] for f in answer.json()["feeds"]] == [feed_id]
