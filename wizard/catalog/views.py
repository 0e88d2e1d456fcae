"""The catalog page: search and filter products by what Amazon shows, import a CSV, manage API tokens."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import and_, select
from sqlmodel import col
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from wizard import rules as r
from wizard.catalog import api_tokens
from wizard.catalog import search as catalog_search
from wizard.catalog.importer import ImportNotQueued, ImportRefused, import_dir_of, is_stale, start_import
from wizard.db import get_session, reads_only, table_of
from wizard.extensions import htmx
from wizard.forms import EmptyForm
from wizard.limits import body_limit
from wizard.models import Account, AmazonSettings, CatalogImport, ListingState, ListingStatus, Product, Role
from wizard.models.catalog import SKU_MAX_LENGTH
from wizard.models.reconcile import AmazonListing
from wizard.reconcile import status as reconcile_status
from wizard.reconcile.status import AmazonView
from wizard.rendering import render_fragment, render_page
from wizard.security import Refused, can_manage, current_account, current_user, manage, signed_in
from wizard.settings.preview import reason_counts
from wizard.sync import rejections
from wizard.tasks import enqueue_import
from wizard.text import thousands

bp = Blueprint("catalog", __name__, url_prefix="/catalog")

MAX_QUERY = 100

#: The catalog's filters: the rule's outcomes (``rules.OUTCOME_FILTERS``), then what Amazon really shows, from
#: the reconcile's reads (issue 10).
FILTERS: dict[str, str] = {**r.OUTCOME_FILTERS, **reconcile_status.FILTERS}


class ImportForm(FlaskForm):
    """A CSV file of products."""

    file = FileField("CSV file")


class TokenForm(FlaskForm):
    """A name for a new API token."""

    name = StringField("Token name", validators=[
        DataRequired("Give the token a name, like “Ecommerce platform”."),
        Length(max=100, message="Use at most 100 characters."),
    ])


@dataclass(frozen=True, slots=True)
class CatalogRow:
    """One row of the results table as the merchant reads it: its cells' text, built once in Python.

    The template prints these as they are (50 rows × 7 cells per page; Jinja logic per cell cost more than the
    queries). ``sent`` and ``live`` go to the two cell macros when there is something to show.
    """

    sku: str
    title: str
    #: ``available`` with thousands separators, and the product's price in dollars.
    available: str
    price: str
    #: "Ecommerce will send": the outcome's CSS suffix and label, "Qty" or "Would be qty", the quantity and
    #: the price sent ("no price" when none).
    outcome: str
    outcome_label: str
    quantity_label: str
    quantity: int
    send_price: str
    #: "Why this number": the rule's sentence, then what Amazon shows beside it.
    why: str
    #: The product's sync result once sent or being sent (None: "Not sent yet").
    sent: SyncState | None
    #: What Amazon shows for it (None: not checked on Amazon yet).
    live: AmazonView | None


def catalog_row(product: Any, rules: r.Rules, state: SyncState | None,
                live: AmazonView | None) -> CatalogRow:
    """Return the row the results table shows for ``product`` (its ``sku``, ``title``, stock and price)."""
    decision = r.decide(product.available, product.price_cents, rules)
    why = decision.explanation
    if live is not None and not live.on_amazon:
        outcome, label, quantity_label = "not-on-amazon", "Not on Amazon", "Would be qty"
        why += " · Not on Amazon, so not sent"
    else:
        outcome, label, quantity_label = decision.reason, r.REASON_LABELS[decision.reason], "Qty"
        if live is not None and live.quantity is not None:
            why += f" · Amazon shows {live.quantity} now"
    never_sent = state is None or state.sent_at is None and state.inflight_batch_id is None
    return CatalogRow(
        sku=product.sku, title=product.title, available=thousands(product.available),
        price=r.format_usd(product.price_cents), outcome=outcome, outcome_label=label,
        quantity_label=quantity_label, quantity=decision.quantity,
        send_price="no price" if decision.price_cents is None else r.format_usd(decision.price_cents),
        why=why, sent=None if never_sent else state, live=live)


@dataclass(frozen=True)
class SyncState:
    """What the catalog's "Last sent to Amazon" cell shows of a product's ``listing_state`` row."""

    sku: str
    status: ListingStatus
    sent_quantity: int | None
    sent_price_cents: int | None
    sent_at: datetime | None
    error_code: str | None
    error_message: str | None
    inflight_batch_id: int | None
    reject_kind: str | None
    next_retry_at: datetime | None
    rejected_at: datetime | None


_PRODUCT = table_of(Product)
# Aliases: the filters' EXISTS subqueries name these tables and must still correlate with product alone.
_STATE = table_of(ListingState).alias("page_state")
_LISTING = table_of(AmazonListing).alias("page_listing")
_ALIASED = {table_of(ListingState): _STATE, table_of(AmazonListing): _LISTING}
_STATE_FIELDS = [f.name for f in fields(SyncState)]
#: One statement per page: each product with its sync result and what Amazon shows (both left joins on the
#: unique ``(account_id, sku)``), instead of a query per table with the page's 50 SKUs as parameters.
_PAGE = (
    select(_PRODUCT.c.id, _PRODUCT.c.sku, _PRODUCT.c.title, _PRODUCT.c.available, _PRODUCT.c.price_cents,
           *[_STATE.c[name].label(f"state_{name}") for name in _STATE_FIELDS],
           *[_ALIASED[column.table].c[column.name].label(f"amazon_{column.name}")
             for column in reconcile_status.VIEW_COLUMNS])
    .select_from(_PRODUCT
                 .outerjoin(_STATE, and_(_STATE.c.account_id == _PRODUCT.c.account_id,
                                         _STATE.c.sku == _PRODUCT.c.sku))
                 .outerjoin(_LISTING, and_(_LISTING.c.account_id == _PRODUCT.c.account_id,
                                           _LISTING.c.sku == _PRODUCT.c.sku)))
)


# Where each part sits in a row of _PAGE: sliced by position, cheaper than a lookup by name per field and row.
_STATE_AT = slice(5, 5 + len(_STATE_FIELDS))
_LISTING_AT = slice(_STATE_AT.stop, _STATE_AT.stop + len(reconcile_status.VIEW_COLUMNS))
_LISTING_NAMES = [column.name for column in reconcile_status.VIEW_COLUMNS]


def _sync_state(row: Any) -> SyncState | None:
    if row.state_sku is None:
        return None
    return SyncState(*row[_STATE_AT])


def _listing(row: Any) -> Any:
    """Return the row's Amazon listing columns under their own names (None: Amazon not read for it)."""
    if row.amazon_sku is None:
        return None
    return SimpleNamespace(**dict(zip(_LISTING_NAMES, row[_LISTING_AT], strict=True)))


