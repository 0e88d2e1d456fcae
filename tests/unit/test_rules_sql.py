"""The SQL built from the rule (catalog filters, impact preview) agrees with ``decide()`` on random data."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlmodel import Session

from tests.conftest import Merchant
from wizard import rules as r
from wizard.models import Product
from wizard.rules import Rules, decide, quantity_expr, reason_condition, reason_expr
from wizard.settings.preview import impact

rule_sets = st.builds(
    Rules,
    inventory_buffer=st.integers(min_value=0, max_value=12),
    inventory_ceiling=st.none() | st.integers(min_value=0, max_value=12),
    min_price_cents=st.sampled_from([0, 1, 500, 999, 1000, 2500]),
    disable_pricing=st.booleans(),
)
catalogs = st.lists(
    st.tuples(st.integers(min_value=0, max_value=30),
              st.sampled_from([0, 1, 499, 500, 501, 999, 1000, 1999, 2500, 40000])),
    max_size=40,
)
# Each example rewrites the merchant's catalog, so sharing the function-scoped database between them is safe.
property_settings = settings(max_examples=60, deadline=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture])


def _replace_catalog(db: Session, account_id: int, catalog: list[tuple[int, int]]) -> None:
    db.execute(delete(Product).where(Product.account_id == account_id))  # type: ignore[arg-type]
    db.add_all(Product(account_id=account_id, sku=f"SKU-{i}", title=f"Product {i}", available=a,
                       price_cents=p) for i, (a, p) in enumerate(catalog))
    db.commit()


@property_settings
@given(catalog=catalogs, rules=rule_sets)
def test_the_sql_reason_and_quantity_agree_with_decide_for_every_product(
        db: Session, merchant: Merchant, catalog: list[tuple[int, int]], rules: Rules) -> None:
    account_id = merchant.account.id
    assert account_id is not None
    _replace_catalog(db, account_id, catalog)
    rows = db.execute(
        select(Product.available, Product.price_cents, reason_expr(rules), quantity_expr(rules))
        .where(Product.account_id == account_id)
    ).all()
    for available, price, reason, quantity in rows:
        decision = decide(available, price, rules)
        assert (reason, quantity) == (decision.reason, decision.quantity), (available, price, rules)
    for code in r.REASON_LABELS:
        matched = db.execute(
            select(Product.available, Product.price_cents)
            .where(Product.account_id == account_id, reason_condition(rules, code))
        ).all()
        expected = [(a, p) for a, p in catalog if decide(a, p, rules).reason == code]
        assert sorted(matched) == sorted(expected), (code, rules)


@property_settings
@given(catalog=catalogs, current=rule_sets, proposed=rule_sets)
def test_the_impact_preview_counts_agree_with_decide_on_a_random_catalog(
        db: Session, merchant: Merchant, catalog: list[tuple[int, int]], current: Rules,
        proposed: Rules) -> None:
    account_id = merchant.account.id
    assert account_id is not None
    _replace_catalog(db, account_id, catalog)
    result = impact(db, account_id, current, proposed)
    now = [decide(a, p, current) for a, p in catalog]
    after = [decide(a, p, proposed) for a, p in catalog]
    assert result.total == len(catalog)
    assert result.in_stock_now == sum(d.in_stock for d in now)
    assert result.in_stock_after == sum(d.in_stock for d in after)
    assert result.units_now == sum(d.quantity for d in now)
    assert result.units_after == sum(d.quantity for d in after)
    assert result.going_out == sum(n.in_stock and not a.in_stock for n, a in zip(now, after, strict=True))
    assert result.coming_back == sum(a.in_stock and not n.in_stock for n, a in zip(now, after, strict=True))
    assert result.capped_after == sum(d.reason == r.CAPPED for d in after)
    assert result.gated_after == sum(d.reason == r.BELOW_BUFFER for d in after)
    assert result.below_threshold_after == sum(d.reason == r.BELOW_PRICE_THRESHOLD for d in after)
    assert result.prices_now == sum(d.price_cents is not None for d in now)
    assert result.prices_after == sum(d.price_cents is not None for d in after)
    for example in result.examples.get("going_out", []):
        assert example.quantity_now > 0 and example.quantity_after == 0
    for example in result.examples.get("capped", []):
        assert decide(example.available, example.price_cents, proposed).reason == r.CAPPED
