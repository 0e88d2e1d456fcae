"""The stored catalog histograms stay exact under every kind of write, and the preview read from them equals a
scan of the catalog rows through ``decide()``, for random catalogs and random settings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, text
from sqlmodel import Session

from tests.conftest import Merchant, make_merchant
from wizard import rules as r
from wizard.catalog.importer import Row, write_rows
from wizard.db import engine_for
from wizard.migrate import upgrade
from wizard.models import Product
from wizard.models.catalog_stats import BAND_STEPS, STOCK_CAP, band_end, band_of, rebuild
from wizard.rules import Rules, decide
from wizard.settings.preview import _in_stock_query, impact, products_in_stock, reason_counts

# Prices that sit on, just under and just over the band edges, and anywhere in between.
EDGES = sorted({start + d for start, _ in BAND_STEPS for d in (-1, 0, 1) if start + d >= 0})
prices = st.sampled_from(EDGES) | st.integers(min_value=0, max_value=3_000_000)
stocks = st.sampled_from([0, 1, 2, 5, 6, 7, 40, STOCK_CAP - 1, STOCK_CAP, STOCK_CAP + 5]) | st.integers(0, 60)
thresholds = st.sampled_from([0, 1, 99, 100, 101, 1250, 1999, 2000, 2001]) | st.integers(0, 3_000_000)
units = st.integers(min_value=0, max_value=60) | st.sampled_from([1_000_000])
rule_sets = st.builds(Rules, inventory_buffer=units, inventory_ceiling=st.none() | units,
                      min_price_cents=thresholds, disable_pricing=st.booleans())
#: A write: ("upsert", sku number, available, price) or ("delete", sku number).
writes = st.lists(
    st.tuples(st.just("upsert"), st.integers(0, 25), stocks, prices)
    | st.tuples(st.just("delete"), st.integers(0, 25)),
    max_size=60,
)
property_settings = settings(max_examples=80, deadline=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture])


def _apply(db: Session, account_id: int, operations: Iterable[tuple[Any, ...]]) -> dict[str, tuple[int, int]]:
    """Write through the importer's upsert (CSV and API alike) and plain deletes; return the catalog."""
    catalog: dict[str, tuple[int, int]] = {}
    connection = db.connection()
    for operation in operations:
        sku = f"SKU-{operation[1]}"
        if operation[0] == "upsert":
            write_rows(connection, account_id, [Row(sku, None, operation[2], operation[3])])
            catalog[sku] = (operation[2], operation[3])
        else:
            connection.execute(delete(Product).where(Product.account_id == account_id,  # type: ignore[arg-type]
                                                     Product.sku == sku))  # type: ignore[arg-type]
            catalog.pop(sku, None)
    db.commit()
    return catalog


def _stored(db: Session, table: str, account_id: int) -> set[tuple[int, ...]]:
    query = f"SELECT * FROM {table} WHERE account_id = :a AND (products <> 0 OR units <> 0)"  # noqa: S608
    rows = db.execute(text(query), {"a": account_id}).all()
    return {tuple(row) for row in rows}


def _scan(catalog: Iterable[tuple[int, int]], current: Rules, proposed: Rules) -> dict[str, int]:
    """Compute the preview's counts the slow way: every product through ``decide()``."""
    counts = dict.fromkeys(("total", "in_stock_now", "in_stock_after", "units_now", "units_after",
                            "going_out", "coming_back", "capped_now", "capped_after", "gated_after",
                            "below_threshold_now", "below_threshold_after", "out_of_stock", "prices_now",
                            "prices_after"), 0)
    for available, price in catalog:
        now, after = decide(available, price, current), decide(available, price, proposed)
        counts["total"] += 1
        counts["in_stock_now"] += now.in_stock
        counts["in_stock_after"] += after.in_stock
        counts["units_now"] += now.quantity
        counts["units_after"] += after.quantity
        counts["going_out"] += now.in_stock and not after.in_stock
        counts["coming_back"] += after.in_stock and not now.in_stock
        counts["capped_now"] += now.reason == r.CAPPED
        counts["capped_after"] += after.reason == r.CAPPED
        counts["gated_after"] += after.reason == r.BELOW_BUFFER
        counts["below_threshold_now"] += now.reason == r.BELOW_PRICE_THRESHOLD
        counts["below_threshold_after"] += after.reason == r.BELOW_PRICE_THRESHOLD
        counts["out_of_stock"] += available <= 0
        counts["prices_now"] += now.price_cents is not None
        counts["prices_after"] += after.price_cents is not None
    return counts