def _outcome_condition(outcome: str, rules: r.Rules) -> Any:
    if outcome in reconcile_status.FILTERS:
        return reconcile_status.filter_condition(outcome)
    return r.outcome_condition(rules, outcome)


def listing_states(account_id: int, skus: list[str]) -> dict[str, ListingState]:
    """Return the sync result of each of ``skus`` in one query (the page's rows, never one query per row)."""
    if not skus:
        return {}
    states = get_session().execute(
        select(ListingState)
        .where(col(ListingState.account_id) == account_id, col(ListingState.sku).in_(skus))
    ).scalars()
    return {state.sku: state for state in states}


#: Up to this many rejected SKUs, a search under "Rejected by Amazon" reads them and tests the text on each
#: (at most this many rows), rather than every product whose text matches.
NARROW_FILTER = 10_000


def _rejected_count(account_id: int) -> int:
    """Return how many catalog products Amazon rejected, counted once per request (the menu shows it too)."""
    if "rejected_count" not in g:
        g.rejected_count = rejections.rejected_count(get_session(), account_id)
    return int(g.rejected_count)


def _filter_count(account_id: int, rules: r.Rules, outcome: str, conditions: list[Any]) -> tuple[int, bool]:
    """Return how many products the filter alone matches, and whether more than the count (no search)."""
    session = get_session()
    if outcome == "rejected":
        return _rejected_count(account_id), False  # indexed, never a catalog scan
    if outcome in reconcile_status.FILTERS:
        return catalog_search.bounded_count(session, conditions)
    counts = reason_counts(session, account_id, rules)
    if outcome == r.IN_STOCK:  # a quantity above 0: all units, and capped unless capped at 0
        return counts.get(r.ALL_UNITS, 0) + (counts.get(r.CAPPED, 0) if rules.inventory_ceiling else 0), False
    return (counts.get(outcome, 0) if outcome else sum(counts.values())), False


@lru_cache(maxsize=1024)
def _conditions(account_id: int, outcome: str, rules: r.Rules, narrow: bool) -> tuple[Any, ...]:
    """Return the conditions "this account's products under this filter", built once per account and rules.

    ``narrow``: the rejected filter written so that the rejected SKUs drive a search. Building the rule's
    ``CASE`` through the model's columns cost half a millisecond per request; SQL expressions are immutable,
    so every request with the same account, filter and rules shares them.
    """
    conditions: list[Any] = [col(Product.account_id) == account_id]
    if narrow:
        conditions.append(col(Product.sku).in_(rejections.rejected_skus(account_id)))
    elif outcome:
        conditions.append(_outcome_condition(outcome, rules))
    return tuple(conditions)


