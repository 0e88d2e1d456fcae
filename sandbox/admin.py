"""The sandbox's own controls (not part of Amazon): a JSON API for tests, an overview page for developers."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, abort, jsonify, render_template, request

from sandbox import get_store
from sandbox.sellers import SELLERS
from sandbox.store import Fault, Store

api = Blueprint("sandbox_api", __name__, url_prefix="/_sandbox/api")
bp = Blueprint("sandbox_admin", __name__, url_prefix="/_sandbox")

FAULT_OPERATIONS = frozenset({
    "createFeed", "getFeed", "getFeeds", "cancelFeed", "createFeedDocument", "getFeedDocument",
    "getMarketplaceParticipations", "getAccount", "lwa", "upload",
})
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


@api.post("/faults")
def faults() -> Response:
    """Throttle an operation, or fail its next N calls with a status."""
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
                   for s in SELLERS.values()]
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
