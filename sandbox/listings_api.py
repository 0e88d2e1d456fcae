"""Listings Items API 2021-08-01: getListingsItem, searchListingsItems, patchListingsItem.

Requests go through ``sandbox.spapi._handle`` like every SP-API operation: the access token (403, also when
the path's ``sellerId`` is another seller's), injected faults, the usage plan (429; validation previews also
count against 20 rps per application), model validation (400), then the view. A search pages through at most
1,000 items, as the model's ``numberOfResults`` says.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

from flask import Blueprint, request

from sandbox import get_store
from sandbox.listings import US_MARKETPLACE, asin_of, item_json, promote_issues, status_of, write
from sandbox.sellers import SELLERS
from sandbox.spapi import _invalid, _not_found, operation, parse_datetime
from sandbox.store import Listing, Store, utcnow

bp = Blueprint("listings_api", __name__)

ITEMS = "/listings/2021-08-01/items"
#: "The maximum number of items (SKUs) that can be returned and paged through is 1000."
SEARCH_CAP = 1000
DEFAULT_PAGE_SIZE = 10
MAX_IDENTIFIERS = 20


def _csv(name: str, default: str = "") -> list[str]:
    return [v for v in request.args.get(name, default).split(",") if v]


def _marketplace_problem(seller_id: str) -> dict[str, Any] | None:
    markets = _csv("marketplaceIds")
    participating = {m["id"] for m in SELLERS[seller_id].marketplaces}
    foreign = [m for m in markets if m not in participating]
    if foreign:
        return _invalid("Invalid marketplaceIds.",
                        f"The seller does not participate in {', '.join(foreign)}.")
    if US_MARKETPLACE not in markets:
        return _invalid("Invalid marketplaceIds.", "The sandbox holds listings for ATVPDKIKX0DER only.")
    return None


@bp.get(f"{ITEMS}/<sellerId>/<path:sku>")
@operation("getListingsItem")
def get_listings_item(seller_id: str, body: Any, sellerId: str, sku: str) -> tuple[int, Any]:  # noqa: N803
    """Return one listing with the ``includedData`` asked for (summaries by default)."""
    problem = _marketplace_problem(seller_id)
    if problem:
        return 400, problem
    store = get_store()
    included = set(_csv("includedData", "summaries"))
    with store.lock:
        promote_issues(store)
        listing = store.listings.get(seller_id, {}).get(sku)
        if listing is None:
            return 404, _not_found(f"SKU '{sku}' not found in marketplace {US_MARKETPLACE}")
        return 200, item_json(sku, listing, included)


@bp.patch(f"{ITEMS}/<sellerId>/<path:sku>")
@operation("patchListingsItem")
def patch_listings_item(seller_id: str, body: dict[str, Any], sellerId: str,  # noqa: N803
                        sku: str) -> tuple[int, Any]:
    """Apply JSON patches to a listing (ACCEPTED or INVALID); a VALIDATION_PREVIEW changes nothing (VALID)."""
    problem = _marketplace_problem(seller_id)
    if problem:
        return 400, problem
    preview = request.args.get("mode") == "VALIDATION_PREVIEW"
    included = set(_csv("includedData", "issues"))
    if "identifiers" in included and not preview:
        return 400, _invalid("Invalid includedData.", "identifiers can only be requested with "
                             "mode=VALIDATION_PREVIEW.")
    store = get_store()
    with store.lock:
        promote_issues(store)
        problems, _ = write(store, seller_id, sku, list(body["patches"]), now=utcnow(), source="listings_api",
                            preview=preview)
        status = "INVALID" if problems else ("VALID" if preview else "ACCEPTED")
        store.listing_submissions.append((seller_id, sku, "VALIDATION_PREVIEW" if preview else "", status))
        listing = store.listings.get(seller_id, {}).get(sku)
        asin = asin_of(sku, listing) if listing is not None else None
    answer: dict[str, Any] = {"sku": sku, "status": status, "submissionId": uuid.uuid4().hex}
    if "issues" in included:
        answer["issues"] = [p.issue() for p in problems]
    if "identifiers" in included:
        answer["identifiers"] = [{"marketplaceId": US_MARKETPLACE, **({"asin": asin} if asin else {})}]
    return 200, answer


# ---- searchListingsItems -----------------------------------------------------------------------------------


def _query_key() -> str:
    """Return what identifies a search, so that a page token only continues the search it came from."""
    kept = sorted((k, v) for k, v in request.args.items(multi=True) if k not in ("pageToken", "pageSize"))
    return hashlib.sha256(json.dumps(kept).encode()).hexdigest()[:16]


def _token(offset: int) -> str:
    raw = json.dumps({"o": offset, "q": _query_key()}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset(token: str) -> int | None:
    """Return the offset a page token points at, or None for a token of another search (or garbage)."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = int(raw["o"])
    except (ValueError, KeyError, TypeError):
        return None
    return offset if raw.get("q") == _query_key() and 0 <= offset < SEARCH_CAP else None