def search(account_id: int, rules: r.Rules, *, query: str, outcome: str, after: str | None = None,
           before: str | None = None) -> dict[str, Any]:
    """Return one page of the catalog matching the search and the outcome filter, and how many match.

    Pages are keyset pages by SKU (``after`` / ``before``), so any page costs what the first costs. Without a
    search the count comes from the stored histograms; with one it stops at ``search.COUNT_CAP``.
    """
    session = get_session()
    narrow = bool(query) and outcome == "rejected" and _rejected_count(account_id) <= NARROW_FILTER
    conditions = list(_conditions(account_id, outcome, rules, narrow))
    if query:  # the text index drives (its hits up to the cap), or a narrow filter's own index does
        found, total, more = catalog_search.search_page(session, conditions, query, after=after,
                                                        before=before, shape=_PAGE, narrow=narrow)
    else:
        total, more = _filter_count(account_id, rules, outcome, conditions)
        found = catalog_search.page_of(session, conditions, after=after, before=before, shape=_PAGE)
    listings = [listing for listing in map(_listing, found.products) if listing is not None]
    amazon = reconcile_status.views_of(session, account_id, listings,
                                       current_app.config["AMAZON_SELLER_CENTRAL_URL"])
    rows = [catalog_row(p, rules, _sync_state(p), amazon.get(p.sku)) for p in found.products]
    return {"rows": rows, "total": total, "more": more, "next_after": found.next_after,
            "prev_before": found.prev_before, "query": query, "outcome": outcome}


def _search_args(results: dict[str, Any], *, after: str | None = None,
                 before: str | None = None) -> dict[str, Any]:
    args: dict[str, Any] = {}
    if results["query"]:
        args["q"] = results["query"]
    if results["outcome"]:
        args["outcome"] = results["outcome"]
    if after is not None:
        args["after"] = after
    if before is not None:
        args["before"] = before
    return args


def _latest_import(account_id: int) -> CatalogImport | None:
    return get_session().execute(
        select(CatalogImport).where(col(CatalogImport.account_id) == account_id)
        .order_by(col(CatalogImport.id).desc()).limit(1)
    ).scalar_one_or_none()


def _search_from_request(account_id: int) -> tuple[r.Rules, dict[str, Any]]:
    query = request.args.get("q", "").strip()[:MAX_QUERY]
    outcome = request.args.get("outcome", "")
    if outcome not in FILTERS:
        outcome = ""
    after = request.args.get("after", "")[:SKU_MAX_LENGTH] or None
    before = request.args.get("before", "")[:SKU_MAX_LENGTH] or None
    rules = r.Rules.from_settings(get_session().get(AmazonSettings, account_id))
    return rules, search(account_id, rules, query=query, outcome=outcome, after=after, before=before)


def _filters(account_id: int) -> dict[str, str]:
    """Return the filter labels, "Rejected by Amazon" with its count (one indexed query)."""
    return {**FILTERS, "rejected": f"{FILTERS['rejected']} ({_rejected_count(account_id):,})"}


def _results_context(rules: r.Rules, results: dict[str, Any], *, every_label: bool = True) -> dict[str, Any]:
    """Return the results table's context; ``every_label=False``: the table alone, which names one filter.

    The table shows only the active filter's label, so it counts the rejected SKUs only when that is the
    filter; the page's menu shows every label.
    """
    account = current_account()
    assert account.id is not None
    counted = every_label or results["outcome"] == "rejected"
    return {
        "rules": rules, "results": results, "filters": _filters(account.id) if counted else FILTERS,
        "usd": r.format_usd,
        "not_on_amazon_advice": reconcile_status.NOT_ON_AMAZON_ADVICE,
        "page_url": lambda **cursor: url_for("catalog.index", **_search_args(results, **cursor)),
        "fragment_url": lambda **cursor: url_for("catalog.results", **_search_args(results, **cursor)),
    }


def _page(account: Account, rules: r.Rules, results: dict[str, Any], *, form: ImportForm | None = None,
          error: str | None = None, status: int = 200) -> Response:
    assert account.id is not None
    return render_page(
        "catalog/index", status=status, account=account, editable=can_manage(), is_admin=_is_admin(),
        import_form=form or ImportForm(), latest_import=_import_view(_latest_import(account.id)),
        import_error=error, **_results_context(rules, results),
    )


@bp.get("/")
@reads_only
@signed_in
def index() -> Response:
    """Show the catalog (its search form asks ``results`` for the table alone)."""
    account = current_account()
    assert account.id is not None
    rules, results = _search_from_request(account.id)
    return _page(account, rules, results)


