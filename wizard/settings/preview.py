"""The live impact preview: what proposed settings would change on Amazon, from the stored histograms.

Counts come from the per-account histograms that database triggers keep (``wizard.models.catalog_stats``):
at most a few hundred cells per account, whatever the catalog's size, each decided by ``decide()`` itself, so
the preview cannot disagree with the sync (a property test checks it against a scan of random catalogs).
Examples come from a few ``LIMIT``-ed index seeks. The catalog is never scanned.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cache, lru_cache
from typing import Any, NamedTuple

from sqlalchemy import TextClause, text
from sqlmodel import Session

from wizard import rules as r
from wizard.db import table_of
from wizard.models.catalog import Product
from wizard.models.catalog_stats import HISTOGRAM, PRICE_HISTOGRAM, STOCK_CAP, band_end, band_of
from wizard.rules import Rules

#: Warn loudly when a change would take at least this share of in-stock listings to zero.
WARNING_SHARE = 0.20
#: How many example SKUs each line of the preview shows.
EXAMPLES = 3
#: The preview's example lines in the order it shows them (``partial/settings/preview.html`` titles them).
EXAMPLE_LINES = ("going_out", "coming_back", "gated", "capped", "below_threshold")


@dataclass
class Example:
    """One product shown as an example in the preview."""

    sku: str
    title: str
    available: int
    price_cents: int
    #: What ``decide()`` says under the proposed settings.
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

    def examples_once(self) -> dict[str, list[Example]]:
        """Return the example lines in the order the preview shows them, each SKU only in the first line it
        is an example of (a product going out of stock is often gated by the buffer too)."""
        seen: set[str] = set()
        lines: dict[str, list[Example]] = {}
        for key in EXAMPLE_LINES:
            fresh = [example for example in self.examples.get(key, ()) if example.sku not in seen]
            if fresh:
                seen.update(example.sku for example in fresh)
                lines[key] = fresh
        return lines

    def summary(self) -> dict[str, Any]:
        """Return the counts as a JSON-ready dict (stored with each settings version)."""
        data = asdict(self)
        data.pop("examples")
        data["share_going_out"] = round(self.share_going_out, 4)
        data["warning"] = self.warning
        return data


class _Group(NamedTuple):
    """Products sharing one ``available`` value (or the tail past every setting) and one price band.

    A named tuple: a frozen dataclass costs three times as much to build, and a keystroke builds ~60.
    """

    available: int
    price_lo: int
    price_hi: int | None
    products: int
    sum_available: int
    tail: bool


def _price_bands(*rule_sets: Rules) -> list[tuple[int, int | None]]:
    """Split prices where ``decide()`` can change its mind: at 1 (a price to send) and wherever the rule
    compares the price (``rules.price_cuts``: at the threshold)."""
    cuts = sorted({1, *(cut for rules in rule_sets for cut in r.price_cuts(rules))} - {0})
    lows = [0, *cuts]
    return [(lo, lows[i + 1] if i + 1 < len(lows) else None) for i, lo in enumerate(lows)]


def _histogram(session: Session, account_id: int, current: Rules, proposed: Rules) -> list[_Group]:
    """Count products per (stock level, price band) from the stored histograms, never from the catalog.

    The rule (``outcome_conditions``) compares ``available`` and the price with a few values only
    (``rules.stock_cuts``: 0, the buffer, the ceiling; ``rules.price_cuts``: the threshold). So every product
    with the same ``available`` in the same price band gets the same outcome, and every product past the last
    stock cut (the tail) behaves alike except for its own quantity. The coarse
    histogram (``catalog_histogram``) counts each stored band in one rule band. A stored band that a
    threshold cuts is counted whole on one side of it (the side of its wider part), and the exact-price
    histogram moves the cells of its narrower part across: at most half a band of exact cells is read. One
    query for both.
    """
    bands = _price_bands(current, proposed)
    # Past the last stock level where the rule's outcome can change, only a product's own quantity differs.
    tail_from = max({1}.union(*(r.stock_cuts(rules) for rules in (current, proposed))))
    if tail_from > STOCK_CAP:
        raise ValueError(f"buffer and ceiling go up to {STOCK_CAP - 1:,} units")
    params: dict[str, int] = {"account": account_id, "tail": tail_from}
    params.update({f"hi{i}": hi for i, (_, hi) in enumerate(bands) if hi is not None})
    anchors = []
    for i, (start, anchor, low, high) in enumerate(_cut_bands(frozenset(lo for lo, _ in bands))):
        anchors.append(_rule_band(bands, anchor))
        params.update({f"cut{i}": start, f"anchor{i}": anchors[-1], f"from{i}": low, f"to{i}": high})
    totals: dict[tuple[int, int], list[int]] = {}

    def add(stock: int, band: int, products: int, units: int) -> None:
        cell = totals.setdefault((stock, band), [0, 0])
        cell[0] += products
        cell[1] += units

    # .all(): one fetchall, not a driver call per row (a hundred rows per keystroke).
    cells = session.execute(_cells_sql(len(bands), len(anchors)), params).all()
    for cut, stock, band, products, units in cells:
        add(int(stock), int(band), int(products), int(units))
        if cut >= 0:  # an exact cell of a cut band: the coarse count put it in the anchor's rule band
            add(int(stock), anchors[cut], -int(products), -int(units))
    groups = []
    for (stock, band), (count, units) in sorted(totals.items()):
        if count:
            lo, hi = bands[band]
            groups.append(_Group(stock, lo, hi, count, units, stock >= tail_from))
    return groups


def _rule_band(bands: list[tuple[int, int | None]], price: int) -> int:
    """Return the index of the rule band holding ``price``."""
    return next(i for i, (_, hi) in enumerate(bands) if hi is None or price < hi)


@cache
def _cells_sql(bands: int, cuts: int) -> TextClause:
    """Return the query summing products and units per (stock level up to the tail, rule band index).

    Each row starts with -1 for a coarse cell, or the index of the cut stored band an exact cell moves out
    of. Built once per shape (how many rule bands, how many cut stored bands) from constants only, with every
    value bound: ``:account``, ``:tail``, ``:hi<i>`` (the rule bands' ends), ``:cut<i>`` (a cut stored band),
    ``:anchor<i>`` (the rule band it is counted in) and ``:from<i>``/``:to<i>`` (the prices moved out of it).
    A text statement costs no expression building or cache-key walk per keystroke.
    """
    def rule_band(price: str, anchored: str = "") -> str:
        whens = " ".join(f"WHEN {price} < :hi{i} THEN {i}" for i in range(bands - 1))
        return f"CASE {anchored}{whens} ELSE {bands - 1} END"

    level = "CASE WHEN stock < :tail THEN stock ELSE :tail END"
    anchored = "".join(f"WHEN band = :cut{i} THEN CAST(:anchor{i} AS INTEGER) " for i in range(cuts))
    parts = [f"SELECT -1, {level}, {rule_band('band', anchored)}, sum(products), sum(units) "  # noqa: S608
             f"FROM {HISTOGRAM} WHERE account_id = :account GROUP BY 2, 3"]
    for i in range(cuts):
        parts.append(f"SELECT {i}, {level}, {rule_band('price_cents')}, sum(products), sum(units) "  # noqa: S608
                     f"FROM {PRICE_HISTOGRAM} WHERE account_id = :account "
                     f"AND price_cents >= :from{i} AND price_cents < :to{i} GROUP BY 2, 3")
    return text(" UNION ALL ".join(parts))


def _units(reason: str, quantity: int, group: _Group) -> int:
    # Past every setting, an uncapped in-stock product advertises its own stock: use the group's sum.
    if group.tail and reason == r.ALL_UNITS:
        return group.sum_available
    return quantity * group.products


def impact(session: Session, account_id: int, current: Rules, proposed: Rules, *,
           examples: int = EXAMPLES) -> Impact:
    """Compare ``proposed`` with ``current`` rules over the account's catalog.

    The counts apply the rule itself (``outcome()``, what ``decide()`` decides) to each group of the
    histogram, so they are exactly what the sync would do; examples are fetched per group with an index seek.
    """
    same = current == proposed
    result = Impact(pricing_disabled_now=current.disable_pricing,
                    pricing_disabled_after=proposed.disable_pricing, changed=not same)
    sources: dict[str, list[_Group]] = {"going_out": [], "coming_back": [], "capped": [], "gated": [],
                                        "below_threshold": []}
    for group in _histogram(session, account_id, current, proposed):
        now_reason, now_quantity, now_price = r.outcome(group.available, group.price_lo, current)
        if same:
            after_reason, after_quantity, after_price = now_reason, now_quantity, now_price
        else:
            after_reason, after_quantity, after_price = r.outcome(group.available, group.price_lo, proposed)
        n = group.products
        now_in, after_in = now_quantity > 0, after_quantity > 0
        result.total += n
        units_now = _units(now_reason, now_quantity, group)
        result.units_now += units_now
        result.units_after += units_now if same else _units(after_reason, after_quantity, group)
        result.in_stock_now += n if now_in else 0
        result.in_stock_after += n if after_in else 0
        result.capped_now += n if now_reason == r.CAPPED else 0
        result.capped_after += n if after_reason == r.CAPPED else 0
        result.gated_after += n if after_reason == r.BELOW_BUFFER else 0
        result.below_threshold_now += n if now_reason == r.BELOW_PRICE_THRESHOLD else 0
        result.below_threshold_after += n if after_reason == r.BELOW_PRICE_THRESHOLD else 0
        result.out_of_stock += n if group.available <= 0 else 0
        result.prices_now += n if now_price is not None else 0
        result.prices_after += n if after_price is not None else 0
        if now_in and not after_in:
            result.going_out += n
            sources["going_out"].append(group)
        if after_in and not now_in:
            result.coming_back += n
            sources["coming_back"].append(group)
        source = _EXAMPLE_SOURCES.get(after_reason)
        if source is not None:
            sources[source].append(group)
    if examples:
        result.examples = _examples(session, account_id, sources, current, proposed, examples)
    return result


#: Which outcomes under the proposed rules get examples, and under which key.
_EXAMPLE_SOURCES = {r.CAPPED: "capped", r.BELOW_BUFFER: "gated", r.BELOW_PRICE_THRESHOLD: "below_threshold"}


def reason_counts(session: Session, account_id: int, rules: Rules) -> dict[str, int]:
    """Return how many products have each outcome under ``rules`` (the catalog's filter counts), from the
    stored histograms."""
    counts: dict[str, int] = {}
    for group in _histogram(session, account_id, rules, rules):
        reason = r.outcome(group.available, group.price_lo, rules)[0]
        counts[reason] = counts.get(reason, 0) + group.products
    return counts


def products_in_stock(session: Session, account_id: int, rules: Rules) -> tuple[int, int]:
    """Return how many products the account has and how many are in stock on Amazon under ``rules``.

    The same figures as :func:`impact`'s ``total`` and ``in_stock_now`` (a test checks they agree), for the
    home page's catalog card. "In stock" is the rule itself: the quantity that ``outcome_conditions`` and
    ``quantity_for`` give (``rules.quantity_sql``, the settings bound) above 0. One sum over the coarse
    histogram's cells, each band standing for all its prices, and one over the exact-price cells of each band
    that a price the rule compares with cuts (:func:`_cut_bands`). No grouping, nothing decided in Python.
    """
    statement, params = _in_stock_query(rules)
    totals = session.execute(statement, {**params, "account": account_id}).all()
    return sum(int(row[0] or 0) for row in totals), sum(int(row[1] or 0) for row in totals)


@lru_cache(maxsize=1024)
def _in_stock_query(rules: Rules) -> tuple[TextClause, dict[str, int]]:
    """Return the statement of :func:`products_in_stock` and its parameters but ``:account``.

    Written per call it would cost more than running it, so it is kept per settings. Settings of the same
    shape share one statement (:func:`_statement`); only the bound values differ.
    """
    params: dict[str, int] = {}
    # Written once with a stand-in for the price, then read at each part's price with the same bound values.
    quantity = r.quantity_sql(rules, "stock", _PRICE, params)

    def in_stock(price: str) -> str:
        return f"sum(CASE WHEN {quantity.replace(_PRICE, price)} > 0 THEN products ELSE 0 END)"

    cuts = _cut_bands(frozenset(r.price_cuts(rules)))
    # A cut band's coarse cell counts at its anchor price; its exact cells in [from, to) then replace the
    # anchor's outcome by their own (counted at their price, minus at the anchor's).
    price = "band"
    if any(anchor != start for start, anchor, _, _ in cuts):
        whens = " ".join(f"WHEN band = :cut{i} THEN CAST(:anchor{i} AS INTEGER)" for i in range(len(cuts)))
        price = f"CASE {whens} ELSE band END"
    parts = [f"SELECT sum(products), {in_stock(price)} FROM {HISTOGRAM} WHERE account_id = :account"]  # noqa: S608
    for i, (start, anchor, low, high) in enumerate(cuts):
        params.update({f"cut{i}": start, f"anchor{i}": anchor, f"from{i}": low, f"to{i}": high})
        parts.append(f"SELECT 0, {in_stock('price_cents')} - {in_stock(f':anchor{i}')} "  # noqa: S608
                     f"FROM {PRICE_HISTOGRAM} WHERE account_id = :account "
                     f"AND price_cents >= :from{i} AND price_cents < :to{i}")
    return _statement(" UNION ALL ".join(parts)), params


#: Stands for the price in :func:`products_in_stock`'s rule text until each part puts its own price there.
_PRICE = "__price__"


@lru_cache(maxsize=256)
def _cut_bands(cuts: frozenset[int]) -> tuple[tuple[int, int, int, int], ...]:
    """Return ``(start, anchor, low, high)`` for each stored price band that a price in ``cuts`` falls inside.

    Every price of the band outside ``[low, high)`` has the outcome of the ``anchor`` price (no cut lies
    between them), so the coarse cell is counted at the anchor and only the exact cells in ``[low, high)``
    are read: the narrower side of the cuts, at most half a band.
    """
    found = []
    # Prices are never below 0: a cut at or below it splits nothing.
    for start in sorted({band_of(cut) for cut in cuts if cut > 0 and band_of(cut) != cut}):
        end = band_end(start)
        inside = [cut for cut in cuts if start < cut < end]
        if end - min(inside) <= max(inside) - start:
            found.append((start, start, min(inside), end))  # counted below the cuts; read the cells above
        else:
            found.append((start, end - 1, start, max(inside)))  # counted above the cuts; read the cells below
    return tuple(found)


@lru_cache(maxsize=256)
def _statement(sql: str) -> TextClause:
    """Return ``sql`` as a statement, built once per text (the settings' values are bound, not in it)."""
    return text(sql)


def _examples(session: Session, account_id: int, sources: dict[str, list[_Group]], current: Rules,
              proposed: Rules, limit: int) -> dict[str, list[Example]]:
    """Return up to ``limit`` example products per line, from the first groups of each, in one query.

    Every group holds at least one product, so a line's first ``limit`` groups always hold enough examples.
    """
    seeks = [(key, group) for key, groups in sources.items() for group in groups[:limit]]
    if not seeks:
        return {}
    params: dict[str, Any] = {"account": account_id, "limit": limit}
    for i, (_, group) in enumerate(seeks):
        params[f"stock{i}"], params[f"lo{i}"] = group.available, group.price_lo
        if group.price_hi is not None:
            params[f"hi{i}"] = group.price_hi
    shapes = tuple((g.tail, g.price_hi is not None) for _, g in seeks)
    rows = session.execute(_examples_sql(shapes), params).all()
    by_seek: dict[int, list[Any]] = {}
    for row in rows:
        by_seek.setdefault(int(row[0]), []).append(row[1:])
    same = current == proposed
    found: dict[str, list[Example]] = {}
    for i, (key, _) in enumerate(seeks):
        shown = found.setdefault(key, [])
        for sku, title, units, price_cents in by_seek.get(i, ())[:limit - len(shown)]:
            # The preview shows the sentence under the proposed settings, and only the quantity under the
            # current ones: that one needs no sentence.
            after = r.decide(units, price_cents, proposed)
            now = after.quantity if same else r.outcome(units, price_cents, current)[1]
            shown.append(Example(sku=sku, title=title, available=units, price_cents=price_cents,
                                 after=after.explanation, quantity_now=now, quantity_after=after.quantity))
    return {key: shown for key, shown in found.items() if shown}


@lru_cache(maxsize=512)
def _examples_sql(shapes: tuple[tuple[bool, bool], ...]) -> TextClause:
    """Return one query of index seeks, one per group: its stock level (or the tail from it), its price band.

    ``shapes`` says per seek whether it is the tail and whether its band has an end. Each seek is tagged with
    its position, so a line's examples come in the order of its groups.
    """
    product = table_of(Product).name
    parts = []
    for i, (tail, bounded) in enumerate(shapes):
        stock = f"available >= :stock{i}" if tail else f"available = :stock{i}"
        below = f" AND price_cents < :hi{i}" if bounded else ""
        parts.append(f"SELECT * FROM (SELECT {i} AS seek, sku, title, available, price_cents "  # noqa: S608
                     f"FROM {product} WHERE account_id = :account AND {stock} "
                     f"AND price_cents >= :lo{i}{below} LIMIT :limit) AS seek{i}")
    return text(" UNION ALL ".join(parts))


__all__ = ["Impact", "impact", "products_in_stock", "reason_counts"]
