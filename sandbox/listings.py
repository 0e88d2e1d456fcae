"""Listings as Amazon holds them: attribute JSON, JSON patch semantics, issues, and the Listings Items view.

Both writers use this module, feed messages (``sandbox.processing``) and ``patchListingsItem``
(``sandbox.listings_api``), so a listing changes the same way whichever route a change took.

Patch semantics (FACTS.md §f, §g, §i; developer-docs "Merge a listing" and "Manage purchasable offer"):

- only top-level attributes can be patched: ``/attributes/<name>``;
- ``add`` and ``replace`` set the whole attribute. A ``replace`` of ``purchasable_offer`` with only
  ``our_price`` therefore DELETES the offer's other sub-attributes (``discounted_price``,
  ``minimum_seller_allowed_price``, ``maximum_seller_allowed_price`` …), as it does on Amazon;
- ``merge`` changes, in the instance picked by the attribute's selector fields (``fulfillment_channel_code``
  for ``fulfillment_availability``; ``marketplace_id``, ``currency`` and ``audience`` for
  ``purchasable_offer``), only the sub-attributes sent; the others stay. Selectors must be sent, non-empty.
  An instance no selector matches is added;
- ``delete`` removes the instances its selectors pick, or, when the value names sub-attributes besides the
  selectors, only those sub-attributes.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import math
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.store import Listing, Store, iso, utcnow

US_MARKETPLACE = "ATVPDKIKX0DER"
QUANTITY_ATTRIBUTE = "fulfillment_availability"
OFFER_ATTRIBUTE = "purchasable_offer"
SELECTORS: dict[str, tuple[str, ...]] = {
    OFFER_ATTRIBUTE: ("marketplace_id", "currency", "audience"),
    QUANTITY_ATTRIBUTE: ("fulfillment_channel_code",),
}
#: The offer and availability every listing here has: Amazon.com, USD, every buyer; merchant-fulfilled.
MAIN_OFFER = {"marketplace_id": US_MARKETPLACE, "currency": "USD", "audience": "ALL"}
MAIN_AVAILABILITY = {"fulfillment_channel_code": "DEFAULT"}
#: Offer sub-attributes that hold a price schedule (checked like ``our_price``).
PRICE_SUB_ATTRIBUTES = ("our_price", "discounted_price", "minimum_seller_allowed_price",
                        "maximum_seller_allowed_price")

#: What a write for a SKU Amazon does not hold does, per seller:
#: - ``exists``: the seller's whole catalog is on Amazon; a first write creates the listing (the default);
#: - ``reject``: only listings the sandbox holds exist; others get issue 4000001;
#: - ``create_incomplete``: accepted, and an incomplete offer-only listing appears, not buyable, with an
#:   issue, as developers report Amazon sometimes does (amzn/selling-partner-api-models#4402, #2797).
#: SKUs starting with ``UNKNOWN-`` are never on Amazon, whatever the mode.
UNKNOWN_SKU_MODES = ("exists", "reject", "create_incomplete")
UNKNOWN_SKU_PREFIX = "UNKNOWN-"

#: Issue codes in the style of Amazon's numeric listing issue codes.
SKU_NOT_FOUND = "4000001"
INVALID_VALUE = "4000003"
NOT_SUPPORTED = "4000004"
MISSING_ATTRIBUTES = "90220"


@dataclass(frozen=True)
class Problem:
    """Why a patch cannot be applied: Amazon's issue code, a message, the attribute concerned."""

    code: str
    message: str
    attribute: str | None = None
    category: str = "INVALID_ATTRIBUTE"

    def issue(self) -> dict[str, Any]:
        """Return the ``Issue`` object of the Listings Items model."""
        issue: dict[str, Any] = {"code": self.code, "message": self.message, "severity": "ERROR",
                                 "categories": [self.category]}
        if self.attribute:
            issue["attributeNames"] = [self.attribute]
        return issue


