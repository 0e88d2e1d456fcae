"""The JSON API the Ecommerce platform uses to push stock and price changes: ``/api/v1``.

Authentication: ``Authorization: Bearer <token>`` with a per-account token an admin creates on the catalog's
API tokens page. A missing, unknown or revoked token gets 401.

``POST /api/v1/products`` upserts up to 10,000 products by SKU::

    {"products": [{"sku": "ACME-1", "title": "Tent", "available": 12, "price": "19.99"}, ...]}

``available`` is a whole number ≥ 0, ``price`` US dollars (a string like "19.99" or a number), ``title``
optional. A SKU already in the catalog may send only ``available`` or only ``price``; a new SKU needs both.
Items are checked one by one: **good items are saved even when others are bad**. The answer is 200 when every
item was saved, 422 when some were not, with one error per bad item::

    {"saved": 2, "created": 1, "updated": 1,
     "errors": [{"index": 2, "sku": "ACME-3", "field": "available", "message": "..."}]}

A body that is not such a JSON object gets 400, a body over the limits 413; nothing is saved then.
``GET /api/v1/products/<sku>`` returns the product and what Amazon should show for it, with the reason.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlmodel import col

from wizard import rules as r
from wizard.catalog import api_tokens
from wizard.catalog.importer import (
    Row,
    check_available,
    check_price,
    check_sku,
    check_title,
    existing_values,
    write_rows,
)
from wizard.db import engine_for, get_session
from wizard.extensions import csrf
from wizard.models import AmazonSettings, Product
from wizard.security import TOKEN, access_level, api_token
from wizard.tasks import schedule_sync_soon

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # machine-to-machine: a bearer token, never a browser cookie, authenticates these requests

MAX_ITEMS = 10_000
MAX_BODY_BYTES = 10 * 1024 * 1024


def _error(status: int, message: str, **extra: Any) -> ResponseReturnValue:
    return jsonify({"errors": [{"message": message}], **extra}), status


@bp.before_request
def _authenticate() -> ResponseReturnValue | None:
    """Resolve the bearer token to an account before any API view runs."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or access_level(view) != TOKEN:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        response = jsonify({"errors": [{"message": (
            "Send your API token as 'Authorization: Bearer <token>'. An admin creates tokens on the "
            "catalog's API tokens page.")}]})
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return response, 401
    row = api_tokens.authenticate(get_session(), token.strip())
    if row is None:
        response = jsonify({"errors": [{"message": "This API token is unknown or was revoked. "
                                                   "Ask an admin for a new one."}]})
        response.headers["WWW-Authenticate"] = 'Bearer realm="api", error="invalid_token"'
        return response, 401
    g.api_account_id = row.account_id
    return None


def _item_error(index: int, sku: Any, field: str | None, message: str) -> dict[str, Any]:
    return {"index": index, "sku": sku if isinstance(sku, str) else None, "field": field, "message": message}


@bp.post("/products")
@api_token
def upsert_products() -> ResponseReturnValue:
    """Upsert products by SKU; save the good items and report each bad one."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return _error(413, f"The body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB; send fewer "
                           "products per request.")
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("products"), list):
        return _error(400, 'Send a JSON object like {"products": [{"sku": "...", "available": 3, '
                           '"price": "19.99"}]} with Content-Type: application/json.')
    items: list[Any] = payload["products"]
    if len(items) > MAX_ITEMS:
        return _error(413, f"Send at most {MAX_ITEMS:,} products per request (got {len(items):,}).")
    account_id: int = g.api_account_id
    errors: list[dict[str, Any]] = []
    checked: list[tuple[int, str, str | None, int | None, int | None]] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(_item_error(index, None, None, "Each product must be a JSON object."))
            continue
        raw_sku = item.get("sku")
        try:
            sku = check_sku(raw_sku)
        except ValueError as exc:
            errors.append(_item_error(index, raw_sku, "sku", str(exc)))
            continue
        if sku in seen:
            errors.append(_item_error(index, sku, "sku", f"This SKU is already at index {seen[sku]} of this "
                                                         "request; only that one is saved."))
            continue
        seen[sku] = index
        field = "available"
        try:
            available = check_available(item["available"]) if "available" in item else None
            field = "price"
            price = check_price(item["price"]) if "price" in item else None
            field = "title"
            title = check_title(item.get("title"))
        except ValueError as exc:
            errors.append(_item_error(index, sku, field, str(exc)))
            continue
        if available is None and price is None:
            errors.append(_item_error(index, sku, None, "Send available, price, or both."))
            continue
        checked.append((index, sku, title, available, price))

    engine = engine_for(current_app.config["DATABASE_URL"])
    created = updated = 0
    with engine.begin() as connection:
        existing = existing_values(connection, account_id, [sku for _, sku, *_ in checked])
        rows: list[Row] = []
        for index, sku, title, available, price in checked:
            known = existing.get(sku)
            if known is None and (available is None or price is None):
                missing = "available" if available is None else "price"
                errors.append(_item_error(index, sku, missing, f"A new SKU needs {missing}; send it too."))
                continue
            if known is not None:
                available = known[0] if available is None else available
                price = known[1] if price is None else price
                updated += 1
            else:
                created += 1
            rows.append(Row(sku, title, available, price))
        saved = write_rows(connection, account_id, rows)
    if saved:
        schedule_sync_soon(account_id)
    errors.sort(key=lambda e: e["index"])
    body = {"saved": saved, "created": created, "updated": updated, "errors": errors}
    return jsonify(body), (422 if errors else 200)


@bp.get("/products/<path:sku>")
@api_token
def get_product(sku: str) -> ResponseReturnValue:
    """Return one product and what Amazon should show for it under the account's settings."""
    account_id: int = g.api_account_id
    session = get_session()
    product = session.execute(
        select(Product).where(col(Product.account_id) == account_id, col(Product.sku) == sku)
    ).scalar_one_or_none()
    if product is None:
        return _error(404, f"No product with SKU {sku!r} in your catalog.")
    rules = r.Rules.from_settings(session.get(AmazonSettings, account_id))
    decision = r.decide(product.available, product.price_cents, rules)
    return jsonify({
        "sku": product.sku,
        "title": product.title,
        "available": product.available,
        "price": f"{product.price_cents / 100:.2f}",
        "updated_at": product.updated_at.isoformat() + "Z",
        "amazon": {
            "quantity": decision.quantity,
            "price": None if decision.price_cents is None else f"{decision.price_cents / 100:.2f}",
            "listed": decision.listed,
            "reason": decision.reason,
            "explanation": decision.explanation,
        },
    })
