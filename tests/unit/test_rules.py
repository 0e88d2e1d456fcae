"""The rules engine: the guide's examples, and its invariants as properties over random inputs."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wizard import rules as r
from wizard.models.catalog import AmazonSettings
from wizard.rules import Decision, Rules, decide, plan_update, removed_product_update

quantities = st.integers(min_value=0, max_value=10_000)
prices = st.integers(min_value=0, max_value=1_000_000)
rule_sets = st.builds(
    Rules,
    inventory_buffer=st.integers(min_value=0, max_value=500),
    inventory_ceiling=st.none() | st.integers(min_value=0, max_value=500),
    min_price_cents=st.integers(min_value=0, max_value=50_000),
    disable_pricing=st.booleans(),
)
last_values = st.none() | st.integers(min_value=0, max_value=10_000)


# The guide's own examples.

def test_the_guides_example_six_available_with_buffer_6_and_ceiling_4_advertises_4() -> None:
    decision = decide(6, 1999, Rules(inventory_buffer=6, inventory_ceiling=4))
    assert (decision.quantity, decision.reason) == (4, r.CAPPED)
    assert decision.explanation == "6 available, buffer of 6 met, capped by the ceiling of 4 → 4"


def test_the_guides_example_five_available_with_buffer_6_advertises_0() -> None:
    decision = decide(5, 1999, Rules(inventory_buffer=6, inventory_ceiling=4))
    assert (decision.quantity, decision.reason) == (0, r.BELOW_BUFFER)
    assert decision.explanation == "5 available, below the buffer of 6 → 0"
    assert decision.listed and decision.price_cents == 1999


def test_the_buffer_is_a_gate_not_a_subtraction() -> None:
    assert decide(100, 1999, Rules(inventory_buffer=6)).quantity == 100


def test_a_price_below_the_threshold_keeps_the_product_off_amazon() -> None:
    decision = decide(50, 499, Rules(min_price_cents=500))
    assert decision == Decision(
        quantity=0, price_cents=None, reason=r.BELOW_PRICE_THRESHOLD, listed=False,
        explanation=("Price $4.99 is below the minimum price threshold of $5.00"
                     " → kept off Amazon (0, no price)"),
    )


def test_the_threshold_still_gates_inventory_with_pricing_disabled() -> None:
    rules = Rules(min_price_cents=500, disable_pricing=True)
    assert decide(50, 499, rules).quantity == 0
    kept = decide(50, 500, rules)
    assert (kept.quantity, kept.price_cents) == (50, None)
    assert "Disable Pricing is on" in kept.explanation


def test_a_price_exactly_at_the_threshold_is_listed() -> None:
    decision = decide(3, 500, Rules(min_price_cents=500))
    assert (decision.quantity, decision.price_cents, decision.listed) == (3, 500, True)


def test_a_zero_price_is_never_sent_but_the_stock_is() -> None:
    decision = decide(3, 0, Rules())
    assert (decision.quantity, decision.price_cents) == (3, None)


def test_a_ceiling_of_zero_advertises_nothing() -> None:
    assert decide(40, 1999, Rules(inventory_ceiling=0)).quantity == 0


def test_no_settings_saved_means_the_defaults() -> None:
    assert Rules.from_settings(None) == Rules(0, None, 0, False)
    saved = AmazonSettings(account_id=1, inventory_buffer=6, inventory_ceiling=4, min_price_cents=500,
                           disable_pricing=True)
    assert Rules.from_settings(saved) == Rules(6, 4, 500, True)


def test_rules_round_trip_through_their_json_form() -> None:
    rules = Rules(6, None, 1250, True)
    assert Rules.from_dict(rules.as_dict()) == rules


@pytest.mark.parametrize("kwargs", [{"inventory_buffer": -1}, {"inventory_ceiling": -1},
                                    {"min_price_cents": -5}])
def test_rules_refuse_negative_settings(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be 0 or more"):
        Rules(**kwargs)


def test_money_is_formatted_as_us_dollars() -> None:
    assert [r.format_usd(c) for c in (0, 5, 1999, 123456)] == ["$0.00", "$0.05", "$19.99", "$1,234.56"]


# Invariants, over random products and settings.

@given(quantities, prices, rule_sets)
def test_never_more_than_available(available: int, price: int, rules: Rules) -> None:
    assert 0 <= decide(available, price, rules).quantity <= available


@given(quantities, prices, rule_sets)
def test_never_more_than_the_ceiling(available: int, price: int, rules: Rules) -> None:
    if rules.inventory_ceiling is not None:
        assert decide(available, price, rules).quantity <= rules.inventory_ceiling


@given(quantities, prices, rule_sets)
def test_zero_below_the_buffer(available: int, price: int, rules: Rules) -> None:
    if available < rules.inventory_buffer:
        assert decide(available, price, rules).quantity == 0


@given(quantities, prices, rule_sets)
def test_the_quantity_is_the_guides_formula(available: int, price: int, rules: Rules) -> None:
    expected = 0
    if available >= rules.inventory_buffer and price >= rules.min_price_cents:
        ceiling = rules.inventory_ceiling
        expected = available if ceiling is None else min(available, ceiling)
    assert decide(available, price, rules).quantity == expected


@given(quantities, prices, rule_sets)
def test_no_price_when_pricing_is_disabled_or_below_the_threshold(available: int, price: int,
                                                                 rules: Rules) -> None:
    decision = decide(available, price, rules)
    if rules.disable_pricing or price < rules.min_price_cents:
        assert decision.price_cents is None
    if price < rules.min_price_cents:
        assert decision.quantity == 0 and not decision.listed


@given(quantities, prices, rule_sets)
def test_every_decision_explains_itself_with_its_number(available: int, price: int, rules: Rules) -> None:
    decision = decide(available, price, rules)
    assert decision.reason in r.REASON_LABELS
    assert f"→ {decision.quantity}" in decision.explanation or decision.reason == r.BELOW_PRICE_THRESHOLD


# What to send, given what Amazon last accepted.

@given(quantities, prices, rule_sets, st.integers(min_value=1, max_value=10_000), last_values)
def test_a_product_in_stock_on_amazon_that_no_longer_qualifies_gets_an_explicit_zero(
        available: int, price: int, rules: Rules, last_quantity: int, last_price: int | None) -> None:
    decision = decide(available, price, rules)
    update = plan_update(decision, last_quantity, last_price, pricing_disabled=rules.disable_pricing)
    if decision.quantity == 0:
        assert update is not None and update.quantity == 0
        assert update.priority == r.PRIORITY_STOCK_OUT


@given(quantities, prices, rule_sets, last_values, last_values)
def test_the_update_brings_amazon_to_the_decision_and_nothing_else(
        available: int, price: int, rules: Rules, last_quantity: int | None, last_price: int | None) -> None:
    decision = decide(available, price, rules)
    update = plan_update(decision, last_quantity, last_price, pricing_disabled=rules.disable_pricing)
    shown_quantity = last_quantity if update is None or update.quantity is None else update.quantity
    assert shown_quantity == decision.quantity
    if update is not None:
        assert update.quantity is not None or update.price_cents is not None
        if update.price_cents is not None:
            assert not rules.disable_pricing and decision.listed
            assert update.price_cents == decision.price_cents != last_price


def test_nothing_is_sent_when_amazon_already_shows_the_decision() -> None:
    decision = decide(10, 1999, Rules())
    assert plan_update(decision, 10, 1999, pricing_disabled=False) is None


def test_a_never_sent_product_that_does_not_qualify_is_sent_an_explicit_zero_once() -> None:
    decision = decide(2, 1999, Rules(inventory_buffer=6))
    first = plan_update(decision, None, None, pricing_disabled=False)
    assert first is not None and first.quantity == 0
    assert plan_update(decision, 0, 1999, pricing_disabled=False) is None


def test_only_the_price_is_sent_when_only_the_price_changed() -> None:
    update = plan_update(decide(10, 2499, Rules()), 10, 1999, pricing_disabled=False)
    assert update is not None
    assert (update.quantity, update.price_cents, update.priority) == (None, 2499, r.PRIORITY_PRICE)


def test_no_price_is_sent_with_pricing_disabled_even_if_it_changed() -> None:
    assert plan_update(decide(10, 2499, Rules(disable_pricing=True)), 10, 1999, pricing_disabled=True) is None


def test_updates_are_ordered_stock_outs_then_decreases_then_increases() -> None:
    rules = Rules()
    priorities = [plan_update(decide(n, 100, rules), 5, 100, pricing_disabled=False).priority  # type: ignore[union-attr]
                  for n in (0, 3, 9)]
    assert priorities == [r.PRIORITY_STOCK_OUT, r.PRIORITY_DECREASE, r.PRIORITY_INCREASE]


def test_a_product_removed_from_the_catalog_that_amazon_shows_in_stock_gets_zero() -> None:
    update = removed_product_update(7)
    assert update is not None and (update.quantity, update.price_cents) == (0, None)
    assert update.reason == r.REMOVED_FROM_CATALOG
    assert removed_product_update(0) is None and removed_product_update(None) is None


# The price cuts the histogram counts split at: read from outcome_conditions, so they move with the rule.

_RULE = r.outcome_conditions
#: The threshold's comparison written four ways, with where each splits prices (past the threshold or at it).
THRESHOLD_TESTS: list[tuple[Callable[[Any, int], Any], int]] = [
    (lambda price, t: price < t, 0), (lambda price, t: price <= t, 1),
    (lambda price, t: t > price, 0), (lambda price, t: t >= price, 1),
]


@pytest.mark.parametrize(("threshold_test", "cut_past_threshold"), THRESHOLD_TESTS)
@given(rules=rule_sets, available=quantities, price=st.integers(min_value=1, max_value=60_000))
def test_every_price_where_the_outcome_changes_is_a_price_cut(
        threshold_test: Callable[[Any, int], Any], cut_past_threshold: int, rules: Rules, available: int,
        price: int) -> None:
    def edited(rules: Rules, available: Any, price_cents: Any) -> list[tuple[str, Any]]:
        # The rest of the rule does not look at the price.
        rest = [(code, test) for code, test in _RULE(rules, available, 0) if code != r.BELOW_PRICE_THRESHOLD]
        return [(r.BELOW_PRICE_THRESHOLD, threshold_test(price_cents, rules.min_price_cents)), *rest]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(r, "outcome_conditions", edited)
        cuts = r.price_cuts(rules)
        assert cuts == {rules.min_price_cents + cut_past_threshold}
        if r.outcome(available, price - 1, rules)[0] != r.outcome(available, price, rules)[0]:
            assert price in cuts


@given(rules=rule_sets, stock=st.integers(min_value=1, max_value=600), price=prices)
def test_every_stock_level_where_the_outcome_changes_is_a_stock_cut_and_past_the_last_none_does(
        rules: Rules, stock: int, price: int) -> None:
    cuts = r.stock_cuts(rules)
    if r.outcome(stock - 1, price, rules)[0] != r.outcome(stock, price, rules)[0]:
        assert stock in cuts
    tail = max(cuts | {1})
    if stock >= tail:
        assert r.outcome(stock, price, rules)[0] == r.outcome(tail, price, rules)[0]


def test_stock_cuts_follow_an_edited_rule() -> None:
    def edited(rules: Rules, available: Any, price_cents: Any) -> list[tuple[str, Any]]:
        # Written out whole: evaluating the original rule would record its cuts too.
        return [(r.BELOW_PRICE_THRESHOLD, price_cents < rules.min_price_cents),
                (r.OUT_OF_STOCK, available <= 0), (r.BELOW_BUFFER, available < 2 * rules.inventory_buffer),
                (r.CAPPED, available > (rules.inventory_ceiling or 0))]

    assert r.stock_cuts(Rules(inventory_buffer=5, inventory_ceiling=20)) == {1, 5, 21}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(r, "outcome_conditions", edited)
        assert r.stock_cuts(Rules(inventory_buffer=5, inventory_ceiling=20)) == {1, 10, 21}


def test_quantity_sql_binds_every_value_so_settings_of_one_shape_share_one_statement() -> None:
    first: dict[str, int] = {}
    second: dict[str, int] = {}
    text = r.quantity_sql(Rules(inventory_buffer=5, inventory_ceiling=20, min_price_cents=1250), "s", "p",
                          first)
    assert r.quantity_sql(Rules(inventory_buffer=7, inventory_ceiling=3, min_price_cents=99), "s", "p",
                          second) == text
    assert {5, 20, 1250} <= set(first.values()) and {7, 3, 99} <= set(second.values())
    assert not re.search(r"[0-9]", re.sub(r":rule_[0-9]+", "", text))  # no value written into the text