def dollars(cents: int) -> str:
    """Return cents as a 2-decimal string ("19.99"), exactly."""
    return f"{cents // 100}.{cents % 100:02d}"


def money(cents: int) -> float:
    """Return cents as the JSON number Amazon shows (19.99)."""
    return float(Decimal(cents) / 100)


def asin_for(sku: str) -> str:
    """Return a stable, ASIN-shaped identifier for a SKU (the sandbox has no product catalog)."""
    digest = hashlib.sha1(sku.encode(), usedforsecurity=False).digest()
    return "B0" + base64.b32encode(digest)[:8].decode()


def price_cents(value: Any) -> tuple[int | None, str | None]:
    """Return a ``value_with_tax`` number as cents, or why it is not a valid price."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None, "value_with_tax must be a number."
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        return None, "value_with_tax must be a number."
    if price <= 0:
        return None, f"The price {price} must be greater than 0."
    if price != price.quantize(Decimal("0.01")):
        return None, f"The price {price} has more than 2 decimal places."
    return int(price * 100), None


def schedule_price(sub: Any) -> tuple[int | None, str | None]:
    """Return the first schedule's ``value_with_tax`` of a price sub-attribute, in cents."""
    try:
        raw = sub[0]["schedule"][0]["value_with_tax"]
    except (KeyError, IndexError, TypeError):
        return None, "[0].schedule[0].value_with_tax is required."
    return price_cents(raw)


# ---- attributes <-> the compact listing ------------------------------------------------------------------


def attributes_of(listing: Listing) -> dict[str, list[dict[str, Any]]]:
    """Return the listing's attributes as Amazon's JSON (a fresh copy the caller may change)."""
    attributes: dict[str, list[dict[str, Any]]] = copy.deepcopy(listing.attributes_extra or {})
    if listing.price_cents is not None or listing.offer_extra:
        offer: dict[str, Any] = dict(MAIN_OFFER)
        if listing.price_cents is not None:
            offer["our_price"] = [{"schedule": [{"value_with_tax": money(listing.price_cents)}]}]
        offer.update(copy.deepcopy(listing.offer_extra or {}))
        attributes[OFFER_ATTRIBUTE] = [offer, *attributes.get(OFFER_ATTRIBUTE, [])]
    if listing.quantity is not None or listing.availability_extra:
        availability: dict[str, Any] = dict(MAIN_AVAILABILITY)
        if listing.quantity is not None:
            availability["quantity"] = listing.quantity
        availability.update(copy.deepcopy(listing.availability_extra or {}))
        attributes[QUANTITY_ATTRIBUTE] = [availability, *attributes.get(QUANTITY_ATTRIBUTE, [])]
    if listing.item_name and "item_name" not in attributes:
        attributes["item_name"] = [{"value": listing.item_name, "language_tag": "en_US",
                                    "marketplace_id": US_MARKETPLACE}]
    return attributes


def _matches(instance: dict[str, Any], selectors: dict[str, Any]) -> bool:
    return all(instance.get(k) == v for k, v in selectors.items())


def store_attributes(listing: Listing, attributes: dict[str, list[dict[str, Any]]]) -> None:
    """Keep ``attributes`` (already checked) on the listing, in its compact form."""
    rest = {k: list(v) for k, v in attributes.items()}
    offers = rest.pop(OFFER_ATTRIBUTE, [])
    main = next((o for o in offers if _matches(o, MAIN_OFFER)), None)
    listing.price_cents, listing.offer_extra = None, None
    if main is not None:
        offers.remove(main)
        if "our_price" in main:
            listing.price_cents = schedule_price(main["our_price"])[0]
        extra = {k: v for k, v in main.items() if k not in MAIN_OFFER and k != "our_price"}
        listing.offer_extra = extra or None
    availabilities = rest.pop(QUANTITY_ATTRIBUTE, [])
    default = next((a for a in availabilities if _matches(a, MAIN_AVAILABILITY)), None)
    listing.quantity, listing.availability_extra = None, None
    if default is not None:
        availabilities.remove(default)
        listing.quantity = default.get("quantity")
        extra = {k: v for k, v in default.items() if k not in MAIN_AVAILABILITY and k != "quantity"}
        listing.availability_extra = extra or None
    names = rest.pop("item_name", None)
    if names and isinstance(names[0], dict) and isinstance(names[0].get("value"), str):
        listing.item_name = names[0]["value"]
    if offers:
        rest[OFFER_ATTRIBUTE] = offers
    if availabilities:
        rest[QUANTITY_ATTRIBUTE] = availabilities
    listing.attributes_extra = rest or None


