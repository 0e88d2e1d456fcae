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

A body that is not such a JSON object (or JSON nested too deeply to read) gets 400, a body over the limits
(``API_MAX_BODY_BYTES``, 10 MiB by default, or 10,000 items) 413, in JSON; nothing is saved then.
``GET /api/v1/products/<sku>`` returns the product and what Amazon should show for it, with the reason.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlmodel import col
from werkzeug.exceptions import RequestEntityTooLarge

from wizard import rules as r
from wizard.catalog import api_tokens
from wizard.catalog.importer import Row, RowError, Validator, merge_with_existing, write_rows
from wizard.db import engine_for, get_session
from wizard.extensions import csrf
from wizard.limits import body_limit
from wizard.models import AmazonSettings, Product
from wizard.security import TOKEN, access_level, api_token
from wizard.tasks import schedule_sync_soon

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # machine-to-machine: a bearer token, never a browser cookie, authenticates these requests

MAX_ITEMS = 10_000


def _error(status: int, message: str, **extra: Any) -> ResponseReturnValue:
    return jsonify({"errors": [{"message": message}], **extra}), status


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge) -> ResponseReturnValue:
    """Answer a body over the limit (Werkzeug stops reading it, chunked or not) in JSON."""
    limit = current_app.config["API_MAX_BODY_BYTES"]
    return _error(413, f"The body is larger than {limit / (1024 * 1024):,.0f} MiB; send fewer products per "
                       "request. Nothing was saved.")


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


def _item_error(error: RowError) -> dict[str, Any]:
    return {"index": error.where, "sku": error.sku, "field": error.field, "message": error.reason}


def _read_json() -> Any:
    """Return the request's JSON, or None when it is not JSON at all.

    Deeply nested JSON makes the parser raise ``RecursionError`` (not a ``ValueError``): a bad body too.
    """
    if not request.is_json:
        return None
    try:
        return json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError):
        return None


@bp.post("/products")
@api_token
@body_limit("API_MAX_BODY_BYTES")
def upsert_products() -> ResponseReturnValue:
    """Upsert products by SKU; save the good items and report each bad one."""
    payload = _read_json()
    if not isinstance(payload, dict) or not isinstance(payload.get("products"), list):
        return _error(400, 'Send a JSON object like {"products": [{"sku": "...", "available": 3, '
                           '"price": "19.99"}]} with Content-Type: application/json.')
    items: list[Any] = payload["products"]
    if len(items) > MAX_ITEMS:
        return _error(413, f"Send at most {MAX_ITEMS:,} products per request (got {len(items):,}).")
    account_id: int = g.api_account_id
    validator = Validator(partial=True, duplicate=lambda index: f"This SKU is already at index {index} of "
                                                                "this request; only that one is saved.")
    errors: list[RowError] = []
    checked: list[Row] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(RowError(index, None, None, "Each product must be a JSON object."))
            continue
        result = validator.check(index, item)
        if isinstance(result, RowError):
            errors.append(result)
        else:
            checked.append(result)

    engine = engine_for(current_app.config["DATABASE_URL"])
    with engine.begin() as connection:
        merged = merge_with_existing(connection, account_id, checked, count=True)
        saved = write_rows(connection, account_id, merged.rows)
    if saved:
        schedule_sync_soon(account_id)
    body = {"saved": saved, "created": merged.created, "updated": merged.updated,
            "errors": [_item_error(e) for e in sorted(errors + merged.errors, key=lambda e: e.where)]}
    return jsonify(body), (422 if body["errors"] else 200)


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
