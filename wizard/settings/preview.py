"""The live impact preview: what proposed settings would change on Amazon, from the stored histograms.

Counts come from the per-account histograms that database triggers keep (``wizard.models.catalog_stats``):
at most a few hundred cells per account, whatever the catalog's size, each decided by ``decide()`` itself, so
the preview cannot disagree with the sync (a property test checks it against a scan of random catalogs).
Examples come from a few ``LIMIT``-ed index seeks. The catalog is never scanned.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlmodel import Session, col

from wizard import rules as r
from wizard.db import table_of
from wizard.models.catalog import Product
from wizard.models.catalog_stats import (
    STOCK_CAP,
    CatalogHistogram,
    CatalogPriceHistogram,
    band_end,
    band_of,
)
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
    """Count products per (stock level, price band) from the stored histograms, never from the catalog.

    ``decide()`` only compares ``available`` with 0, the buffer and the ceiling, and the price with 1 and the
    threshold. So every product with the same ``available`` in the same price band gets the same outcome, and
    every product past the largest setting (the tail) behaves alike except for its own quantity. The coarse
    histogram (``catalog_histogram``) answers for every stored band that no threshold cuts; the exact-price
    histogram answers inside the one or two bands a threshold falls into.
    """
    bands = _price_bands(current, proposed)
    tail_from = 1 + max(0, *(x for rules in (current, proposed)
                             for x in (rules.inventory_buffer, rules.inventory_ceiling or 0)))
    if tail_from > STOCK_CAP:
        raise ValueError(f"buffer and ceiling go up to {STOCK_CAP - 1:,} units")
    cut = sorted({band_of(lo) for lo, _ in bands if band_of(lo) != lo})
    totals: dict[tuple[int, int], list[int]] = {}
    coarse = table_of(CatalogHistogram).c
    fine = table_of(CatalogPriceHistogram).c
    queries = [
        _cells(coarse.stock, coarse.band, bands, tail_from, coarse.products, coarse.units)
        .where(coarse.account_id == account_id, coarse.band.not_in(cut) if cut else literal(True)),
    ]
    if cut:
        queries.append(
            _cells(fine.stock, fine.price_cents, bands, tail_from, fine.products, fine.units)
            .where(fine.account_id == account_id,
                   or_(*[and_(fine.price_cents >= lo, fine.price_cents < band_end(lo)) for lo in cut])))
    for query in queries:
        for stock, band, products, units in session.execute(query):
            cell = totals.setdefault((int(stock), int(band)), [0, 0])
            cell[0] += int(products)
            cell[1] += int(units)
    groups = []
    for (stock, band), (count, units) in sorted(totals.items()):
        if count:
            lo, hi = bands[band]
            groups.append(_Group(stock, lo, hi, count, units, stock >= tail_from))
    return groups


def _cells(stock: Any, price: Any, bands: list[tuple[int, int | None]], tail_from: int, products: Any,
           units: Any) -> Any:
    """Return a query summing ``products`` and ``units`` per (stock level up to the tail, rule band index)."""
    level = case((stock < tail_from, stock), else_=tail_from)
    band = case(*[(price < hi, i) for i, (_, hi) in enumerate(bands) if hi is not None],
                else_=len(bands) - 1)
    return (select(level, band, func.sum(products), func.sum(units))
            .group_by(level, band))


def _units(decision: r.Decision, group: _Group) -> int:
    # Past every setting, an uncapped in-stock product advertises its own stock: use the group's sum.
    if group.tail and decision.reason == r.ALL_UNITS:
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


def reason_counts(session: Session, account_id: int, rules: Rules) -> dict[str, int]:
    """Return how many products have each outcome under ``rules`` (the catalog's filter counts), from the
    stored histograms."""
    counts: dict[str, int] = {}
    for group in _histogram(session, account_id, rules, rules):
        reason = r.decide(group.available, group.price_lo, rules).reason
        counts[reason] = counts.get(reason, 0) + group.count
    return counts


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


__all__ = ["Impact", "impact", "reason_counts"]
