"""Serve a repeated view of an unchanged dashboard page from memory, skipping its queries and its template.

A signed-in page costs its view's queries and template render on every request, though the home and
settings pages change only when the account's state does. :func:`cached_page` keeps each rendered page in a
small per-process LRU, under a key that holds everything the page shows:

- the sign-in row, already read for every request (:mod:`wizard.security`): the user (id, name, role), the
  account, its connection and settings rows (every column), and the sync waiting for approval;
- a fingerprint of the rest, *derived* from the tables by scalar subqueries in the same round trip as the
  sign-in (:func:`fingerprint_columns`): no writer has to remember to bump a version, and a row changed by
  any process on any machine changes the key;
- the request: endpoint, path and query string, the htmx headers that choose page or fragment.

Nothing per session is stored: the CSRF token is swapped for a placeholder before storing and the
requester's own token is put back on each hit, and a request with flash messages waiting bypasses the cache
(they are shown once). Only full 200 HTML answers of ``GET`` are stored.

Time on these pages: absolute dates only, except the price-drift note ("changed elsewhere in the last day",
"keeps happening" over a week), whose windows are in the fingerprint as counts relative to now.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, current_app, g, request, session
from flask_wtf.csrf import generate_csrf
from sqlalchemy import Select, String, bindparam, func, literal_column, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.sql.elements import ColumnElement, Label
from sqlalchemy.sql.selectable import ScalarSelect
from sqlmodel import SQLModel, col
from werkzeug.wrappers import Response

from wizard.db import table_of
from wizard.models.base import utcnow

F = TypeVar("F", bound=Callable[..., Any])

#: The pages whose sign-in query also reads the fingerprint (the endpoints under :func:`cached_page`).
CACHED_ENDPOINTS = frozenset({"home.index", "amazon_settings.index"})
#: Stands in for the CSRF token in a stored page; cannot occur in a token (itsdangerous uses [A-Za-z0-9._-]).
_TOKEN = "\x00csrf\x00"  # noqa: S105 - a placeholder, not a secret
#: The request headers that decide what a page renders (``wizard.rendering.render_page``).
_VARIANT_HEADERS = ("HX-Request", "HX-Boosted", "HX-History-Restore-Request", "HX-Target")
_EXTENSION = "wizard.pagecache"


@dataclass(frozen=True)
class _Entry:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: str
    has_token: bool


class PageCache:
    """A bounded, thread-safe LRU of rendered pages (one per app, per worker process)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> _Entry | None:
        """Return the entry under ``key``, marking it recently used."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple[Any, ...], entry: _Entry) -> None:
        """Store ``entry``, dropping the least recently used one beyond the size."""
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def init_app(app: Flask) -> None:
    """Give ``app`` its page cache (``PAGE_CACHE_SIZE`` pages; 0 turns it off)."""
    app.extensions[_EXTENSION] = PageCache(int(app.config["PAGE_CACHE_SIZE"]))


def cache_of(app: Flask) -> PageCache:
    """Return ``app``'s page cache."""
    cache: PageCache = app.extensions[_EXTENSION]
    return cache


def wants_fingerprint() -> bool:
    """Return whether this request's sign-in query should also read the fingerprint."""
    return (request.method == "GET" and request.endpoint in CACHED_ENDPOINTS
            and cache_of(current_app).size > 0)