# ---- JSON patch ------------------------------------------------------------------------------------------


def _selectors_of(name: str, entry: dict[str, Any]) -> dict[str, Any] | None:
    """Return the selector values of ``entry``, or None when one is missing or empty."""
    keys = SELECTORS.get(name, ("marketplace_id",))
    found = {k: entry.get(k) for k in keys if k in entry}
    if name in SELECTORS and (len(found) != len(keys) or any(v in (None, "") for v in found.values())):
        return None
    return found


def apply_patches(attributes: dict[str, list[dict[str, Any]]],
                  patches: list[dict[str, Any]]) -> list[Problem]:
    """Apply JSON patches to ``attributes`` in place; return the problems (nothing is applied then)."""
    problems: list[Problem] = []
    for patch in patches:
        op, path, value = patch.get("op"), str(patch.get("path") or ""), patch.get("value")
        parts = path.split("/")
        if len(parts) != 3 or parts[0] != "" or parts[1] != "attributes" or not parts[2]:
            problems.append(Problem(NOT_SUPPORTED, f"The path {path!r} is not a top-level attribute: only "
                                    "top-level listings item attributes can be patched.",
                                    parts[-1] or None, "INVALID_ATTRIBUTE"))
            continue
        name = parts[2]
        if op in ("add", "replace"):
            if not isinstance(value, list) or not value:
                problems.append(Problem(INVALID_VALUE, f"{op} of {name} needs a value.", name))
                continue
            attributes[name] = copy.deepcopy(value)
        elif op == "merge":
            problem = _merge(attributes, name, value)
            if problem:
                problems.append(problem)
        elif op == "delete":
            _delete(attributes, name, value)
        else:
            problems.append(Problem(NOT_SUPPORTED, f"The patch operation {op!r} is not supported.", name))
    return problems


def _merge(attributes: dict[str, list[dict[str, Any]]], name: str, value: Any) -> Problem | None:
    if not isinstance(value, list) or not value:
        return Problem(INVALID_VALUE, f"merge of {name} needs a value.", name)
    current = attributes.setdefault(name, [])
    for entry in value:
        selectors = _selectors_of(name, entry) if isinstance(entry, dict) else None
        if selectors is None:
            keys = ", ".join(SELECTORS.get(name, ("marketplace_id",)))
            return Problem(INVALID_VALUE, f"merge of {name} needs non-empty values for its selector fields "
                           f"({keys}).", name)
        target = next((i for i in current if _matches(i, selectors)), None)
        if target is None:
            current.append(copy.deepcopy(entry))
            continue
        for key, sub in entry.items():
            if sub is None:
                target.pop(key, None)  # how merge deletes a sub-attribute (quantity_discount_plan)
            else:
                target[key] = copy.deepcopy(sub)
    return None


def _delete(attributes: dict[str, list[dict[str, Any]]], name: str, value: Any) -> None:
    if name not in attributes:
        return
    if not isinstance(value, list) or not value:
        del attributes[name]
        return
    for entry in value:
        if not isinstance(entry, dict):
            continue
        selectors = _selectors_of(name, entry) or {}
        named = [k for k in entry if k not in selectors]
        kept = []
        for instance in attributes[name]:
            if not _matches(instance, selectors):
                kept.append(instance)
            elif named:
                kept.append({k: v for k, v in instance.items() if k not in named})
        attributes[name] = kept
    if not attributes[name]:
        del attributes[name]


