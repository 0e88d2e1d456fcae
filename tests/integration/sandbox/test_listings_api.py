"""Listings Items API 2021-08-01 over real HTTP: search limits, patch semantics, previews, faults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fixtures.sandbox import SandboxControl
from tests.fixtures.services import wait_until
from tests.integration.sandbox.conftest import SELLER, US, Amazon, feed_document, quantity_message

ITEMS = f"/listings/2021-08-01/items/{SELLER}"
OFFER = {"marketplace_id": US, "currency": "USD", "audience": "ALL"}


def _search(amazon: Amazon, token: str, **params: Any) -> Any:
    answer = amazon.call("GET", ITEMS, token, params={"marketplaceIds": US, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _patch(amazon: Amazon, token: str, sku: str, patches: list[dict[str, Any]], **params: Any) -> Any:
    return amazon.call("PATCH", f"{ITEMS}/{sku}", token, params={"marketplaceIds": US, **params},
                       json={"productType": "PRODUCT", "patches": patches})


def _price_patch(op: str, price: float) -> dict[str, Any]:
    return {"op": op, "path": "/attributes/purchasable_offer",
            "value": [{**OFFER, "our_price": [{"schedule": [{"value_with_tax": price}]}]}]}


SALE = {"sku": "TENT-1", "quantity": 7, "price": "199.99", "discounted_price": "149.99",
        "minimum_price": "120.00", "maximum_price": "250.00"}


def test_a_search_pages_through_at_most_1000_items(sandbox: SandboxControl, amazon: Amazon,
                                                   token: str) -> None:
    sandbox.generate_listings(SELLER, 1_050, prefix="BULK-")
    first = _search(amazon, token, pageSize=20)
    assert first["numberOfResults"] == 1_050 and len(first["items"]) == 20
    seen, page = [i["sku"] for i in first["items"]], first
    while "nextToken" in page.get("pagination", {}):
        page = _search(amazon, token, pageSize=20, pageToken=page["pagination"]["nextToken"])
        seen += [i["sku"] for i in page["items"]]
    assert len(seen) == 1_000 and len(set(seen)) == 1_000


def test_a_page_token_only_continues_its_own_search(sandbox: SandboxControl, amazon: Amazon,
                                                    token: str) -> None:
    sandbox.generate_listings(SELLER, 30, prefix="BULK-")
    next_token = _search(amazon, token, pageSize=20)["pagination"]["nextToken"]
    other = amazon.call("GET", ITEMS, token, params={"marketplaceIds": US, "pageToken": next_token,
                                                     "sortBy": "sku"})
    assert other.status_code == 400
    assert other.json()["errors"][0]["code"] == "InvalidInput"


def test_page_size_over_20_and_21_identifiers_break_the_model(sandbox: SandboxControl, amazon: Amazon,
                                                               token: str) -> None:
    too_big = amazon.call("GET", ITEMS, token, params={"marketplaceIds": US, "pageSize": 21})
    skus = ",".join(f"S{i}" for i in range(21))
    too_many = amazon.call("GET", ITEMS, token, params={"marketplaceIds": US, "identifiers": skus,
                                                        "identifiersType": "SKU"})
    assert (too_big.status_code, too_many.status_code) == (400, 400)
    assert len(sandbox.violations()) == 2
    sandbox.clear_violations()


def test_identifiers_look_up_known_skus_only(sandbox: SandboxControl, amazon: Amazon, token: str) -> None:
    sandbox.seed_listings(SELLER, [SALE, {"sku": "LAMP-2", "quantity": 0, "price": "12.00"}])
    found = _search(amazon, token, identifiers="TENT-1,NOPE-9,LAMP-2", identifiersType="SKU",
                    includedData="summaries,offers,fulfillmentAvailability,issues")
    assert found["numberOfResults"] == 2
    items = {i["sku"]: i for i in found["items"]}
    assert items["TENT-1"]["fulfillmentAvailability"] == [
        {"fulfillmentChannelCode": "DEFAULT", "quantity": 7}]
    assert items["TENT-1"]["offers"][0]["price"] == {"currencyCode": "USD", "amount": "199.99"}
    assert items["TENT-1"]["summaries"][0]["status"] == ["BUYABLE", "DISCOVERABLE"]
    assert items["LAMP-2"]["summaries"][0]["status"] == ["DISCOVERABLE"]
    assert items["LAMP-2"]["issues"] == []


def test_last_updated_filters_and_sort_order(sandbox: SandboxControl, amazon: Amazon, token: str) -> None:
    base = datetime(2026, 11, 1, tzinfo=UTC)
    sandbox.seed_listings(SELLER, [{"sku": f"S{i}", "quantity": 1, "price": "5.00",
                                    "updated_at": (base + timedelta(hours=i)).isoformat()} for i in range(6)])
    window = _search(amazon, token, lastUpdatedAfter="2026-11-01T02:00:00.000Z",
                     lastUpdatedBefore="2026-11-01T04:00:00Z", sortOrder="ASC")
    assert [i["sku"] for i in window["items"]] == ["S2", "S3", "S4"]
    newest = _search(amazon, token, pageSize=2)
    assert [i["sku"] for i in newest["items"]] == ["S5", "S4"]
    assert newest["items"][0]["summaries"][0]["lastUpdatedDate"] == "2026-11-01T05:00:00.000Z"


def test_a_token_of_another_seller_gets_403_on_the_sellers_path(sandbox: SandboxControl, amazon: Amazon,
                                                                token: str) -> None:
    other = amazon.access_token(sandbox.grant("A2PROSELLERUS02"))
    answer = amazon.call("GET", ITEMS, other, params={"marketplaceIds": US, "pageSize": 1})
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["code"] == "Unauthorized"
    own = amazon.call("GET", ITEMS, token, params={"marketplaceIds": US, "pageSize": 1})
    assert own.status_code == 200


def test_replacing_the_offer_with_only_our_price_deletes_the_sale_and_limits(
        sandbox: SandboxControl, amazon: Amazon, token: str) -> None:
    sandbox.seed_listings(SELLER, [SALE])
    answer = _patch(amazon, token, "TENT-1", [_price_patch("replace", 189.99)])
    assert answer.status_code == 200 and answer.json()["status"] == "ACCEPTED"
    offer = sandbox.offer(SELLER, "TENT-1")
    assert offer["our_price"] == [{"schedule": [{"value_with_tax": 189.99}]}]
    assert "discounted_price" not in offer and "minimum_seller_allowed_price" not in offer
    assert "maximum_seller_allowed_price" not in offer


def test_merging_our_price_keeps_the_sale_and_limits(sandbox: SandboxControl, amazon: Amazon,
                                                     token: str) -> None:
    sandbox.seed_listings(SELLER, [SALE])
    answer = _patch(amazon, token, "TENT-1", [_price_patch("merge", 189.99)])
    assert answer.json()["status"] == "ACCEPTED"
    offer = sandbox.offer(SELLER, "TENT-1")
    assert offer["our_price"] == [{"schedule": [{"value_with_tax": 189.99}]}]
    assert offer["discounted_price"] == [{"schedule": [{"value_with_tax": 149.99}]}]
    assert offer["minimum_seller_allowed_price"] == [{"schedule": [{"value_with_tax": 120.0}]}]
    assert offer["maximum_seller_allowed_price"] == [{"schedule": [{"value_with_tax": 250.0}]}]


def test_merge_needs_the_selectors_and_nested_paths_are_refused(sandbox: SandboxControl, amazon: Amazon,
                                                                token: str) -> None:
    sandbox.seed_listings(SELLER, [SALE])
    no_selector = _patch(amazon, token, "TENT-1", [{"op": "merge", "path": "/attributes/purchasable_offer",
                                                    "value": [{"our_price": [{"schedule": [
                                                        {"value_with_tax": 1.0}]}]}]}]).json()
    nested = _patch(amazon, token, "TENT-1", [{"op": "replace",
                                               "path": "/attributes/purchasable_offer/0/our_price",
                                               "value": [{"schedule": [{"value_with_tax": 1.0}]}]}]).json()
    assert no_selector["status"] == nested["status"] == "INVALID"
    assert no_selector["issues"][0]["severity"] == "ERROR"
    assert sandbox.listing(SELLER, "TENT-1")["offers"][0]["price"]["amount"] == "199.99"


def test_a_validation_preview_is_recorded_and_changes_nothing(sandbox: SandboxControl, amazon: Amazon,
                                                              token: str) -> None:
    sandbox.seed_listings(SELLER, [SALE])
    before = sandbox.listing(SELLER, "TENT-1")
    quantity = {"op": "merge", "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}]}
    valid = _patch(amazon, token, "TENT-1", [quantity], mode="VALIDATION_PREVIEW").json()
    invalid = _patch(amazon, token, "TENT-1", [_price_patch("merge", 1.234)],
                     mode="VALIDATION_PREVIEW").json()
    assert valid["status"] == "VALID" and valid["issues"] == []
    assert invalid["status"] == "INVALID" and invalid["issues"][0]["attributeNames"] == ["purchasable_offer"]
    assert sandbox.listing(SELLER, "TENT-1") == before
    assert sandbox.listing_submissions() == [(SELLER, "TENT-1", "VALIDATION_PREVIEW", "VALID"),
                                             (SELLER, "TENT-1", "VALIDATION_PREVIEW", "INVALID")]


def test_patches_are_limited_to_five_a_second_with_amazons_429(sandbox: SandboxControl, amazon: Amazon,
                                                               token: str) -> None:
    sandbox.set_time_scale(1)
    sandbox.seed_listings(SELLER, [SALE])
    quantity = {"op": "merge", "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}]}
    answers = [_patch(amazon, token, "TENT-1", [quantity]) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert answers[0].headers["x-amzn-RateLimit-Limit"] == "5"
    assert "x-amzn-RateLimit-Limit" not in answers[5].headers and answers[5].headers["x-amzn-RequestId"]
    assert answers[5].json()["errors"][0]["code"] == "QuotaExceeded"


def test_a_feed_updates_the_same_listing_and_its_last_updated_date(sandbox: SandboxControl, amazon: Amazon,
                                                                   token: str) -> None:
    sandbox.seed_listings(SELLER, [{**SALE, "updated_at": "2026-11-01T00:00:00Z"}])
    feed = amazon.wait_for_feed(token, amazon.submit(token, feed_document(SELLER, [
        quantity_message(1, "TENT-1", 0)])))
    assert feed["processingStatus"] == "DONE"
    item = sandbox.listing(SELLER, "TENT-1")
    assert item["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "DEFAULT", "quantity": 0}]
    assert item["summaries"][0]["lastUpdatedDate"] > "2026-11-02"
    assert item["summaries"][0]["status"] == ["DISCOVERABLE"]
    assert sandbox.offer(SELLER, "TENT-1")["discounted_price"] == [{"schedule": [{"value_with_tax": 149.99}]}]


def test_an_external_edit_changes_the_listing_outside_ecommerce(sandbox: SandboxControl, amazon: Amazon,
                                                                token: str) -> None:
    sandbox.seed_listings(SELLER, [{**SALE, "updated_at": "2026-11-01T00:00:00Z"}])
    sandbox.external_edit(SELLER, "TENT-1", quantity=2, price="179.00", discounted_price=None)
    found = _search(amazon, token, lastUpdatedAfter="2026-11-02T00:00:00Z",
                    includedData="offers,fulfillmentAvailability,attributes")
    assert [i["sku"] for i in found["items"]] == ["TENT-1"]
    item = found["items"][0]
    assert item["offers"][0]["price"]["amount"] == "179.00"
    assert item["fulfillmentAvailability"][0]["quantity"] == 2
    assert "discounted_price" not in item["attributes"]["purchasable_offer"][0]


def test_an_accepted_sku_gets_an_asynchronous_error_later(sandbox: SandboxControl, amazon: Amazon,
                                                          token: str) -> None:
    sandbox.seed_listings(SELLER, [SALE])
    sandbox.async_issue(SELLER, "TENT-1", code="8541", message="Price outside the allowed range.",
                        delay=2.0)
    answer = _patch(amazon, token, "TENT-1", [_price_patch("merge", 99.0)]).json()
    assert answer["status"] == "ACCEPTED" and answer["issues"] == []

    def _issues() -> Any:
        found = _search(amazon, token, withIssueSeverity="ERROR", includedData="issues,summaries")
        return found["items"] or None

    items = wait_until(_issues, timeout=10, message="the asynchronous issue")
    assert items[0]["issues"][0]["code"] == "8541"
    assert items[0]["summaries"][0]["status"] == []


@pytest.mark.parametrize("route", ["patch", "feed"])
def test_unknown_skus_are_rejected_in_reject_mode(sandbox: SandboxControl, amazon: Amazon, token: str,
                                                  route: str) -> None:
    sandbox.set_unknown_sku_mode(SELLER, "reject")
    if route == "patch":
        answer = _patch(amazon, token, "NEW-1", [_price_patch("merge", 10.0)]).json()
        assert answer["status"] == "INVALID" and answer["issues"][0]["code"] == "4000001"
    else:
        feed = amazon.wait_for_feed(token, amazon.submit(token, feed_document(SELLER, [
            quantity_message(1, "NEW-1", 3)])))
        report = amazon.report(token, feed["resultFeedDocumentId"])
        assert report["issues"][0]["code"] == "4000001"
    assert sandbox.listing(SELLER, "NEW-1") is None


@pytest.mark.parametrize("route", ["patch", "feed"])
def test_unknown_skus_become_incomplete_listings_in_create_incomplete_mode(
        sandbox: SandboxControl, amazon: Amazon, token: str, route: str) -> None:
    sandbox.set_unknown_sku_mode(SELLER, "create_incomplete")
    if route == "patch":
        answer = _patch(amazon, token, "NEW-1", [_price_patch("merge", 10.0)]).json()
        assert answer["status"] == "ACCEPTED"
    else:
        feed = amazon.wait_for_feed(token, amazon.submit(token, feed_document(SELLER, [
            quantity_message(1, "NEW-1", 3)])))
        assert amazon.report(token, feed["resultFeedDocumentId"])["summary"]["messagesAccepted"] == 1
    item = sandbox.listing(SELLER, "NEW-1")
    assert item is not None and item["incomplete"]
    assert item["summaries"][0]["status"] == [] and "asin" not in item["summaries"][0]
    assert item["issues"][0]["categories"] == ["MISSING_ATTRIBUTE"]


def test_get_listings_item_answers_404_for_an_unknown_sku(sandbox: SandboxControl, amazon: Amazon,
                                                          token: str) -> None:
    sandbox.seed_listings(SELLER, [{**SALE, "sku": "A/B 1"}])
    found = amazon.call("GET", f"{ITEMS}/A%2FB%201", token,
                        params={"marketplaceIds": US, "includedData": "attributes,issues"})
    missing = amazon.call("GET", f"{ITEMS}/NOPE", token, params={"marketplaceIds": US})
    assert found.status_code == 200 and found.json()["sku"] == "A/B 1"
    assert found.json()["attributes"]["fulfillment_availability"][0]["quantity"] == 7
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "NotFound"


def test_status_and_created_filters(sandbox: SandboxControl, amazon: Amazon, token: str) -> None:
    sandbox.seed_listings(SELLER, [
        {"sku": "IN-STOCK", "quantity": 2, "price": "5.00", "created_at": "2026-10-01T00:00:00Z"},
        {"sku": "SOLD-OUT", "quantity": 0, "price": "5.00", "created_at": "2026-11-01T00:00:00Z"},
        {"sku": "NO-PRICE", "quantity": 4, "created_at": "2026-11-02T00:00:00Z"},
    ])
    buyable = _search(amazon, token, withStatus="BUYABLE")
    not_buyable = _search(amazon, token, withoutStatus="BUYABLE", sortBy="sku", sortOrder="ASC")
    recent = _search(amazon, token, createdAfter="2026-10-15T00:00:00Z", sortBy="createdDate",
                     sortOrder="ASC")
    assert [i["sku"] for i in buyable["items"]] == ["IN-STOCK"]
    assert [i["sku"] for i in not_buyable["items"]] == ["NO-PRICE", "SOLD-OUT"]
    assert [i["sku"] for i in recent["items"]] == ["SOLD-OUT", "NO-PRICE"]