def _filters() -> list[Any]:
    """Return predicates on a listing for the search's filters."""
    tests: list[Any] = []
    bounds = [("lastUpdatedAfter", "updated", 1), ("lastUpdatedBefore", "updated", -1),
              ("createdAfter", "created", 1), ("createdBefore", "created", -1)]
    for name, field, direction in bounds:
        raw = request.args.get(name)
        moment = parse_datetime(raw) if raw else None
        if moment is None:
            continue

        def test(listing: Listing, moment: datetime = moment, field: str = field,
                 direction: int = direction) -> bool:
            when = (listing.updated_at or listing.created_at) if field == "updated" else \
                (listing.created_at or listing.updated_at)
            if when is None:
                return False
            return when >= moment if direction > 0 else when <= moment

        tests.append(test)
    severities = set(_csv("withIssueSeverity"))
    if severities:
        tests.append(lambda item: any(i.get("severity") in severities for i in item.issues or ()))
    with_status, without_status = set(_csv("withStatus")), set(_csv("withoutStatus"))
    if with_status:
        tests.append(lambda item: with_status <= set(status_of(item)))
    if without_status:
        tests.append(lambda item: not without_status & set(status_of(item)))
    return tests


def _candidates(store: Store, seller_id: str) -> list[tuple[str, Listing]] | None:
    """Return the listings the identifiers name (all of them without identifiers); None for a bad request."""
    listings = store.listings.get(seller_id, {})
    identifiers = _csv("identifiers")
    kind = request.args.get("identifiersType")
    if not identifiers:
        return list(listings.items())
    if kind == "SKU":
        return [(sku, listings[sku]) for sku in dict.fromkeys(identifiers) if sku in listings]
    if kind == "ASIN":
        wanted = set(identifiers)
        return [(sku, item) for sku, item in listings.items() if asin_of(sku, item) in wanted]
    return []  # the sandbox has no EAN, UPC … : nothing matches


@bp.get(f"{ITEMS}/<sellerId>")
@operation("searchListingsItems")
def search_listings_items(seller_id: str, body: Any, sellerId: str) -> tuple[int, Any]:  # noqa: N803
    """Search the seller's listings: identifiers or filters, sorted, a page of at most 20, 1,000 at most."""
    problem = _marketplace_problem(seller_id)
    if problem:
        return 400, problem
    if bool(request.args.get("identifiers")) != bool(request.args.get("identifiersType")):
        return 400, _invalid("Invalid request.", "identifiers and identifiersType go together.")
    if len(_csv("identifiers")) > MAX_IDENTIFIERS:
        return 400, _invalid("Invalid identifiers.", f"At most {MAX_IDENTIFIERS} identifiers.")
    size = int(request.args.get("pageSize") or DEFAULT_PAGE_SIZE)
    if size < 1:
        return 400, _invalid("Invalid pageSize.", "pageSize must be between 1 and 20.")
    offset = 0
    if request.args.get("pageToken"):
        found = _offset(request.args["pageToken"])
        if found is None:
            return 400, _invalid("Invalid pageToken.",
                                 "The pageToken is invalid or belongs to another search.")
        offset = found
    included = set(_csv("includedData", "summaries"))
    sort_by = request.args.get("sortBy", "lastUpdatedDate")
    descending = request.args.get("sortOrder", "DESC") == "DESC"
    tests = _filters()
    store = get_store()
    with store.lock:
        if request.args.get("identifiers") and not request.args.get("pageToken"):
            store.identifier_searches.append((seller_id, request.args.get("identifiersType", ""),
                                              _csv("identifiers")))
        promote_issues(store)
        candidates = _candidates(store, seller_id) or []
        rows = [(sku, item) for sku, item in candidates if all(t(item) for t in tests)]
        rows.sort(key=_sort_key(sort_by), reverse=descending)
        total = len(rows)
        page = rows[offset:offset + size]
        items = [item_json(sku, item, included) for sku, item in page]
    answer: dict[str, Any] = {"numberOfResults": total, "items": items}
    pagination: dict[str, str] = {}
    end = offset + len(page)
    if end < min(total, SEARCH_CAP):
        pagination["nextToken"] = _token(end)
    if offset > 0:
        pagination["previousToken"] = _token(max(0, offset - size))
    if pagination:
        answer["pagination"] = pagination
    return 200, answer


def _sort_key(sort_by: str) -> Any:
    if sort_by == "sku":
        return lambda row: row[0]
    if sort_by == "createdDate":
        return lambda row: (_stamp(row[1].created_at or row[1].updated_at), row[0])
    return lambda row: (_stamp(row[1].updated_at or row[1].created_at), row[0])


def _stamp(moment: datetime | None) -> float:
    return moment.timestamp() if moment else 0.0