def check_attributes(attributes: dict[str, list[dict[str, Any]]]) -> list[Problem]:
    """Check the attributes a patch would leave, as Amazon's product type schema would."""
    problems = []
    for entry in attributes.get(QUANTITY_ATTRIBUTE, []):
        if not isinstance(entry, dict) or not entry.get("fulfillment_channel_code"):
            problems.append(Problem(INVALID_VALUE, "fulfillment_availability needs a "
                                    "fulfillment_channel_code.", QUANTITY_ATTRIBUTE))
            continue
        if "quantity" in entry:
            quantity = entry["quantity"]
            if isinstance(quantity, bool) or not isinstance(quantity, int):
                problems.append(Problem(INVALID_VALUE, "The quantity must be a whole number.",
                                        QUANTITY_ATTRIBUTE))
            elif quantity < 0:
                problems.append(Problem(INVALID_VALUE, f"The quantity {quantity} is negative; it must be "
                                        "0 or more.", QUANTITY_ATTRIBUTE))
    for offer in attributes.get(OFFER_ATTRIBUTE, []):
        if not isinstance(offer, dict) or _selectors_of(OFFER_ATTRIBUTE, offer) is None:
            problems.append(Problem(INVALID_VALUE, "Each purchasable_offer needs marketplace_id, currency "
                                    "and audience.", OFFER_ATTRIBUTE))
            continue
        if offer["marketplace_id"] == US_MARKETPLACE and offer["currency"] != "USD":
            problems.append(Problem(INVALID_VALUE, f"The currency {offer['currency']!r} is not valid for "
                                    "Amazon.com; use USD.", OFFER_ATTRIBUTE, "INVALID_PRICE"))
        for sub in PRICE_SUB_ATTRIBUTES:
            if sub in offer:
                message = schedule_price(offer[sub])[1]
                if message:
                    problems.append(Problem(INVALID_VALUE, f"{sub}{message}" if message.startswith("[")
                                            else f"{sub}: {message}", OFFER_ATTRIBUTE, "INVALID_PRICE"))
    return problems


# ---- the Listings Items API's view -----------------------------------------------------------------------


def has_error(listing: Listing) -> bool:
    """Return whether Amazon shows an ERROR issue on the listing."""
    return any(i.get("severity") == "ERROR" for i in listing.issues or ())


def status_of(listing: Listing) -> list[str]:
    """Return ``summaries[].status``: DISCOVERABLE with a price and no error, BUYABLE with stock too."""
    if listing.incomplete or listing.price_cents is None or has_error(listing):
        return []
    if (listing.quantity or 0) > 0:
        return ["BUYABLE", "DISCOVERABLE"]
    return ["DISCOVERABLE"]


def item_json(sku: str, listing: Listing, included: set[str]) -> dict[str, Any]:
    """Return the ``Item`` object of the Listings Items model with the ``includedData`` asked for."""
    item: dict[str, Any] = {"sku": sku}
    if "summaries" in included:
        summary: dict[str, Any] = {"marketplaceId": US_MARKETPLACE, "productType": "PRODUCT",
                                   "conditionType": "new_new", "status": status_of(listing),
                                   "createdDate": iso(listing.created_at or listing.updated_at),
                                   "lastUpdatedDate": iso(listing.updated_at or listing.created_at)}
        asin = asin_of(sku, listing)
        if asin:
            summary["asin"] = asin
        if listing.item_name:
            summary["itemName"] = listing.item_name
        item["summaries"] = [summary]
    if "attributes" in included:
        item["attributes"] = attributes_of(listing)
    if "issues" in included:
        item["issues"] = [dict(i) for i in listing.issues or ()]
    if "offers" in included:
        item["offers"] = [] if listing.price_cents is None else [{
            "marketplaceId": US_MARKETPLACE, "offerType": "B2C",
            "price": {"currencyCode": "USD", "amount": dollars(listing.price_cents)},
            "audience": {"value": "ALL", "displayName": "Sell on Amazon"}}]
    if "fulfillmentAvailability" in included:
        item["fulfillmentAvailability"] = [] if listing.quantity is None else [
            {"fulfillmentChannelCode": "DEFAULT", "quantity": listing.quantity}]
    if "productTypes" in included:
        item["productTypes"] = [{"marketplaceId": US_MARKETPLACE, "productType": "PRODUCT"}]
    if "relationships" in included:
        item["relationships"] = [{"marketplaceId": US_MARKETPLACE, "relationships": []}]
    if "procurement" in included:
        item["procurement"] = []  # vendor listings only
    return item