def test_band_of_and_band_end_tile_every_price() -> None:
    for price in [*EDGES, 12_345, 99_999_999]:
        lo = band_of(price)
        assert lo <= price < band_end(lo)
        assert band_of(band_end(lo)) == band_end(lo)


def _fresh_catalog(db: Session, merchant: Merchant,
                   operations: list[tuple[Any, ...]]) -> tuple[int, dict[str, tuple[int, int]]]:
    """Empty the catalog (each Hypothesis example starts clean), apply ``operations``; return both."""
    account_id = merchant.account.id
    assert account_id is not None
    db.execute(delete(Product).where(Product.account_id == account_id))  # type: ignore[arg-type]
    db.commit()
    return account_id, _apply(db, account_id, operations)


@property_settings
@given(operations=writes, current=rule_sets, proposed=rule_sets)
def test_the_preview_from_the_histograms_equals_a_scan_of_the_catalog(
        db: Session, merchant: Merchant, operations: list[tuple[Any, ...]], current: Rules,
        proposed: Rules) -> None:
    account_id, catalog = _fresh_catalog(db, merchant, operations)
    summary = impact(db, account_id, current, proposed).summary()
    expected = _scan(catalog.values(), current, proposed)
    assert {key: summary[key] for key in expected} == expected
    assert reason_counts(db, account_id, proposed) == Counter(decide(a, p, proposed).reason
                                                             for a, p in catalog.values())


@property_settings
@given(operations=writes, rules=rule_sets)
def test_the_home_pages_in_stock_count_equals_a_scan_of_the_catalog(
        db: Session, merchant: Merchant, operations: list[tuple[Any, ...]], rules: Rules) -> None:
    account_id, catalog = _fresh_catalog(db, merchant, operations)
    expected = _scan(catalog.values(), rules, rules)
    assert products_in_stock(db, account_id, rules) == (expected["total"], expected["in_stock_now"])


@pytest.mark.parametrize(("current_cents", "proposed_cents"), [
    (0, 1201), (0, 1250), (0, 1299), (1210, 1290), (1290, 1210), (1201, 1299), (1250, 1250), (1299, 0),
])
def test_a_threshold_inside_a_stored_band_counts_every_exact_price_on_its_side(
        db: Session, merchant: Merchant, current_cents: int, proposed_cents: int) -> None:
    # Every price of the stored band [1200, 1300) and its neighbours, at stock levels on every side of the
    # buffer and the ceiling: whichever part of the band the preview reads exactly, each product must count.
    account_id = merchant.account.id
    assert account_id is not None
    catalog = {f"P{price}-{stock}": (stock, price) for price in range(1190, 1311) for stock in (0, 3, 7, 50)}
    write_rows(db.connection(), account_id, [Row(sku, None, a, p) for sku, (a, p) in catalog.items()])
    db.commit()
    current = Rules(inventory_buffer=4, inventory_ceiling=None, min_price_cents=current_cents)
    proposed = Rules(inventory_buffer=6, inventory_ceiling=20, min_price_cents=proposed_cents)
    summary = impact(db, account_id, current, proposed).summary()
    expected = _scan(catalog.values(), current, proposed)
    assert {key: summary[key] for key in expected} == expected
    for rules, in_stock in ((current, expected["in_stock_now"]), (proposed, expected["in_stock_after"])):
        assert products_in_stock(db, account_id, rules) == (len(catalog), in_stock)


_RULE = r.outcome_conditions


def _with(reason: str, condition: Any) -> Any:
    """Return the rule with ``reason``'s condition replaced by ``condition(rules, available, price)``."""
    def edited(rules: Rules, available: Any, price_cents: Any) -> list[tuple[str, Any]]:
        return [(code, condition(rules, available, price_cents) if code == reason else test)
                for code, test in _RULE(rules, available, price_cents)]
    return edited


