"""The catalog page: search and filter products by what Amazon shows, import a CSV, manage API tokens."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, current_app, make_response, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from sqlmodel import col
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from wizard import rules as r
from wizard.catalog import api_tokens
from wizard.catalog import search as catalog_search
from wizard.catalog.importer import is_stale, start_import
from wizard.db import get_session
from wizard.extensions import htmx
from wizard.forms import EmptyForm
from wizard.models import AmazonSettings, CatalogImport, Product, Role
from wizard.models.catalog import SKU_MAX_LENGTH
from wizard.reconcile import status as reconcile_status
from wizard.rendering import render_page
from wizard.rules import quantity_expr, reason_condition
from wizard.security import Refused, can_manage, current_account, current_user, manage, signed_in
from wizard.settings.preview import reason_counts

bp = Blueprint("catalog", __name__, url_prefix="/catalog")

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_QUERY = 100

#: Filter value -> label; each is computed in SQL from the rules (``wizard.settings.preview``).
OUTCOME_FILTERS: dict[str, str] = {
    "": "All products",
    "in_stock": "In stock on Amazon",
    r.BELOW_BUFFER: "Gated by the buffer",
    r.CAPPED: "Capped by the ceiling",
    r.BELOW_PRICE_THRESHOLD: "Below the price threshold",
    r.OUT_OF_STOCK: "Out of stock (0 available)",
    # What Amazon really shows, from the reconcile's reads (issue 10).
    **reconcile_status.FILTERS,
}


class ImportForm(FlaskForm):
    """A CSV file of products."""

    file = FileField("CSV file")


class TokenForm(FlaskForm):
    """A name for a new API token."""

    name = StringField("Token name", validators=[
        DataRequired("Give the token a name, like “Ecommerce platform”."),
        Length(max=100, message="Use at most 100 characters."),
    ])


@dataclass(frozen=True)
class CatalogRow:
    """A product with what Amazon should show for it, and why."""

    product: Product
    decision: r.Decision


def _outcome_condition(outcome: str, rules: r.Rules) -> Any:
    if outcome in reconcile_status.FILTERS:
        return reconcile_status.filter_condition(outcome)
    if outcome == "in_stock":
        return quantity_expr(rules) > 0
    return reason_condition(rules, outcome)


def search(account_id: int, rules: r.Rules, *, query: str, outcome: str, after: str | None = None,
           before: str | None = None) -> dict[str, Any]:
    """Return one page of the catalog matching the search and the outcome filter, and how many match.

    Pages are keyset pages by SKU (``after`` / ``before``), so any page costs what the first costs. Without a
    search the count comes from the stored histograms; with one it stops at ``search.COUNT_CAP``.
    """
    session = get_session()
    conditions: list[Any] = [col(Product.account_id) == account_id]
    if outcome:
        conditions.append(_outcome_condition(outcome, rules))
    if query:
        conditions.append(catalog_search.text_condition(session, query))
    if query or outcome in reconcile_status.FILTERS:
        total, more = catalog_search.bounded_count(session, conditions)
    else:
        counts = reason_counts(session, account_id, rules)
        if outcome == "in_stock":  # a quantity above 0: in stock, and capped unless capped at 0
            total = counts.get(r.IN_STOCK, 0) + (counts.get(r.CAPPED, 0) if rules.inventory_ceiling else 0)
        else:
            total = counts.get(outcome, 0) if outcome else sum(counts.values())
        more = False
    found = catalog_search.page_of(session, conditions, after=after, before=before)
    rows = [CatalogRow(p, r.decide(p.available, p.price_cents, rules)) for p in found.products]
    amazon = reconcile_status.amazon_views(session, account_id, [p.sku for p in found.products],
                                           current_app.config["AMAZON_SELLER_CENTRAL_URL"])
    return {"rows": rows, "total": total, "more": more, "next_after": found.next_after,
            "prev_before": found.prev_before, "query": query, "outcome": outcome, "amazon": amazon}


def _page_url(results: dict[str, Any], *, after: str | None = None, before: str | None = None) -> str:
    args: dict[str, Any] = {}
    if results["query"]:
        args["q"] = results["query"]
    if results["outcome"]:
        args["outcome"] = results["outcome"]
    if after is not None:
        args["after"] = after
    if before is not None:
        args["before"] = before
    return url_for("catalog.index", **args)


def _latest_import(account_id: int) -> CatalogImport | None:
    return get_session().execute(
        select(CatalogImport).where(col(CatalogImport.account_id) == account_id)
        .order_by(col(CatalogImport.id).desc()).limit(1)
    ).scalar_one_or_none()


@bp.get("/")
@signed_in
def index() -> Response:
    """Show the catalog; htmx searches get only the results table."""
    account = current_account()
    assert account.id is not None
    query = request.args.get("q", "").strip()[:MAX_QUERY]
    outcome = request.args.get("outcome", "")
    if outcome not in OUTCOME_FILTERS:
        outcome = ""
    after = request.args.get("after", "")[:SKU_MAX_LENGTH] or None
    before = request.args.get("before", "")[:SKU_MAX_LENGTH] or None
    rules = r.Rules.from_settings(get_session().get(AmazonSettings, account.id))
    results = search(account.id, rules, query=query, outcome=outcome, after=after, before=before)
    context: dict[str, Any] = {
        "account": account, "rules": rules, "results": results, "filters": OUTCOME_FILTERS,
        "page_url": lambda **cursor: _page_url(results, **cursor), "usd": r.format_usd,
        "labels": r.REASON_LABELS, "not_on_amazon_advice": reconcile_status.NOT_ON_AMAZON_ADVICE,
        "editable": can_manage(), "is_admin": _is_admin(), "import_form": ImportForm(),
        "latest_import": _import_view(_latest_import(account.id)), "import_error": None,
    }
    if htmx and htmx.target == "catalog-results":
        response = make_response(render_template("partial/catalog/results.html", **context))
        response.headers["Vary"] = "HX-Request"
        return response
    return render_page("catalog/index", **context)


def _import_view(job: CatalogImport | None) -> dict[str, Any] | None:
    if job is None:
        return None
    percent = 100 if job.status != "running" else (
        int(100 * job.processed_rows / job.total_rows) if job.total_rows else 0)
    return {"job": job, "percent": min(percent, 100), "errors": json.loads(job.errors_json or "[]"),
            "stale": is_stale(job), "running": job.status == "running" and not is_stale(job)}


@bp.post("/import")
@manage
def import_csv() -> Response:
    """Start a CSV import and show its progress (post/redirect/get)."""
    account = current_account()
    assert account.id is not None
    form = ImportForm()
    upload = request.files.get("file")
    error = None
    if not form.validate_on_submit():
        error = "Your form expired. Reload the page and choose the file again."
    elif upload is None or not upload.filename:
        error = "Choose a CSV file to import."
    else:
        data = upload.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            error = (f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB. Split it into smaller "
                     "files.")
        elif not data.strip():
            error = "The file is empty. The first line must be the header: sku,title,available,price"
        else:
            user = current_user()
            job = start_import(get_session(), current_app.config["DATABASE_URL"], account_id=account.id,
                               user_id=user.id if user else None, filename=upload.filename, data=data)
            return redirect(url_for(".import_status", import_id=job.id))
    rules = r.Rules.from_settings(get_session().get(AmazonSettings, account.id))
    results = search(account.id, rules, query="", outcome="")
    return render_page(
        "catalog/index", status=422, account=account, rules=rules, results=results, filters=OUTCOME_FILTERS,
        page_url=lambda **cursor: _page_url(results, **cursor), usd=r.format_usd, labels=r.REASON_LABELS,
        editable=True,
        is_admin=_is_admin(), import_form=form, latest_import=_import_view(_latest_import(account.id)),
        import_error=error,
    )


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