def new_listing(sku: str, now: datetime, *, incomplete: bool = False) -> Listing:
    """Return a listing Amazon just created for ``sku`` (its ASIN is derived from the SKU when asked)."""
    return Listing(created_at=now, updated_at=now, incomplete=incomplete)


def asin_of(sku: str, listing: Listing) -> str | None:
    """Return the listing's ASIN: the seeded one, else one derived from the SKU; none when incomplete."""
    if listing.asin:
        return listing.asin
    return None if listing.incomplete else asin_for(sku)


def incomplete_issue() -> dict[str, Any]:
    """Return the issue an offer-only listing for a SKU Amazon did not know carries."""
    return Problem(MISSING_ATTRIBUTES, "The listing is incomplete: it has an offer but no product details "
                   "(item_name, brand, product identifiers). Complete it in Seller Central.",
                   "item_name", "MISSING_ATTRIBUTE").issue()


# ---- writes (the caller holds the store's lock) ----------------------------------------------------------


def write(store: Store, seller_id: str, sku: str, patches: list[dict[str, Any]], *, now: datetime,
          source: str, feed_id: str | None = None, preview: bool = False) -> tuple[list[Problem], bool]:
    """Apply a PATCH to the seller's listing for ``sku``; return its problems and whether it was applied.

    A SKU Amazon does not hold is handled as the seller's unknown-SKU mode says. With ``preview``
    (``mode=VALIDATION_PREVIEW``) everything is checked and nothing changes.
    """
    refusal = store.refusals.get((seller_id, sku))
    if refusal is not None and refusal[2] != 0:
        # A write Amazon refuses for this SKU (set by a test): its issue, as a processing report gives it.
        if not preview and refusal[2] > 0:
            refusal[2] -= 1
        return [Problem(str(refusal[0]), str(refusal[1]), None, "INVALID_ATTRIBUTE")], False
    listings = store.listings.setdefault(seller_id, {})
    listing = listings.get(sku)
    incomplete = False
    if listing is None:
        mode = store.unknown_sku_mode.get(seller_id, "exists")
        if mode == "reject" or (mode == "exists" and sku.startswith(UNKNOWN_SKU_PREFIX)):
            return [Problem(SKU_NOT_FOUND, "The SKU is not in your Amazon catalog", None,
                            "MISSING_ATTRIBUTE")], False
        incomplete = mode == "create_incomplete"
    base = listing if listing is not None else new_listing(sku, now, incomplete=incomplete)
    fast = _standard_changes(patches)
    attributes: dict[str, list[dict[str, Any]]] = {}
    if fast is not None:
        problems, changes = fast
    else:
        attributes = attributes_of(base)
        problems = apply_patches(attributes, patches) or check_attributes(attributes)
    if problems or preview:
        return problems, False
    quantity_before = listing.quantity if listing is not None else None
    if listing is None:
        listing = listings[sku] = base
        if incomplete:
            listing.issues = [incomplete_issue()]
    if fast is not None:
        _apply_standard(listing, changes)
    else:
        store_attributes(listing, attributes)
    listing.updated_at, listing.feed_id, listing.source = now, feed_id, source
    if listing.quantity != quantity_before:
        store.quantity_changes.append((seller_id, sku, listing.quantity, time.time(), source))
    for delay, issue, touch in store.armed_issues.pop((seller_id, sku), []):
        store.pending_issues.append((time.monotonic() + delay / max(store.time_scale, 1e-9), seller_id, sku,
                                     issue, touch))
    return [], True


