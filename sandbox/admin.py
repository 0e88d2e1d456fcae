"""The sandbox's own controls (not part of Amazon): a JSON API for tests, an overview page for developers."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, abort, jsonify, render_template, request

from sandbox import get_store
from sandbox.listings import (
    UNKNOWN_SKU_MODES,
    asin_for,
    attributes_of,
    item_json,
    price_cents,
    promote_issues,
)
from sandbox.sellers import SELLERS, generate_sellers, pickable_sellers
from sandbox.spapi import parse_datetime
from sandbox.store import Fault, Listing, Store, utcnow

api = Blueprint("sandbox_api", __name__, url_prefix="/_sandbox/api")
bp = Blueprint("sandbox_admin", __name__, url_prefix="/_sandbox")

FAULT_OPERATIONS = frozenset({
    "createFeed", "getFeed", "getFeeds", "cancelFeed", "createFeedDocument", "getFeedDocument",
    "getMarketplaceParticipations", "getAccount", "lwa", "upload", "download",
    "getListingsItem", "searchListingsItems", "patchListingsItem",
    "createReport", "getReport", "getReports", "cancelReport", "getReportDocument",
})
#: Seed and external-edit fields that are offer sub-attributes besides ``our_price``.
OFFER_FIELDS = {"discounted_price": "discounted_price", "minimum_price": "minimum_seller_allowed_price",
                "maximum_price": "maximum_seller_allowed_price"}
#: Listings per seller on the overview (demo sellers hold thousands), and per page of one seller's listings.
RECENT_LISTINGS = 25
LISTINGS_PER_PAGE = 50
#: Search text past this length is cut off (it only bounds the work a request can ask for).
MAX_QUERY = 100


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _seller(seller_id: str) -> str:
    if seller_id not in SELLERS:
        abort(404, description=f"unknown seller {seller_id}")
    return seller_id


def _ok(**extra: Any) -> Response:
    return jsonify({"ok": True, **extra})


def stats(store: Store) -> dict[str, Any]:
    """Return call and throttle counts, and every feed with its content hash."""
    with store.lock:
        return {
            "calls": dict(store.calls),
            "throttled": dict(store.throttled),
            "failures_injected": store.failures_injected,
            "feeds": [{"feedId": f.id, "sellerId": f.seller_id, "feedType": f.feed_type, "status": f.status,
                       "messages": f.messages, "content_sha256": f.content_sha256, "summary": f.summary}
                      for f in store.feeds.values()],
            "applied_messages": len(store.applied),
            "reports": [{"reportId": r.id, "sellerId": r.seller_id, "status": r.status, "rows": r.rows}
                        for r in store.reports.values()],
            "listing_submissions": len(store.listing_submissions),
        }


@api.get("/health")
def health() -> Response:
    """Say the sandbox is up (used to wait for a subprocess to start)."""
    return _ok()


@api.post("/reset")
def reset() -> Response:
    """Forget everything but the app registration."""
    get_store().reset()
    return _ok()


@api.post("/app")
def register_app() -> Response:
    """Register our app's OAuth redirect URIs and Login URI."""
    body, store = _body(), get_store()
    uris = body.get("redirect_uris")
    if not isinstance(uris, list) or not all(isinstance(u, str) and u for u in uris):
        return jsonify({"error": "redirect_uris must be a list of URLs"}), 400  # type: ignore[return-value]
    with store.lock:
        store.registration.redirect_uris = list(uris)
        if isinstance(body.get("login_uri"), str):
            store.registration.login_uri = body["login_uri"]
    return _ok()


@api.get("/violations")
def violations() -> Response:
    """List requests that broke Amazon's documented contract."""
    store = get_store()
    with store.lock:
        return jsonify(list(store.violations))


@api.delete("/violations")
def clear_violations() -> Response:
    """Forget recorded violations (for tests that provoke one on purpose)."""
    store = get_store()
    with store.lock:
        store.violations.clear()
    return _ok()