def fingerprint_columns() -> list[Label[Any]]:
    """Return the fingerprint's scalar subqueries, correlated with the enclosing query's ``account`` row.

    Each is an indexed seek or a read of a few rows. Together with the sign-in row they change whenever
    anything the home or settings page shows changes:

    - ``products``: the newest product change (every catalog writer stamps ``updated_at``, as the urgent lane
      already relies on). The catalog histograms follow the products by trigger.
    - ``histogram``: the account's products and units as the histogram counts them (a few hundred rows): a
      product deleted by the platform or an operator changes no ``updated_at``, but always these totals.
    - ``newest_run`` / ``newest_status`` / ``last_success``: the runs the home card shows, picked as
      ``ledger.latest_and_last_success`` picks them; a finished run does not change again.
    - ``listing_counts`` / ``amazon_counts``: the stored counts the sync and the read-back write.
    - ``drift_*``: the price-drift note's windows (the newest drift, and how many in the last day and week).
    - ``people``: the account's users (the managers a staff user is told to ask, the history's names).

    The settings history needs nothing more: a version is only ever added with a change of the settings row
    (``settings.service.apply_rules``), which is in the sign-in row.
    """
    from wizard.models import Account, Product, User
    from wizard.models.catalog_stats import CatalogHistogram
    from wizard.models.listing_stats import AmazonListingCount, ListingStatusCount
    from wizard.models.reconcile import ListingDrift
    from wizard.models.sync import RunStatus, SyncRun
    from wizard.reconcile.status import _price_drift_condition

    # Constants written into the SQL, not bound: each bound value costs Python calls on every execution.
    empty, colon = literal_column("''", String), literal_column("':'", String)

    def text(value: Any) -> ColumnElement[str]:
        return func.coalesce(sql_cast(value, String), empty)

    def joined(*values: Any) -> ColumnElement[str]:
        out = text(values[0])
        for value in values[1:]:
            out = out + colon + text(value)
        return out

    account_id = col(Account.id)

    def of(statement: Select[Any]) -> ScalarSelect[Any]:
        # Only the account comes from outside: the sign-in query also reads a ``user`` row, and the people
        # subquery must read every user of the account, not that one.
        return statement.correlate(Account).scalar_subquery()

    run = col(SyncRun.id)
    of_account = col(SyncRun.account_id) == account_id
    newest = of(select(func.max(run)).where(of_account))
    drift_table = table_of(ListingDrift)
    histogram = table_of(CatalogHistogram).c
    drift, amazon, listing = (table_of(model).c for model in (ListingDrift, AmazonListingCount,
                                                               ListingStatusCount))
    drifts = _price_drift_condition(account_id)
    return [
        of(select(func.max(col(Product.updated_at))).where(col(Product.account_id) == account_id))
        .label("products"),
        of(select(joined(func.sum(histogram.products), func.sum(histogram.units)))
           .where(histogram.account_id == account_id)).label("histogram"),
        newest.label("newest_run"),
        of(select(col(SyncRun.status)).where(run == newest)).label("newest_status"),
        of(select(func.max(run)).where(of_account, col(SyncRun.status) == RunStatus.DONE,
                                       col(SyncRun.sent_count) > 0)).label("last_success"),
        of(select(func.aggregate_strings(joined(listing.status, listing.listings), ";"))
           .where(listing.account_id == account_id)).label("listing_counts"),
        of(select(joined(*(column for column in amazon if column.name != "account_id")))
           .where(amazon.account_id == account_id)).label("amazon_counts"),
        of(select(func.max(drift.id)).where(drift.account_id == account_id)).label("drift_newest"),
        of(select(func.count()).select_from(drift_table)
           .where(*drifts, drift.detected_at >= bindparam("day_ago"))).label("drift_day"),
        of(select(func.count()).select_from(drift_table)
           .where(*drifts, drift.detected_at >= bindparam("week_ago"))).label("drift_week"),
        of(select(func.aggregate_strings(joined(col(User.id), col(User.role), col(User.name)), ","))
           .where(col(User.account_id) == account_id)).label("people"),
    ]


def fingerprint_params() -> dict[str, Any]:
    """Return the bound values of :func:`fingerprint_columns` (the windows are relative to now)."""
    now = utcnow()
    return {"day_ago": now - timedelta(days=1), "week_ago": now - timedelta(days=7)}


def _columns(row: SQLModel | None) -> tuple[Any, ...] | None:
    if row is None:
        return None
    return tuple(getattr(row, name) for name in type(row).model_fields)


def _key() -> tuple[Any, ...] | None:
    """Return this request's key, or None when it must not be cached (see the module docstring)."""
    fingerprint = g.get("page_fingerprint")
    if fingerprint is None or request.method != "GET" or "_flashes" in session:
        return None
    user = g.current_user
    return (request.endpoint, request.script_root, request.full_path,
            *(request.headers.get(name) for name in _VARIANT_HEADERS),
            user.id, user.name, user.role, g.signed_in_hold_id,
            _columns(g.signed_in_account), _columns(g.signed_in_connection), _columns(g.signed_in_settings),
            fingerprint)


def _stored(response: Response) -> _Entry | None:
    if response.status_code != 200 or response.is_streamed or response.mimetype != "text/html":
        return None
    body = response.get_data(as_text=True)
    if _TOKEN in body:
        return None
    token = g.get("csrf_token")
    has_token = bool(token) and token in body
    if has_token:
        body = body.replace(token, _TOKEN)
    return _Entry(status=response.status_code, headers=tuple(response.headers.items()), body=body,
                  has_token=has_token)


def _served(entry: _Entry) -> Response:
    body = entry.body.replace(_TOKEN, generate_csrf()) if entry.has_token else entry.body
    return Response(body, status=entry.status, headers=list(entry.headers))


def cached_page(view: F) -> F:
    """Serve ``view`` from the page cache when nothing it shows changed (under the access decorator)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        cache = cache_of(current_app)
        key = _key() if cache.size else None
        if key is None:
            return view(*args, **kwargs)
        entry = cache.get(key)
        if entry is not None:
            return _served(entry)
        response = view(*args, **kwargs)
        if isinstance(response, Response) and (stored := _stored(response)) is not None:
            cache.put(key, stored)
        return response

    # wraps() copies the view's name and metadata, and the wrapper takes the same arguments: it is an F.
    return cast(F, wrapped)