def _ceiling_0_is_no_ceiling(rules: Rules, available: Any, price_cents: Any) -> list[tuple[str, Any]]:
    return [(code, test) for code, test in _RULE(rules, available, price_cents)
            if code != r.CAPPED or rules.inventory_ceiling]


#: Edits someone could make to ``outcome_conditions``, each with a product whose outcome it changes:
#: (available, price, rules). A count that restates the rule instead of reading it keeps the old answer.
RULE_EDITS = {
    "the threshold itself is too low": (
        _with(r.BELOW_PRICE_THRESHOLD, lambda rules, _, price: price <= rules.min_price_cents),
        (5, 1250, Rules(min_price_cents=1250))),
    "a $0.00 price keeps a product off Amazon": (
        _with(r.BELOW_PRICE_THRESHOLD, lambda rules, _, price: price < max(1, rules.min_price_cents)),
        (5, 0, Rules())),
    "the threshold is compared inside a stored band": (
        _with(r.BELOW_PRICE_THRESHOLD, lambda rules, _, price: price < rules.min_price_cents + 37),
        (5, 1260, Rules(min_price_cents=1250))),
    "the threshold allows a margin below it": (
        _with(r.BELOW_PRICE_THRESHOLD, lambda rules, _, price: price < rules.min_price_cents - 37),
        (5, 1220, Rules(min_price_cents=1250))),
    "the buffer must be exceeded": (
        _with(r.BELOW_BUFFER, lambda rules, available, _: available <= rules.inventory_buffer),
        (5, 2000, Rules(inventory_buffer=5))),
    "a ceiling of 0 means no ceiling": (_ceiling_0_is_no_ceiling, (5, 2000, Rules(inventory_ceiling=0))),
    # The preview counts every stock level past the rule's last one as one tail: it must be the rule's.
    "the buffer counts double": (
        _with(r.BELOW_BUFFER, lambda rules, available, _: available < 2 * rules.inventory_buffer),
        (6, 2000, Rules(inventory_buffer=5))),
}


@pytest.mark.parametrize("edit", RULE_EDITS)
def test_the_in_stock_count_and_the_preview_follow_an_edited_rule(
        db: Session, merchant: Merchant, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest,
        edit: str) -> None:
    # The count must be written by the rule's one definition: edit outcome_conditions and the count follows,
    # at every price and stock level around the edges the edit moves.
    edited, (available, price, witness) = RULE_EDITS[edit]
    before = decide(available, price, witness).in_stock
    monkeypatch.setattr(r, "outcome_conditions", edited)
    # The count's statements are kept per settings, written from the rule of the moment (production never
    # changes it): forget those of the rule before the edit, and the edited rule's once the test is over.
    _in_stock_query.cache_clear()
    request.addfinalizer(_in_stock_query.cache_clear)
    assert decide(available, price, witness).in_stock != before  # the edit changes what the sync sends
    account_id = merchant.account.id
    assert account_id is not None
    catalog = {f"P{price}-{stock}": (stock, price)
               for price in [0, 1, 2, *range(1190, 1311), 1999, 2000, 2001, 2037, 2038]
               for stock in (0, 1, 4, 5, 6, 50)}
    write_rows(db.connection(), account_id, [Row(sku, None, a, p) for sku, (a, p) in catalog.items()])
    db.commit()
    settings = [Rules(inventory_buffer=buffer, inventory_ceiling=ceiling, min_price_cents=cents)
                for buffer in (0, 5) for ceiling in (None, 0, 3) for cents in (0, 1250, 1290, 2000)]
    for rules in [witness, *settings]:
        in_stock = sum(decide(a, p, rules).in_stock for a, p in catalog.values())
        assert products_in_stock(db, account_id, rules) == (len(catalog), in_stock), rules
    # The preview's counts follow it too.
    for current, proposed in zip(settings, [witness, *settings[:-1]], strict=True):
        expected = _scan(catalog.values(), current, proposed)
        summary = impact(db, account_id, current, proposed, examples=0).summary()
        assert {key: summary[key] for key in expected} == expected, (current, proposed)


