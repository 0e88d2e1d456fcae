"""The live impact preview: what proposed settings would change on Amazon, computed in SQL.

The SQL expressions are built from ``wizard.rules.outcome_conditions``, the one definition of the rule, so the
preview cannot disagree with ``decide()`` (a property test checks it on random catalogs). Counts come from one
aggregate query (``SUM(CASE ...)`` over the covering index ``(account_id, available, price_cents)``); examples
come from a few ``LIMIT``-ed queries. Products are never loaded into Python in bulk.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlmodel import Session, col

from wizard import rules as r
from wizard.models.catalog import Product
from wizard.rules import Rules

#: Warn loudly when a change would take at least this share of in-stock listings to zero.
WARNING_SHARE = 0.20
#: How many example SKUs each line of the preview shows.
EXAMPLES = 3


@dataclass
class Example:
    """One product shown as an example in the preview."""

    sku: str
    title: str
    available: int
    price_cents: int
    now: str
    after: str
    quantity_now: int
    quantity_after: int


@dataclass
class Impact:
    """What the proposed settings would change, compared with the current ones."""

    total: int = 0
    in_stock_now: int = 0
    in_stock_after: int = 0
    units_now: int = 0
    units_after: int = 0
    going_out: int = 0
    coming_back: int = 0
    capped_now: int = 0
    capped_after: int = 0
    gated_after: int = 0
    below_threshold_now: int = 0
    below_threshold_after: int = 0
    out_of_stock: int = 0
    prices_now: int = 0
    prices_after: int = 0
    pricing_disabled_now: bool = False
    pricing_disabled_after: bool = False
    changed: bool = False
    examples: dict[str, list[Example]] = field(default_factory=dict)

    @property
    def share_going_out(self) -> float:
        """Return the share of listings in stock now that the change takes to zero."""
        return self.going_out / self.in_stock_now if self.in_stock_now else 0.0

    @property
    def warning(self) -> bool:
        """Return whether the change takes a large share of in-stock listings to zero."""
        return self.going_out > 0 and self.share_going_out >= WARNING_SHARE

    def summary(self) -> dict[str, Any]:
        """Return the counts as a JSON-ready dict (stored with each settings version)."""
        data = asdict(self)
        data.pop("examples")
        data["share_going_out"] = round(self.share_going_out, 4)
        data["warning"] = self.warning
        return data


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@dataclass(frozen=True)
class _Group:
    """Products sharing one ``available`` value (or the tail past every setting) and one price band."""

    available: int
    price_lo: int
    price_hi: int | None
    count: int
    sum_available: int
    tail: bool


def _price_bands(*rule_sets: Rules) -> list[tuple[int, int | None]]:
    """Split prices where ``decide()`` can change its mind: at 1 (a price to send) and at each threshold."""
    cuts = sorted({1, *(rules.min_price_cents for rules in rule_sets)} - {0})
    lows = [0, *cuts]
    return [(lo, lows[i + 1] if i + 1 < len(lows) else None) for i, lo in enumerate(lows)]


def _band_condition(lo: int, hi: int | None) -> Any:
    if hi is None:
        return col(Product.price_cents) >= lo
    return and_(col(Product.price_cents) >= lo, col(Product.price_cents) < hi)


def _histogram(session: Session, account_id: int, current: Rules, proposed: Rules) -> list[_Group]:
    """Count products per (available value, price band) in two streaming scans of the covering index.

    ``decide()`` only compares ``available`` with 0, the buffer and the ceiling, and the price with 1 and the
    threshold. So every product with the same ``available`` in the same price band gets the same outcome, and
    every product past the largest setting (the tail) behaves alike except for its own quantity.
    """
    bands = _price_bands(current, proposed)
    tail_from = 1 + max(0, *(x for rules in (current, proposed)
                             for x in (rules.inventory_buffer, rules.inventory_ceiling or 0)))
    owned = col(Product.account_id) == account_id
    head = session.execute(
        select(col(Product.available), *[_count(_band_condition(lo, hi)) for lo, hi in bands])
        .where(owned, col(Product.available) < tail_from)
        .group_by(col(Product.available))
    ).all()
    groups = []
    for available, *counts in head:
        for (lo, hi), count in zip(bands, counts, strict=True):
            if count:
                groups.append(_Group(int(available), lo, hi, int(count), int(available) * int(count), False))
    tail = session.execute(
        select(*[_count(_band_condition(lo, hi)) for lo, hi in bands],
               *[func.coalesce(func.sum(case((_band_condition(lo, hi), col(Product.available)), else_=0)), 0)
                 for lo, hi in bands])
        .where(owned, col(Product.available) >= tail_from)
    ).one()
    for (lo, hi), count, total in zip(bands, tail[:len(bands)], tail[len(bands):], strict=True):
        if count:
            groups.append(_Group(tail_from, lo, hi, int(count), int(total), True))
    return groups


def _units(decision: r.Decision, group: _Group) -> int:
    # Past every setting, an uncapped in-stock product advertises its own stock: use the group's sum.
    if group.tail and decision.reason == r.IN_STOCK:
        return group.sum_available
    return decision.quantity * group.count


def impact(session: Session, account_id: int, current: Rules, proposed: Rules, *,
           examples: int = EXAMPLES) -> Impact:
    """Compare ``proposed`` with ``current`` rules over the account's catalog.

    The counts apply ``decide()`` itself to each group of the histogram, so they are exactly what the sync
    would do; examples are fetched per group with an index seek.
    """
    result = Impact(pricing_disabled_now=current.disable_pricing,
                    pricing_disabled_after=proposed.disable_pricing, changed=current != proposed)
    sources: dict[str, list[_Group]] = {"going_out": [], "coming_back": [], "capped": [], "gated": [],
                                        "below_threshold": []}
    for group in _histogram(session, account_id, current, proposed):
        now = r.decide(group.available, group.price_lo, current)
        after = r.decide(group.available, group.price_lo, proposed)
        n = group.count
        result.total += n
        result.units_now += _units(now, group)
        result.units_after += _units(after, group)
        result.in_stock_now += n if now.in_stock else 0
        result.in_stock_after += n if after.in_stock else 0
        result.capped_now += n if now.reason == r.CAPPED else 0
        result.capped_after += n if after.reason == r.CAPPED else 0
        result.gated_after += n if after.reason == r.BELOW_BUFFER else 0
        result.below_threshold_now += n if now.reason == r.BELOW_PRICE_THRESHOLD else 0
        result.below_threshold_after += n if after.reason == r.BELOW_PRICE_THRESHOLD else 0
        result.out_of_stock += n if group.available <= 0 else 0
        result.prices_now += n if now.price_cents is not None else 0
        result.prices_after += n if after.price_cents is not None else 0
        if now.in_stock and not after.in_stock:
            result.going_out += n
            sources["going_out"].append(group)
        if after.in_stock and not now.in_stock:
            result.coming_back += n
            sources["coming_back"].append(group)
        for key, reason in (("capped", r.CAPPED), ("gated", r.BELOW_BUFFER),
                            ("below_threshold", r.BELOW_PRICE_THRESHOLD)):
            if after.reason == reason:
                sources[key].append(group)
    if examples:
        for key, groups in sources.items():
            if groups:
                result.examples[key] = _examples(session, account_id, groups, current, proposed, examples)
    return result


def _examples(session: Session, account_id: int, groups: list[_Group], current: Rules, proposed: Rules,
              limit: int) -> list[Example]:
    found: list[Example] = []
    for group in groups:
        units_col = col(Product.available)
        stock = units_col >= group.available if group.tail else units_col == group.available
        band = _band_condition(group.price_lo, group.price_hi)
        rows = session.execute(
            select(col(Product.sku), col(Product.title), col(Product.available), col(Product.price_cents))
            .where(col(Product.account_id) == account_id, stock, band)
            .limit(limit - len(found))
        ).all()
        for sku, title, units, price_cents in rows:
            now = r.decide(units, price_cents, current)
            after = r.decide(units, price_cents, proposed)
            found.append(Example(sku=sku, title=title, available=units, price_cents=price_cents,
                                 now=now.explanation, after=after.explanation,
                                 quantity_now=now.quantity, quantity_after=after.quantity))
        if len(found) >= limit:
            break
    return found


__all__ = ["Impact", "impact"]
