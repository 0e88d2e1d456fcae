"""Every form of the rule reads negative stock (an oversold product) as ``decide()`` does: as none.

``decide()``, the sync's values-only planner, the SQL text of the home page's count (``quantity_sql``) and the
SQL expressions of the catalog filters and the sync's pre-filter (``reason_expr``, ``quantity_expr``,
``reason_condition``) are compared for negative stock, for every shape of the settings, on the test's
database (``--db=sqlite`` and ``--db=postgresql``). With the rule as it is, ``available <= 0`` would hide a
form that forgets to read negative stock as 0; the two edits below make the difference show, in the quantity
and in the reason, so the test fails if any one form stops doing it.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import delete, literal, select, text
from sqlmodel import Session, col

from tests.conftest import Merchant
from wizard import rules as r
from wizard.models import Product
from wizard.rules import Rules, decide

Rule = Callable[[Rules, Any, Any], list[tuple[str, Any]]]
_RULE: Rule = r.outcome_conditions


def _stock_unchecked(rules: Rules, available: Any, price_cents: Any) -> list[tuple[str, Any]]:
    # No out-of-stock condition, and a buffer of 0 gates nothing: the stock read reaches "all units"
    # unchecked, and its quantity is that stock itself.
    return [(code, test) for code, test in _RULE(rules, available, price_cents)
            if code != r.OUT_OF_STOCK and (code != r.BELOW_BUFFER or rules.inventory_buffer)]


def _buffer_first(rules: Rules, available: Any, price_cents: Any) -> list[tuple[str, Any]]:
    # With a buffer of 0, only a stock below 0 is "below the buffer": the reason tells the stock read.
    conditions = dict(_RULE(rules, available, price_cents))
    first = [r.BELOW_PRICE_THRESHOLD, r.BELOW_BUFFER, r.OUT_OF_STOCK]
    return [(code, conditions[code]) for code in first] + [
        (code, test) for code, test in conditions.items() if code not in first]


RULES: dict[str, Rule] = {
    "the rule as it is": _RULE,
    "no out-of-stock condition, and a buffer of 0 gates nothing": _stock_unchecked,
    "the buffer is checked before out of stock": _buffer_first,
}
SETTINGS = [Rules(inventory_buffer=buffer, inventory_ceiling=ceiling, min_price_cents=threshold,
                  disable_pricing=disabled)
            for buffer, ceiling, threshold, disabled in itertools.product(
                (0, 1, 5), (None, 0, 3), (0, 1, 1000), (False, True))]
STOCKS = (-1, -6, -1_000_000)
PRICES = (0, 999, 1000, 5000)
CATALOG = list(itertools.product(STOCKS, PRICES))


def _planned_quantities(rules: Rules) -> dict[tuple[int, int], int]:
    """Return the quantity the sync's planner sends for each stock and price of CATALOG, never sent before."""
    skus: dict[int, list[int]] = {p: [] for p in range(4)}
    values: dict[int, array[int]] = {p: array("q") for p in range(4)}
    r.values_planner(rules)(((i, a, p, None, None) for i, (a, p) in enumerate(CATALOG)), skus, values)
    return {CATALOG[i]: values[p][2 * n] for p in range(4) for n, i in enumerate(skus[p])}


def _sql_forms(db: Session, rules: Rules) -> dict[tuple[int, int], tuple[str, int, int]]:
    """Return ``reason_expr``, ``quantity_expr`` and ``quantity_sql`` of each stock and price of CATALOG."""
    expressions = [column for available, price in CATALOG for column in (
        r.reason_expr(rules, literal(available), literal(price)),
        r.quantity_expr(rules, literal(available), literal(price)))]
    found = db.execute(select(*expressions)).one()
    params: dict[str, int] = {}
    columns = [r.quantity_sql(rules, f":a{i}", f":p{i}", params) for i in range(len(CATALOG))]
    values = {**params, **{f"a{i}": a for i, (a, _) in enumerate(CATALOG)},
              **{f"p{i}": p for i, (_, p) in enumerate(CATALOG)}}
    written = db.execute(text(f"SELECT {', '.join(columns)}"), values).one()  # noqa: S608
    return {product: (found[2 * i], int(found[2 * i + 1]), int(written[i]))
            for i, product in enumerate(CATALOG)}


@pytest.mark.parametrize("rule", RULES)
def test_every_form_of_the_rule_reads_negative_stock_as_none(
        db: Session, merchant: Merchant, monkeypatch: pytest.MonkeyPatch, rule: str) -> None:
    monkeypatch.setattr(r, "outcome_conditions", RULES[rule])
    account_id = merchant.account.id
    assert account_id is not None
    db.execute(delete(Product).where(col(Product.account_id) == account_id))
    db.add_all(Product(account_id=account_id, sku=f"SKU{a}-{p}", title="Oversold", available=a, price_cents=p)
               for a, p in CATALOG)
    db.commit()
    for rules in SETTINGS:
        sql, planned = _sql_forms(db, rules), _planned_quantities(rules)
        for available, price in CATALOG:
            none = decide(0, price, rules)
            if rule == "the rule as it is":
                assert none.quantity == 0
            expected = (none.reason, none.quantity)
            where = (rule, rules, available, price)
            decision = decide(available, price, rules)
            assert (decision.reason, decision.quantity) == expected, where
            assert decision.explanation == none.explanation, where
            assert planned[available, price] == none.quantity, where
            assert sql[available, price] == (*expected, none.quantity), where
        for code in r.REASON_LABELS:
            matched = db.execute(select(col(Product.available), col(Product.price_cents)).where(
                col(Product.account_id) == account_id, r.reason_condition(rules, code))).all()
            expected_rows = [(a, p) for a, p in CATALOG if decide(0, p, rules).reason == code]
            assert sorted(matched) == sorted(expected_rows), (rule, rules, code)