#: What makes a product an example of each line of the preview, from ``decide()`` on its own row.
EXAMPLE_KEYS = {
    "going_out": lambda now, after: now.in_stock and not after.in_stock,
    "coming_back": lambda now, after: after.in_stock and not now.in_stock,
    "capped": lambda now, after: after.reason == r.CAPPED,
    "gated": lambda now, after: after.reason == r.BELOW_BUFFER,
    "below_threshold": lambda now, after: after.reason == r.BELOW_PRICE_THRESHOLD,
}


@property_settings
@given(operations=writes, current=rule_sets, proposed=rule_sets)
def test_the_previews_examples_are_real_products_of_their_line_as_many_as_there_are(
        db: Session, merchant: Merchant, operations: list[tuple[Any, ...]], current: Rules,
        proposed: Rules) -> None:
    account_id, catalog = _fresh_catalog(db, merchant, operations)
    result = impact(db, account_id, current, proposed, examples=3)
    for key, belongs in EXAMPLE_KEYS.items():
        members = {sku for sku, (a, p) in catalog.items()
                   if belongs(decide(a, p, current), decide(a, p, proposed))}
        shown = result.examples.get(key, [])
        assert len(shown) == min(3, len(members)), key
        assert len({ex.sku for ex in shown}) == len(shown)
        for ex in shown:
            assert ex.sku in members and (ex.available, ex.price_cents) == catalog[ex.sku], key
            after = decide(ex.available, ex.price_cents, proposed)
            assert (ex.after, ex.quantity_after) == (after.explanation, after.quantity)


@property_settings
@given(operations=writes)
def test_every_write_keeps_the_histograms_equal_to_a_rebuild(
        db: Session, merchant: Merchant, operations: list[tuple[Any, ...]]) -> None:
    account_id = merchant.account.id
    assert account_id is not None
    _apply(db, account_id, operations)
    stored = {table: _stored(db, table, account_id)
              for table in ("catalog_histogram", "catalog_price_histogram")}
    rebuild(db.connection(), account_id)
    db.commit()
    for table, rows in stored.items():
        assert rows == _stored(db, table, account_id), table


def test_another_accounts_products_never_count(db: Session, merchant: Merchant) -> None:
    other = make_merchant(db, name="Other", domain="other.example")
    assert merchant.account.id is not None and other.account.id is not None
    connection = db.connection()
    write_rows(connection, merchant.account.id, [Row("A", None, 5, 1000)])
    write_rows(connection, other.account.id, [Row("A", None, 9, 1000), Row("B", None, 0, 10)])
    db.commit()
    result = impact(db, merchant.account.id, Rules(), Rules(inventory_buffer=6))
    assert (result.total, result.in_stock_now, result.going_out) == (1, 1, 1)


def test_the_migrations_fill_the_histograms_and_install_the_triggers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'migrated.sqlite'}"
    upgrade(url, "0001")
    with engine_for(url).begin() as connection:
        connection.exec_driver_sql("INSERT INTO account (id, name, created_at) VALUES (1, 'A', '2026-01-01')")
        write_rows(connection, 1, [Row("OLD", None, 7, 1999)])
    upgrade(url)
    with engine_for(url).begin() as connection:
        write_rows(connection, 1, [Row("NEW", None, 3, 1999)])
        cells = connection.execute(text("SELECT stock, band, products, units FROM catalog_histogram")).all()
    assert sorted(map(tuple, cells)) == [(3, 1900, 1, 3), (7, 1900, 1, 7)]


def test_on_sqlite_the_histograms_are_clustered_by_their_key_after_create_all_and_the_migrations(
        database_url: str, tmp_path: Path) -> None:
    migrated = f"sqlite:///{tmp_path / 'migrated.sqlite'}"
    upgrade(migrated)
    for url in (database_url, migrated):
        if not url.startswith("sqlite"):
            continue
        with engine_for(url).connect() as connection:
            tables = dict(connection.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE name IN ('catalog_histogram', "
                "'catalog_price_histogram')")).all())
        assert set(tables) == {"catalog_histogram", "catalog_price_histogram"}
        assert all(sql.rstrip().endswith("WITHOUT ROWID") for sql in tables.values()), tables
