"""The sandbox's JSON patch semantics on listing attributes (what Amazon documents for each op)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from sandbox.listings import (
    MAIN_OFFER,
    _apply_standard,
    _standard_changes,
    apply_patches,
    attributes_of,
    check_attributes,
    store_attributes,
)
from sandbox.store import Listing

NOW = datetime(2026, 11, 30, tzinfo=UTC)
B2B = {"marketplace_id": "ATVPDKIKX0DER", "currency": "USD", "audience": "B2B",
       "our_price": [{"schedule": [{"value_with_tax": 18.0}]}]}


def _listing() -> Listing:
    listing = Listing(created_at=NOW, updated_at=NOW)
    store_attributes(listing, {
        "purchasable_offer": [
            {**MAIN_OFFER, "our_price": [{"schedule": [{"value_with_tax": 19.99}]}],
             "discounted_price": [{"schedule": [{"value_with_tax": 14.99}]}],
             "minimum_seller_allowed_price": [{"schedule": [{"value_with_tax": 10.0}]}]},
            B2B],
        "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 4,
                                      "lead_time_to_ship_max_days": 3}],
        "item_name": [{"value": "Trail tent", "language_tag": "en_US", "marketplace_id": "ATVPDKIKX0DER"}],
    })
    return listing


def _price(op: str, value: float) -> dict[str, Any]:
    return {"op": op, "path": "/attributes/purchasable_offer",
            "value": [{**MAIN_OFFER, "our_price": [{"schedule": [{"value_with_tax": value}]}]}]}


def _quantity(op: str, value: Any) -> dict[str, Any]:
    return {"op": op, "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": value}]}


def test_the_compact_listing_round_trips_its_attributes() -> None:
    listing = _listing()
    assert (listing.price_cents, listing.quantity, listing.item_name) == (1999, 4, "Trail tent")
    again = Listing()
    store_attributes(again, attributes_of(listing))
    assert attributes_of(again) == attributes_of(listing)


@pytest.mark.parametrize("patches", [
    [_price("merge", 21.5)], [_price("replace", 21.5)], [_quantity("merge", 0)], [_quantity("replace", 9)],
    [_quantity("merge", 2), _price("replace", 5.0)],
])
def test_the_fast_path_for_the_syncs_patches_matches_the_general_path(patches: list[dict[str, Any]]) -> None:
    general, fast = _listing(), _listing()
    attributes = attributes_of(general)
    assert apply_patches(attributes, copy.deepcopy(patches)) == [] and check_attributes(attributes) == []
    store_attributes(general, attributes)
    found = _standard_changes(patches)
    assert found is not None and found[0] == []
    _apply_standard(fast, found[1])
    assert attributes_of(fast) == attributes_of(general)


def test_replace_drops_every_sub_attribute_and_offer_it_does_not_send() -> None:
    attributes = attributes_of(_listing())
    apply_patches(attributes, [_price("replace", 21.5)])
    assert attributes["purchasable_offer"] == [{**MAIN_OFFER,
                                                "our_price": [{"schedule": [{"value_with_tax": 21.5}]}]}]


def test_merge_changes_only_the_selected_offer_and_the_sub_attributes_sent() -> None:
    attributes = attributes_of(_listing())
    apply_patches(attributes, [_price("merge", 21.5)])
    offers = {o["audience"]: o for o in attributes["purchasable_offer"]}
    assert offers["ALL"]["our_price"] == [{"schedule": [{"value_with_tax": 21.5}]}]
    assert offers["ALL"]["discounted_price"] == [{"schedule": [{"value_with_tax": 14.99}]}]
    assert offers["B2B"] == B2B


def test_merge_with_a_null_sub_attribute_deletes_it() -> None:
    attributes = attributes_of(_listing())
    apply_patches(attributes, [{"op": "merge", "path": "/attributes/purchasable_offer",
                                "value": [{**MAIN_OFFER, "discounted_price": None}]}])
    assert "discounted_price" not in attributes["purchasable_offer"][0]
    assert "minimum_seller_allowed_price" in attributes["purchasable_offer"][0]


def test_delete_removes_named_sub_attributes_or_whole_instances() -> None:
    attributes = attributes_of(_listing())
    apply_patches(attributes, [{"op": "delete", "path": "/attributes/purchasable_offer",
                                "value": [{**MAIN_OFFER, "minimum_seller_allowed_price": []}]}])
    assert "minimum_seller_allowed_price" not in attributes["purchasable_offer"][0]
    apply_patches(attributes, [{"op": "delete", "path": "/attributes/purchasable_offer",
                                "value": [{k: B2B[k] for k in ("marketplace_id", "currency", "audience")}]}])
    assert [o["audience"] for o in attributes["purchasable_offer"]] == ["ALL"]


def test_merge_without_selectors_and_nested_paths_are_problems() -> None:
    attributes = attributes_of(_listing())
    problems = apply_patches(attributes, [
        {"op": "merge", "path": "/attributes/fulfillment_availability", "value": [{"quantity": 1}]},
        {"op": "replace", "path": "/attributes/purchasable_offer/0/our_price", "value": [{}]},
    ])
    assert [p.code for p in problems] == ["4000003", "4000004"]


def test_bad_values_are_found_by_both_paths_alike() -> None:
    patches = [_quantity("merge", -1), _price("merge", 1.234)]
    attributes = attributes_of(_listing())
    general = apply_patches(attributes, patches) or check_attributes(attributes)
    fast = _standard_changes(patches)
    assert fast is not None
    assert [(p.code, p.message, p.attribute) for p in fast[0]] == \
        [(p.code, p.message, p.attribute) for p in general]