#: The two patches the sync sends (FACTS.md §f), recognised without building the attribute JSON: a feed of
#: 25,000 messages is applied in well under a second instead of many (same semantics as the general path).
_STANDARD_QUANTITY = frozenset({"fulfillment_channel_code", "quantity"})
_STANDARD_OFFER = frozenset({*MAIN_OFFER, "our_price"})


Changes = dict[str, tuple[str, Any]]


def _standard_changes(patches: list[dict[str, Any]]) -> tuple[list[Problem], Changes] | None:
    """Return the problems and changes of quantity/price patches in the sync's exact shapes, else None."""
    problems: list[Problem] = []
    changes: Changes = {}
    for patch in patches:
        op, path, value = patch.get("op"), patch.get("path"), patch.get("value")
        if op not in ("merge", "replace") or not isinstance(value, list) or len(value) != 1 \
                or not isinstance(value[0], dict):
            return None
        entry = value[0]
        if path == "/attributes/fulfillment_availability" and entry.keys() == _STANDARD_QUANTITY \
                and entry["fulfillment_channel_code"] == "DEFAULT":
            quantity = entry["quantity"]
            if isinstance(quantity, bool) or not isinstance(quantity, int):
                problems.append(Problem(INVALID_VALUE, "The quantity must be a whole number.",
                                        QUANTITY_ATTRIBUTE))
            elif quantity < 0:
                problems.append(Problem(INVALID_VALUE, f"The quantity {quantity} is negative; it must be "
                                        "0 or more.", QUANTITY_ATTRIBUTE))
            changes[QUANTITY_ATTRIBUTE] = (str(op), quantity)
        elif path == "/attributes/purchasable_offer" and entry.keys() == _STANDARD_OFFER \
                and all(entry[k] == v for k, v in MAIN_OFFER.items()):
            cents, message = schedule_price(entry["our_price"])
            if message:
                problems.append(Problem(INVALID_VALUE, f"our_price{message}" if message.startswith("[")
                                        else f"our_price: {message}", OFFER_ATTRIBUTE, "INVALID_PRICE"))
            changes[OFFER_ATTRIBUTE] = (str(op), cents)
        else:
            return None
    return problems, changes


def _apply_standard(listing: Listing, changes: Changes) -> None:
    """Apply recognised quantity/price patches: a replace drops what it does not send, a merge keeps it."""
    extra = listing.attributes_extra
    if QUANTITY_ATTRIBUTE in changes:
        op, listing.quantity = changes[QUANTITY_ATTRIBUTE]
        if op == "replace":
            listing.availability_extra = None
            if extra:
                extra.pop(QUANTITY_ATTRIBUTE, None)
    if OFFER_ATTRIBUTE in changes:
        op, listing.price_cents = changes[OFFER_ATTRIBUTE]
        if op == "replace":
            listing.offer_extra = None
            if extra:
                extra.pop(OFFER_ATTRIBUTE, None)
    if extra is not None and not extra:
        listing.attributes_extra = None


def promote_issues(store: Store) -> None:
    """Show the asynchronous issues whose time has come (the caller holds the lock)."""
    if not store.pending_issues:
        return
    now = time.monotonic()
    due: list[tuple[float, str, str, dict[str, Any], bool]] = []
    waiting: list[tuple[float, str, str, dict[str, Any], bool]] = []
    for entry in store.pending_issues:
        (due if entry[0] <= now else waiting).append(entry)
    store.pending_issues = waiting
    for _, seller_id, sku, issue, touch in sorted(due, key=lambda e: e[0]):
        listing = store.listings.get(seller_id, {}).get(sku)
        if listing is None:
            continue
        listing.issues = [*(listing.issues or []), issue]
        if touch:
            # Amazon's asynchronous validation changes the listing (its status, its issues); the sandbox
            # moves lastUpdatedDate with it so that an incremental search finds the change.
            listing.updated_at = utcnow()