@bp.get("/results")
@reads_only
@signed_in
def results() -> Response:
    """Return the results table for the active search; the address bar shows the catalog page's URL.

    A plain GET (no htmx, a bookmarked or shared link) goes to the catalog page with the same search.
    """
    account = current_account()
    assert account.id is not None
    if not htmx:
        args: dict[str, Any] = request.args.to_dict()
        return redirect(url_for(".index", **args))
    rules, found = _search_from_request(account.id)
    response = render_fragment("catalog/results", **_results_context(rules, found, every_label=False))
    response.headers["HX-Push-Url"] = url_for(".index", **_search_args(found, after=request.args.get("after"),
                                                                      before=request.args.get("before")))
    return response


def _import_view(job: CatalogImport | None) -> dict[str, Any] | None:
    if job is None:
        return None
    percent = 100 if job.status != "running" else (
        int(100 * job.processed_rows / job.total_rows) if job.total_rows else 0)
    return {"job": job, "percent": min(percent, 100), "errors": json.loads(job.errors_json or "[]"),
            "stale": is_stale(job), "running": job.status == "running" and not is_stale(job)}


@bp.post("/import")
@manage
@body_limit("IMPORT_MAX_BYTES")
def import_csv() -> Response:
    """Store a CSV file, queue its import and show its progress (post/redirect/get)."""
    account = current_account()
    assert account.id is not None
    form = ImportForm()
    upload = request.files.get("file")
    error = None
    status = 422
    if not form.validate_on_submit():
        error = "Your form expired. Reload the page and choose the file again."
    elif upload is None or not upload.filename:
        error = "Choose a CSV file to import."
    elif not upload.stream.read(4096).strip():
        error = "The file is empty. The first line must be the header: sku,title,available,price"
    else:
        upload.stream.seek(0)
        user = current_user()
        try:
            job = start_import(get_session(), import_dir_of(current_app.config), account_id=account.id,
                               user_id=user.id if user else None, filename=upload.filename,
                               stream=upload.stream, enqueue=enqueue_import)
        except ImportNotQueued as exc:
            error, status = str(exc), 503
        except ImportRefused as exc:
            error, status = str(exc), 409
        else:
            return redirect(url_for(".import_status", import_id=job.id))
    rules = r.Rules.from_settings(get_session().get(AmazonSettings, account.id))
    found = search(account.id, rules, query="", outcome="")
    return _page(account, rules, found, form=form, error=error, status=status)


@bp.get("/import/<int:import_id>")
@signed_in
def import_status(import_id: int) -> Response:
    """Show an import's progress: the page, or (for htmx polling) the self-replacing progress fragment."""
    account = current_account()
    job = get_session().get(CatalogImport, import_id)
    if job is None or job.account_id != account.id:
        abort(404)
    return render_page("catalog/import", account=account, latest_import=_import_view(job))


def _is_admin() -> bool:
    user = current_user()
    return user is not None and user.role == Role.ADMIN


def _require_admin() -> None:
    if not _is_admin():
        raise Refused("Only admins manage API tokens",
                      "An API token can change every product in your catalog, so only admins create, see or "
                      "revoke them. Ask an admin of your Ecommerce account.")


@bp.get("/api-tokens")
@manage
def api_tokens_page() -> Response:
    """List the account's API tokens (admins only)."""
    _require_admin()
    return _tokens_page(TokenForm(), new_token=None)


def _tokens_page(form: TokenForm, *, new_token: str | None, status: int = 200) -> Response:
    account = current_account()
    assert account.id is not None
    return render_page("catalog/api_tokens", status=status, account=account, form=form,
                       new_token=new_token, tokens=api_tokens.account_tokens(get_session(), account.id),
                       revoke_form=EmptyForm(),
                       api_base=url_for("api.upsert_products", _external=True))


@bp.post("/api-tokens")
@manage
def create_api_token() -> Response:
    """Create a token and show it once (never stored, so this page cannot be reloaded to see it again)."""
    _require_admin()
    form = TokenForm()
    if not form.validate_on_submit():
        return _tokens_page(form, new_token=None, status=422)
    account = current_account()
    user = current_user()
    assert account.id is not None and user is not None
    _, token = api_tokens.create_token(get_session(), account_id=account.id, name=form.name.data or "",
                                       user_id=user.id)
    response = _tokens_page(TokenForm(formdata=None), new_token=token, status=201)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api-tokens/<int:token_id>/revoke")
@manage
def revoke_api_token(token_id: int) -> Response:
    """Revoke a token: calls with it get 401 from now on."""
    _require_admin()
    if not EmptyForm().validate_on_submit():
        abort(400)
    account = current_account()
    assert account.id is not None
    if api_tokens.revoke(get_session(), account.id, token_id) is None:
        abort(404)
    return redirect(url_for(".api_tokens_page"))