@api.post("/sellers/<seller_id>/revoke")
def revoke(seller_id: str) -> Response:
    """Revoke the seller's authorization: refresh and access tokens stop working."""
    get_store().revoke(_seller(seller_id))
    return _ok()


@api.post("/sellers/<seller_id>/restore")
def restore(seller_id: str) -> Response:
    """Undo a revocation."""
    get_store().restore(_seller(seller_id))
    return _ok()


@api.get("/sellers/<seller_id>/listings")
def listings(seller_id: str) -> Response:
    """Return the seller's listings: ``{sku: {quantity, price, updated_at, feed_id}}`` (price as a string)."""
    return jsonify(get_store().listing_view(_seller(seller_id)))


class SeedError(ValueError):
    """A seed or edit request the sandbox cannot apply."""


def _cents(value: Any, name: str) -> int:
    try:
        cents, problem = price_cents(float(value)) if isinstance(value, str) else price_cents(value)
    except ValueError:
        cents, problem = None, "not a number"
    if cents is None:
        raise SeedError(f"{name}: {problem}")
    return cents


def _schedule(cents: int, entry: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    schedule: dict[str, Any] = {"value_with_tax": cents / 100}
    for key in ("start_at", "end_at"):
        if entry and entry.get(key):
            schedule[key] = entry[key]
    return [{"schedule": [schedule]}]


def _apply_fields(listing: Listing, fields: dict[str, Any]) -> None:
    """Set quantity, price and offer sub-attributes from an admin request (seed or external edit)."""
    if "quantity" in fields:
        quantity = fields["quantity"]
        whole = isinstance(quantity, int) and not isinstance(quantity, bool)
        if quantity is not None and (not whole or quantity < 0):
            raise SeedError("quantity must be a whole number, 0 or more")
        listing.quantity = quantity
    if "price" in fields:
        listing.price_cents = None if fields["price"] is None else _cents(fields["price"], "price")
    extra = dict(listing.offer_extra or {})
    for name, attribute in OFFER_FIELDS.items():
        if name not in fields:
            continue
        if fields[name] is None:
            extra.pop(attribute, None)
        else:
            extra[attribute] = _schedule(_cents(fields[name], name), fields)
    listing.offer_extra = extra or None
    if fields.get("item_name"):
        listing.item_name = str(fields["item_name"])


def _seed_one(store: Store, seller_id: str, entry: dict[str, Any]) -> None:
    sku = str(entry.get("sku") or "")
    if not sku:
        raise SeedError("each listing needs a sku")
    now = utcnow()
    created = parse_datetime(str(entry["created_at"])) if entry.get("created_at") else now
    updated = parse_datetime(str(entry["updated_at"])) if entry.get("updated_at") else created
    listing = Listing(created_at=created, updated_at=updated, asin=str(entry.get("asin") or asin_for(sku)),
                      item_name=str(entry.get("item_name") or f"Sandbox product {sku}"), source="seed")
    _apply_fields(listing, {k: v for k, v in entry.items() if k != "item_name"})
    listing.issues = [dict(i) for i in entry.get("issues") or []] or None
    store.listings.setdefault(seller_id, {})[sku] = listing


@api.post("/sellers/<seller_id>/listings")
def seed_listings(seller_id: str) -> Response:
    """Put listings on "Amazon" (also ones that are not in the merchant's catalog).

    ``{"listings": [{sku, quantity, price, discounted_price, minimum_price, maximum_price, item_name, asin,
    created_at, updated_at, issues}]}``, or for a large seller ``{"generate": {count, prefix, quantity,
    price}}`` (SKUs ``<prefix><n:08d>``, one shared timestamp: compact enough for a million).
    """
    seller_id, body, store = _seller(seller_id), _body(), get_store()
    try:
        with store.lock:
            for entry in body.get("listings") or []:
                _seed_one(store, seller_id, entry)
            generate = body.get("generate")
            if isinstance(generate, dict):
                _generate(store, seller_id, generate)
    except SeedError as exc:
        return jsonify({"error": str(exc)}), 400  # type: ignore[return-value]
    return _ok(count=store.listing_count(seller_id))


def _generate(store: Store, seller_id: str, spec: dict[str, Any]) -> None:
    count, prefix = int(spec.get("count") or 0), str(spec.get("prefix") or "GEN-")
    start = int(spec.get("start") or 0)
    cents = _cents(spec.get("price", "10.00"), "price")
    quantity = int(spec.get("quantity", 5))
    now = utcnow()
    listings = store.listings.setdefault(seller_id, {})
    for n in range(start, start + count):
        sku = f"{prefix}{n:08d}"
        # No ASIN stored: it is derived from the SKU when shown (a million strings fewer).
        listings[sku] = Listing(quantity=quantity, price_cents=cents, created_at=now, updated_at=now,
                                source="seed")


@api.get("/sellers/<seller_id>/listings/<path:sku>")
def listing_detail(seller_id: str, sku: str) -> Response:
    """Return one listing as the Listings Items API shows it, every ``includedData`` at once."""
    store = get_store()
    with store.lock:
        promote_issues(store)
        listing = store.listings.get(_seller(seller_id), {}).get(sku)
        if listing is None:
            return jsonify({"error": f"no listing {sku}"}), 404  # type: ignore[return-value]
        item = item_json(sku, listing, {"summaries", "attributes", "issues", "offers",
                                        "fulfillmentAvailability"})
        item["attributes"] = attributes_of(listing)
        item["source"], item["incomplete"] = listing.source, listing.incomplete
    return jsonify(item)


@api.post("/sellers/<seller_id>/listings/<path:sku>/external")
def external_edit(seller_id: str, sku: str) -> Response:
    """Change a listing outside Ecommerce (Seller Central, a repricer): quantity, price, offer prices."""
    store = get_store()
    with store.lock:
        listing = store.listings.get(_seller(seller_id), {}).get(sku)
        if listing is None:
            return jsonify({"error": f"no listing {sku}"}), 404  # type: ignore[return-value]
        try:
            _apply_fields(listing, _body())
        except SeedError as exc:
            return jsonify({"error": str(exc)}), 400  # type: ignore[return-value]
        listing.updated_at, listing.feed_id, listing.source = utcnow(), None, "external"
    return _ok()


@api.post("/sellers/<seller_id>/listings/<path:sku>/issues")
def add_issue(seller_id: str, sku: str) -> Response:
    """Give a listing an issue later, as Amazon's asynchronous validation does.

    ``{"issue": {code, message, severity, attributeNames?, categories?}, "delay": seconds (before the time
    scale), "on_next_write": bool, "touch": bool}``. With ``on_next_write`` the delay starts when the SKU's
    next write is accepted (by a feed or a PATCH); otherwise now. ``touch`` (default true) moves the
    listing's lastUpdatedDate when the issue appears.
    """
    body, store = _body(), get_store()
    raw: dict[str, Any] = body["issue"] if isinstance(body.get("issue"), dict) else {}
    if not raw.get("code") or not raw.get("message"):
        return jsonify({"error": "issue needs code and message"}), 400  # type: ignore[return-value]
    issue = {"code": str(raw["code"]), "message": str(raw["message"]),
             "severity": str(raw.get("severity") or "ERROR"),
             "categories": list(raw.get("categories") or ["INVALID_ATTRIBUTE"])}
    if raw.get("attributeNames"):
        issue["attributeNames"] = list(raw["attributeNames"])
    delay, touch = float(body.get("delay") or 0), bool(body.get("touch", True))
    seller_id = _seller(seller_id)
    with store.lock:
        if body.get("on_next_write"):
            store.armed_issues.setdefault((seller_id, sku), []).append((delay, issue, touch))
        else:
            due = time.monotonic() + delay / max(store.time_scale, 1e-9)
            store.pending_issues.append((due, seller_id, sku, issue, touch))
    return _ok()


@api.post("/sellers/<seller_id>/listings/<path:sku>/refuse")
def refuse(seller_id: str, sku: str) -> Response:
    """Make Amazon refuse the SKU's next writes (feed messages and PATCHes) with an issue.

    ``{"code", "message", "times"}``: ``times`` writes (default: every one until changed; 0 stops refusing).
    """
    body, store = _body(), get_store()
    if not body.get("code") or not body.get("message"):
        return jsonify({"error": "refuse needs code and message"}), 400  # type: ignore[return-value]
    times = int(body["times"]) if body.get("times") is not None else -1
    with store.lock:
        store.refusals[(_seller(seller_id), sku)] = [str(body["code"]), str(body["message"]), times]
    return _ok()


@api.get("/received")
def received() -> Response:
    """Return every feed message that passed the document checks as ``[sellerId, feedId, messageId, sku]``
    (accepted or not: :func:`audit` lists the applied ones)."""
    store = get_store()
    with store.lock:
        return jsonify([list(row) for row in store.received])


@api.post("/sellers/<seller_id>/unknown_sku")
def unknown_sku(seller_id: str) -> Response:
    """Choose what a write for a SKU Amazon does not hold does: exists, reject or create_incomplete."""
    mode = str(_body().get("mode") or "")
    if mode not in UNKNOWN_SKU_MODES:
        return jsonify({"error": f"mode must be one of {list(UNKNOWN_SKU_MODES)}"}), 400  # type: ignore[return-value]
    store = get_store()
    with store.lock:
        store.unknown_sku_mode[_seller(seller_id)] = mode
    return _ok()


@api.get("/listing_submissions")
def listing_submissions() -> Response:
    """Return every patchListingsItem call as ``[sellerId, sku, mode, status]`` (previews included)."""
    store = get_store()
    with store.lock:
        return jsonify([list(row) for row in store.listing_submissions])


@api.get("/quantity_changes")
def quantity_changes() -> Response:
    """Return every quantity change by a write, in order: ``[sellerId, sku, quantity, unixTime, source]``."""
    store = get_store()
    with store.lock:
        return jsonify([list(row) for row in store.quantity_changes])


@api.get("/identifier_searches")
def identifier_searches() -> Response:
    """Return every searchListingsItems call by identifiers as ``[sellerId, identifiersType, [ids]]``."""
    store = get_store()
    with store.lock:
        return jsonify([[seller, kind, list(ids)] for seller, kind, ids in store.identifier_searches])


@api.post("/tokens/expire")
def expire_tokens() -> Response:
    """Expire every access token now."""
    store = get_store()
    with store.lock:
        for token in store.access_tokens.values():
            token.expires = 0.0
    return _ok()


@api.post("/codes/expire")
def expire_codes() -> Response:
    """Expire every authorization code now, as if five minutes had passed."""
    store = get_store()
    with store.lock:
        for code in store.codes.values():
            code.created = time.time() - 3600
    return _ok()


@api.post("/grants")
def grant() -> Response:
    """Authorize the app for a seller without the browser and return the refresh token."""
    seller_id = _seller(str(_body().get("selling_partner_id", "")))
    return jsonify({"refresh_token": get_store().issue_grant(seller_id)})


@api.post("/sellers")
def add_sellers() -> Response:
    """Add generated Professional US sellers and authorize the app for each; return their refresh tokens.

    Body: ``{"count": N, "prefix": "ALOAD", "start": 0}``. For load tests: one call instead of N grants.
    """
    body, store = _body(), get_store()
    count = int(body.get("count", 0))
    if not 0 < count <= 100_000:
        abort(400, description="count must be between 1 and 100000")
    prefix = str(body.get("prefix") or "ALOAD")
    if not prefix.isalnum() or not prefix.isupper() or len(prefix) > 6:
        abort(400, description="prefix must be up to 6 upper-case letters or digits")
    ids = generate_sellers(count, prefix, int(body.get("start", 0)))
    with store.lock:
        for seller_id in ids:
            store.listings.setdefault(seller_id, {})
    return jsonify({"sellers": {seller_id: store.issue_grant(seller_id) for seller_id in ids}})


@api.post("/faults")
def faults() -> Response:
    """Throttle an operation, or fail its next N calls with a status (``after``: once they took effect)."""
    body, store = _body(), get_store()
    operation = body.get("operation")
    if operation not in FAULT_OPERATIONS:
        return jsonify({"error": f"operation must be one of {sorted(FAULT_OPERATIONS)}"}), 400  # type: ignore[return-value]
    with store.lock:
        fault = store.faults.setdefault(operation, Fault())
        if body.get("throttle") is not None:
            fault.throttle = bool(body["throttle"])
        fault.fail_next = int(body.get("fail_next") or 0)
        fault.status = int(body.get("status") or 500)
        fault.after = bool(body.get("after"))
    return _ok()


@api.post("/processing")
def processing() -> Response:
    """Change the feed processing delay (seconds per phase) or pause processing."""
    body, store = _body(), get_store()
    with store.changed:
        if body.get("delay") is not None:
            store.processing_delay = float(body["delay"])
        if body.get("paused") is not None:
            store.paused = bool(body["paused"])
        store.changed.notify_all()
    return _ok()


@api.post("/time_scale")
def time_scale() -> Response:
    """Make rates and processing delays run ``scale`` times faster."""
    store = get_store()
    scale = float(_body().get("scale") or 0)
    if scale <= 0:
        return jsonify({"error": "scale must be a positive number"}), 400  # type: ignore[return-value]
    with store.changed:
        store.time_scale = scale
        store.changed.notify_all()
    return _ok()


@api.get("/stats")
def get_stats() -> Response:
    """Return call counts, throttles, injected failures and feeds."""
    return jsonify(stats(get_store()))


@api.get("/audit")
def audit() -> Response:
    """Return every applied message as ``[sellerId, feedId, messageId, sku]``."""
    store = get_store()
    with store.lock:
        return jsonify([list(row) for row in store.applied])


@bp.get("/")
def overview() -> str:
    """Show sellers with their listing counts and latest listings, recent feeds, violations and calls."""
    store = get_store()
    refresh = request.args.get("refresh", "")
    with store.lock:
        sellers = [{"seller": s, "status": store.authorization_status(s.id),
                    "count": store.listing_count(s.id),
                    "listings": store.recent_listings(s.id, RECENT_LISTINGS)}
                   for s in pickable_sellers()]
        feeds = list(reversed(store.feeds.values()))[:20]
        context = {
            "sellers": sellers, "feeds": feeds, "violations": list(reversed(store.violations))[:50],
            "stats": stats(store), "registration": store.registration, "time_scale": store.time_scale,
            "processing_delay": store.processing_delay, "paused": store.paused,
            "refresh": refresh.isdigit() and int(refresh) or 0,
        }
    return render_template("overview.html", **context)


@bp.get("/sellers/<seller_id>/listings")
def seller_listings(seller_id: str) -> str:
    """Show one seller's listings in SKU order, 50 a page, optionally only the SKUs starting with ``q``."""
    seller = SELLERS[_seller(seller_id)]
    prefix = request.args.get("q", "").strip()[:MAX_QUERY]
    page = request.args.get("page", "1")
    store = get_store()
    total, page_number, rows = store.listings_page(seller.id, prefix, int(page) if page.isdigit() else 1,
                                                   LISTINGS_PER_PAGE)
    return render_template("seller_listings.html", seller=seller, rows=rows, total=total, query=prefix,
                           page=page_number, pages=max(1, -(-total // LISTINGS_PER_PAGE)),
                           first=(page_number - 1) * LISTINGS_PER_PAGE + 1,
                           all_count=store.listing_count(seller.id))
