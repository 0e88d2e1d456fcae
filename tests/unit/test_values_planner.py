"""The sync's values-only planner, generated from the rule, sends what ``plan_update(decide())`` says."""

from __future__ import annotations

from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wizard import rules as r
from wizard.rules import Rules, decide, plan_update, values_planner

small = st.integers(min_value=0, max_value=12)
rule_sets = st.builds(Rules, inventory_buffer=small, inventory_ceiling=st.none() | small,
                      min_price_cents=st.sampled_from([0, 1, 500, 999, 1000]) | st.integers(0, 5000),
                      disable_pricing=st.booleans())
rows = st.lists(st.tuples(
    st.integers(min_value=-3, max_value=20),
    st.sampled_from([0, 1, 499, 500, 501, 999, 1000]) | st.integers(0, 5000),
    st.none() | st.integers(min_value=0, max_value=20),
    st.none() | st.sampled_from([0, 1, 499, 500, 1000]) | st.integers(0, 5000),
), max_size=50)


Catalog = list[tuple[int, int, int | None, int | None]]


def _run(rules: Rules, catalog: Catalog) -> list[tuple[int, str, int, int]]:
    skus: dict[int, list[str]] = {p: [] for p in range(4)}
    values: dict[int, array[int]] = {p: array("q") for p in range(4)}
    values_planner(rules)(((f"SKU-{i}", *row) for i, row in enumerate(catalog)), skus, values)
    return [(priority, sku, values[priority][2 * i], values[priority][2 * i + 1])
            for priority in range(4) for i, sku in enumerate(skus[priority])]


@settings(max_examples=400, deadline=None)
@given(rules=rule_sets, catalog=rows)
def test_the_values_planner_agrees_with_decide_and_plan_update(
        rules: Rules, catalog: Catalog) -> None:
    expected = []
    for i, (available, price, last_quantity, last_price) in enumerate(catalog):
        update = plan_update(decide(available, price, rules), last_quantity, last_price,
                             pricing_disabled=rules.disable_pricing)
        if update is not None:
            expected.append((update.priority, f"SKU-{i}",
                             r.NOT_SENT if update.quantity is None else update.quantity,
                             r.NOT_SENT if update.price_cents is None else update.price_cents))
    assert _run(rules, catalog) == sorted(expected, key=lambda e: e[0])


def test_the_planner_is_written_by_the_rule_itself() -> None:
    # A rule comparing with anything but an int cannot be turned into code; it says so instead.
    with pytest.raises(TypeError, match="ints only"):
        r._Source("available") < "6"  # noqa: B015
