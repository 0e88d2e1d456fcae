"""The rules engine: what quantity and price Amazon should show for a product, and why.

Pure: no I/O, no database. The settings page's impact preview, the catalog page and the sync worker all
call it, so the web and the worker can never disagree. The rule itself is written once, in
:func:`outcome_conditions`, as an ordered list of comparisons that work on plain ints (``decide``) and on SQL
column expressions alike: ``reason_expr`` / ``quantity_expr`` / ``reason_condition`` at the end of this module
build SQL ``CASE`` expressions from the very same list, for the preview's aggregates, the catalog's filters
and the sync's pre-filter; ``quantity_sql`` writes it as SQL text with the settings bound (the home page's
in-stock count) and ``values_planner`` as Python source (the sync's loop).

The guide's rule (Settings > Amazon):

* **Marketplace Inventory Buffer** is a *gate*: a product is in stock on Amazon only with at least this many
  units available; below it Amazon shows 0. It is never subtracted from the stock.
* **Inventory Ceiling** is a *cap*: past the gate, at most this many units are advertised.
* **Minimum Price Threshold**: products priced below it are kept off Amazon entirely, quantity 0 and no
  price, also with Disable Pricing on.
* **Disable Pricing**: never send a price; inventory is still sent, and still gated by the threshold.

So: quantity = ``min(available, ceiling)`` if ``available >= buffer`` and the price passes the threshold,
else 0.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, case, literal, or_
from sqlmodel import col

from wizard.models.catalog import Product

if TYPE_CHECKING:
    from wizard.models.catalog import AmazonSettings

# Reason codes, from the first that applies to the last; the catalog filters and the preview use them too.
BELOW_PRICE_THRESHOLD = "below_price_threshold"
OUT_OF_STOCK = "out_of_stock"
BELOW_BUFFER = "below_buffer"
CAPPED = "capped"
#: In stock with every available unit shown (no ceiling reached).
ALL_UNITS = "all_units"
#: Not a reason: "in stock on Amazon" means Amazon shows a quantity above 0, so ALL_UNITS and CAPPED alike
#: (``Decision.in_stock``, the home page's count, the preview's counts and the catalog's filter).
IN_STOCK = "in_stock"
#: Only for :func:`removed_product_update`: the SKU left the catalog while Amazon still showed stock.
REMOVED_FROM_CATALOG = "removed_from_catalog"

#: Plain-language labels for each outcome, for badges and filters: the one list of labels.
REASON_LABELS: dict[str, str] = {
    ALL_UNITS: "In stock, all units",
    CAPPED: "In stock, capped",
    BELOW_BUFFER: "Gated by the buffer",
    OUT_OF_STOCK: "Out of stock",
    BELOW_PRICE_THRESHOLD: "Below the price threshold",
    REMOVED_FROM_CATALOG: "Removed from the catalog",
}

#: The catalog's filters, in this order: "in stock on Amazon" (any shown quantity), then each outcome.
OUTCOME_FILTERS: dict[str, str] = {
    "": "All products",
    IN_STOCK: "Ecommerce will send as in stock",
    **{code: REASON_LABELS[code] for code in (ALL_UNITS, CAPPED, BELOW_BUFFER, BELOW_PRICE_THRESHOLD,
                                              OUT_OF_STOCK)},
}

# Update priorities: stock-outs and decreases go to Amazon first, then increases, then price-only changes.
PRIORITY_STOCK_OUT = 0
PRIORITY_DECREASE = 1
PRIORITY_INCREASE = 2
PRIORITY_PRICE = 3


def format_usd(cents: int) -> str:
    """Format integer cents as US dollars: 1999 -> "$19.99"."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{part:02d}"


#: The largest price we accept anywhere (form, CSV, API): a typo guard, far above any real product and far
#: below what Amazon's feeds accept ($1,000,000.00).
MAX_PRICE_CENTS = 100_000_000
#: The longest text a number is read from. A price or a count of units never needs more; refusing longer text
#: first keeps a 40-digit or a 1 MB value from reaching ``int`` or ``Decimal`` (which raise or take seconds).
MAX_NUMBER_CHARS = 20
# ASCII digits only: ``str.isdigit()`` and ``\d`` accept "²" and other Unicode digits that ``int`` refuses.
_PLAIN_USD = re.compile(r"([0-9]+)(?:\.([0-9]{1,2}))?")
_USD = re.compile(r"(-?)([0-9]*)(?:\.([0-9]*))?")
_WHOLE = re.compile(r"(-?)([0-9]+)")


class NumberError(ValueError):
    """A number the merchant typed cannot be used; ``kind`` says why, so each caller can word it its way.

    ``kind`` is one of ``missing``, ``invalid`` (not a whole number / not dollars and cents), ``negative``,
    ``too_large``, ``decimals`` (prices only: more than 2 decimal places) or ``separator`` (prices only).
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def parse_usd(text: str) -> int:
    """Parse US dollars ("19.99", "$5", "0.5") into cents; raise ``NumberError`` with a plain message.

    The one price parser of the form, the CSV import and the API: ASCII digits and a dot only, at most
    ``MAX_NUMBER_CHARS`` characters and ``MAX_PRICE_CENTS``, so no input raises anything but ``NumberError``.
    """
    plain = _PLAIN_USD.fullmatch(text) if len(text) <= MAX_NUMBER_CHARS else None
    if plain:  # the common case, kept fast for 100,000-row imports
        cents = int(plain.group(1)) * 100 + int((plain.group(2) or "").ljust(2, "0"))
        if cents > MAX_PRICE_CENTS:
            raise NumberError("too_large", f"Enter {format_usd(MAX_PRICE_CENTS)} or less.")
        return cents
    cleaned = text.strip().removeprefix("$").strip()
    if not cleaned:
        raise NumberError("missing", "Enter an amount in US dollars, like 19.99.")
    if len(cleaned) > MAX_NUMBER_CHARS:
        raise NumberError("too_large", f"Enter {format_usd(MAX_PRICE_CENTS)} or less, in dollars and cents "
                                       "like 19.99.")
    if "," in cleaned:
        raise NumberError("separator", "Use a dot for cents and no thousands separators, like 1299.00.")
    match = _USD.fullmatch(cleaned)
    if match is None or not (match.group(2) or match.group(3)):
        raise NumberError("invalid", "Enter an amount in US dollars, like 19.99 (digits and a dot only).")
    sign, whole, fraction = match.group(1), match.group(2) or "0", (match.group(3) or "").rstrip("0")
    if sign and (int(whole) or fraction):
        raise NumberError("negative", "The amount can't be negative.")
    if len(fraction) > 2:
        raise NumberError("decimals", "Use at most 2 decimal places (whole cents), like 4.99.")
    cents = int(whole) * 100 + int(fraction.ljust(2, "0"))
    if cents > MAX_PRICE_CENTS:
        raise NumberError("too_large", f"Enter {format_usd(MAX_PRICE_CENTS)} or less.")
    return cents


def parse_whole_number(text: str, *, maximum: int) -> int:
    """Parse a whole number of units from 0 to ``maximum``; raise ``NumberError`` with a plain message.

    The one unit parser of the settings form, the CSV import and the API (ASCII digits only, bounded length).
    """
    cleaned = text.strip()
    if not cleaned:
        raise NumberError("missing", "Enter a whole number, like 12.")
    match = _WHOLE.fullmatch(cleaned) if len(cleaned) <= MAX_NUMBER_CHARS else None
    if match is None:
        digits = cleaned.lstrip("-")
        if len(cleaned) > MAX_NUMBER_CHARS and digits.isascii() and digits.isdigit():
            raise NumberError("too_large", f"Enter {maximum:,} or less.")
        raise NumberError("invalid", "Enter a whole number, like 12 (digits only, no decimals or letters).")
    value = int(match.group(2))
    if match.group(1) and value:
        raise NumberError("negative", "The number can't be negative.")
    if value > maximum:
        raise NumberError("too_large", f"Enter {maximum:,} or less.")
    return value


@dataclass(frozen=True)
class Rules:
    """The four settings of Settings > Amazon, as plain values."""

    inventory_buffer: int = 0
    inventory_ceiling: int | None = None
    min_price_cents: int = 0
    disable_pricing: bool = False

    def __post_init__(self) -> None:
        if self.inventory_buffer < 0:
            raise ValueError("inventory_buffer must be 0 or more")
        if self.inventory_ceiling is not None and self.inventory_ceiling < 0:
            raise ValueError("inventory_ceiling must be 0 or more, or None")
        if self.min_price_cents < 0:
            raise ValueError("min_price_cents must be 0 or more")

    @classmethod
    def from_settings(cls, settings: AmazonSettings | None) -> Rules:
        """Return the rules of saved settings; ``None`` (never saved) gives the defaults."""
        if settings is None:
            return cls()
        return cls(
            inventory_buffer=settings.inventory_buffer,
            inventory_ceiling=settings.inventory_ceiling,
            min_price_cents=settings.min_price_cents,
            disable_pricing=settings.disable_pricing,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rules:
        """Return the rules stored by :meth:`as_dict` (settings history)."""
        ceiling = data.get("inventory_ceiling")
        return cls(
            inventory_buffer=int(data.get("inventory_buffer", 0)),
            inventory_ceiling=None if ceiling is None else int(ceiling),
            min_price_cents=int(data.get("min_price_cents", 0)),
            disable_pricing=bool(data.get("disable_pricing", False)),
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the rules as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    """What Amazon should show for one product under some rules."""

    quantity: int
    #: The price to send, or None to send no price.
    price_cents: int | None
    reason: str
    #: One plain sentence: "5 available, below the buffer of 6 → 0".
    explanation: str
    #: False when the price threshold keeps the product off Amazon.
    listed: bool

    @property
    def in_stock(self) -> bool:
        """Return whether Amazon shows the product as buyable."""
        return self.quantity > 0


@dataclass(frozen=True)
class Update:
    """What to send to Amazon for one SKU; a None field means "do not send that attribute"."""

    quantity: int | None
    price_cents: int | None
    reason: str
    explanation: str
    #: Send order: PRIORITY_STOCK_OUT, PRIORITY_DECREASE, PRIORITY_INCREASE, then PRIORITY_PRICE.
    priority: int = PRIORITY_INCREASE


#: The least stock the rule reads: an oversold product's negative stock reads as this (none to sell).
STOCK_FLOOR = 0


def negative_stock(available: Any) -> tuple[Any, int]:
    """Return when the rule reads ``available`` as :data:`STOCK_FLOOR` instead (below it), and that floor.

    The one place that decides how negative stock is read, for every form of the rule: each evaluates this
    pair in its own language before :func:`outcome_conditions` (``outcome``: ints, ``values_planner``: Python
    source, ``quantity_sql``: SQL text, ``reason_expr`` and the other SQL expressions: the rule at the floor
    for the rows below it, :func:`_by_stock_read`), so they agree by construction, whatever the rule does
    with the stock it reads.
    """
    return available < STOCK_FLOOR, STOCK_FLOOR


def outcome_conditions(rules: Rules, available: Any, price_cents: Any) -> list[tuple[str, Any]]:
    """Return the rule as ordered ``(reason, condition)`` pairs; the first true condition wins, else in stock.

    ``available`` and ``price_cents`` may be ints (then the conditions are bools) or SQL column expressions
    (then they are SQL conditions for a ``CASE``). This is the single definition of the rule: :func:`decide`
    and the preview's SQL both evaluate it, and a property test checks they agree.
    """
    conditions: list[tuple[str, Any]] = [
        # The threshold comes first: below it the product is off Amazon whatever its stock.
        (BELOW_PRICE_THRESHOLD, price_cents < rules.min_price_cents),
        (OUT_OF_STOCK, available <= 0),
        (BELOW_BUFFER, available < rules.inventory_buffer),
    ]
    if rules.inventory_ceiling is not None:
        conditions.append((CAPPED, available > rules.inventory_ceiling))
    return conditions


def quantity_for(reason: str, available: Any, rules: Rules) -> Any:
    """Return the quantity an outcome advertises (an int, or the ``available`` expression)."""
    if reason == ALL_UNITS:
        return available
    if reason == CAPPED:
        return rules.inventory_ceiling
    return 0


def _outcome(available: int, price_cents: int, rules: Rules) -> str:
    for reason, condition in outcome_conditions(rules, available, price_cents):
        if condition:
            return reason
    return ALL_UNITS


def outcome(available: int, price_cents: int, rules: Rules) -> tuple[str, int, int | None]:
    """Return what :func:`decide` decides (reason, quantity, price to send or None), without the sentence.

    For the preview's counts, which decide a few hundred histogram cells per keystroke and show no sentence.
    """
    below, floor = negative_stock(available)
    if below:
        available = floor
    reason = _outcome(available, price_cents, rules)
    quantity = int(quantity_for(reason, available, rules))
    # Below the threshold: no price. Disable Pricing: no price. Amazon rejects a zero price: none either.
    send_price = reason != BELOW_PRICE_THRESHOLD and not rules.disable_pricing and price_cents > 0
    return reason, quantity, price_cents if send_price else None


def decide(available: int, price_cents: int, rules: Rules) -> Decision:
    """Decide the quantity and price Amazon should show for one product, with the reason and a sentence."""
    reason, quantity, price = outcome(available, price_cents, rules)
    listed = reason != BELOW_PRICE_THRESHOLD
    below, floor = negative_stock(available)
    explanation = _explain(reason, floor if below else available, price_cents, quantity, rules)
    if listed and not rules.disable_pricing and price_cents <= 0:
        # Amazon rejects a zero price; send the stock and leave the price on Amazon as it is.
        explanation += "; a $0.00 price is not sent"
    if listed and rules.disable_pricing:
        explanation += "; price not sent (Disable Pricing is on)"
    return Decision(quantity=quantity, price_cents=price, reason=reason, explanation=explanation,
                    listed=listed)


def _explain(reason: str, available: int, price_cents: int, quantity: int, rules: Rules) -> str:
    if reason == BELOW_PRICE_THRESHOLD:
        return (f"Price {format_usd(price_cents)} is below the minimum price threshold of "
                f"{format_usd(rules.min_price_cents)} → kept off Amazon (0, no price)")
    if reason == OUT_OF_STOCK:
        return "0 available → 0"
    if reason == BELOW_BUFFER:
        return f"{available} available, below the buffer of {rules.inventory_buffer} → 0"
    gate = f"buffer of {rules.inventory_buffer} met" if rules.inventory_buffer else "no buffer"
    if reason == CAPPED:
        ceiling = rules.inventory_ceiling
        return f"{available} available, {gate}, capped by the ceiling of {ceiling} → {quantity}"
    return f"{available} available, {gate} → {quantity}"


def plan_update(decision: Decision, last_quantity: int | None, last_price_cents: int | None, *,
                pricing_disabled: bool) -> Update | None:
    """Return what to send for one SKU given what Amazon last *accepted*, or None when nothing changed.

    ``last_*`` is None when that attribute was never accepted by Amazon for this SKU.

    Quantity: sent whenever it differs from the last accepted one. A SKU never sent gets its quantity sent
    even when it is 0: the listing may exist on Amazon with a stale quantity (set in Seller Central or by a
    previous tool), and silence would leave that stock live and oversell. It costs one message per such SKU,
    once; after Amazon accepts it, ``last_quantity`` is 0 and nothing more is sent. A SKU that was in stock
    and no longer qualifies therefore always gets an explicit 0, never silence.

    Price: sent only when pricing is enabled, the product is listed (at or above the threshold), there is a
    price to send, and it differs from the last accepted one.
    """
    quantity: int | None = decision.quantity if decision.quantity != last_quantity else None
    price: int | None = None
    if (not pricing_disabled and decision.listed and decision.price_cents is not None
            and decision.price_cents != last_price_cents):
        price = decision.price_cents
    if quantity is None and price is None:
        return None
    if quantity is None:
        priority = PRIORITY_PRICE
    elif quantity == 0:
        priority = PRIORITY_STOCK_OUT
    elif last_quantity is not None and quantity < last_quantity:
        priority = PRIORITY_DECREASE
    else:
        priority = PRIORITY_INCREASE
    return Update(quantity=quantity, price_cents=price, reason=decision.reason,
                  explanation=decision.explanation, priority=priority)


def removed_product_update(last_quantity: int | None) -> Update | None:
    """Return a quantity 0 for a SKU deleted from the catalog that Amazon still shows in stock, else None."""
    if last_quantity is None or last_quantity <= 0:
        return None
    return Update(quantity=0, price_cents=None, reason=REMOVED_FROM_CATALOG,
                  explanation=f"No longer in the catalog; Amazon showed {last_quantity} → 0",
                  priority=PRIORITY_STOCK_OUT)


# --- The same rule as SQL expressions (for aggregates, filters and the sync's pre-filter) -------------


def _sql(condition: Any) -> Any:
    # At the floor the rule's stock comparisons are Python bools: SQL wants them as constants.
    return literal(condition) if isinstance(condition, bool) else condition


def _by_stock_read(available: Any, write: Callable[[Any], Any]) -> tuple[Any, Any, Any]:
    """Return ``(below, write(floor), write(available))``: the rule written for stock read as the floor and
    for stock read as it is (:func:`negative_stock`), for the caller to choose between with ``below``.

    Each form keeps the stock column bare, so an index on it still serves the ranges, and rows below the
    floor get the rule's answer at the floor (constants for its stock comparisons).
    """
    below, floor = negative_stock(available)
    return below, write(floor), write(available)


def reason_expr(rules: Rules, available: Any = None, price_cents: Any = None) -> ColumnElement[str]:
    """Return a SQL ``CASE`` giving the reason code of each product under ``rules``."""
    available = col(Product.available) if available is None else available
    price_cents = col(Product.price_cents) if price_cents is None else price_cents

    def write(stock: Any) -> ColumnElement[str]:
        whens = [(_sql(condition), literal(reason)) for reason, condition in
                 outcome_conditions(rules, stock, price_cents)]
        return case(*whens, else_=literal(ALL_UNITS))

    below, at_floor, as_is = _by_stock_read(available, write)
    return case((below, at_floor), else_=as_is)


def quantity_expr(rules: Rules, available: Any = None, price_cents: Any = None) -> ColumnElement[int]:
    """Return a SQL ``CASE`` giving the quantity Amazon should show for each product under ``rules``."""
    available = col(Product.available) if available is None else available
    price_cents = col(Product.price_cents) if price_cents is None else price_cents

    def write(stock: Any) -> ColumnElement[int]:
        whens = [(_sql(condition), quantity_for(reason, stock, rules)) for reason, condition in
                 outcome_conditions(rules, stock, price_cents)]
        return case(*whens, else_=quantity_for(ALL_UNITS, stock, rules))

    below, at_floor, as_is = _by_stock_read(available, write)
    return case((below, at_floor), else_=as_is)


def in_stock_condition(rules: Rules) -> ColumnElement[bool]:
    """Return a SQL condition true for products Amazon shows in stock under ``rules``."""
    return quantity_expr(rules) > 0


def outcome_condition(rules: Rules, outcome: str) -> ColumnElement[bool]:
    """Return the SQL condition of a catalog filter: ``IN_STOCK`` (any quantity shown) or one reason code."""
    if outcome == IN_STOCK:
        return in_stock_condition(rules)
    return reason_condition(rules, outcome)


def reason_condition(rules: Rules, reason: str) -> ColumnElement[bool]:
    """Return a SQL condition true for products whose outcome under ``rules`` is ``reason``.

    Written as "no earlier condition holds and this one does", straight from the ordered rule, so SQLite can
    use the ``(account_id, available, price_cents)`` index for the ranges.
    """
    def write(stock: Any) -> Any:
        # At the floor the stock comparisons are Python bools: folded here, so a reason the floor never has
        # adds nothing to the SQL and the bare column's ranges stay usable.
        earlier: list[Any] = []
        for code, condition in outcome_conditions(rules, stock, col(Product.price_cents)):
            if code == reason:
                return _all([*(_not(c) for c in earlier), condition])
            earlier.append(condition)
        return _all([_not(c) for c in earlier]) if reason == ALL_UNITS else False

    below, at_floor, as_is = _by_stock_read(col(Product.available), write)
    condition: ColumnElement[bool] = _sql(_any([_all([below, at_floor]), _all([_not(below), as_is])]))
    return condition


def _not(condition: Any) -> Any:
    return not condition if isinstance(condition, bool) else ~condition


def _all(conditions: list[Any]) -> Any:
    """Return the SQL ``AND`` of ``conditions``, Python bools among them folded."""
    if any(c is False for c in conditions):
        return False
    kept = [c for c in conditions if c is not True]
    return and_(*kept) if kept else True


def _any(conditions: list[Any]) -> Any:
    """Return the SQL ``OR`` of ``conditions``, Python bools among them folded."""
    if any(c is True for c in conditions):
        return True
    kept = [c for c in conditions if c is not False]
    return or_(*kept) if len(kept) > 1 else kept[0] if kept else False


# --- The same rule as a values-only planner (for the sync's million-row loop) ------------------------------

#: What a planner appends for an attribute it does not send (the compact buffers hold ints only).
NOT_SENT = -1


class _Operand:
    """Stands for ``available`` or ``price_cents`` in :func:`outcome_conditions`: comparing it with an int
    yields ``self._compare(operator, the int)``, which writes the comparison in some language."""

    def _compare(self, operator: str, other: int) -> Any:
        raise NotImplementedError

    def _checked(self, operator: str, other: object) -> Any:
        if isinstance(other, bool) or not isinstance(other, int):
            raise TypeError(f"the rule compares with ints only, not {other!r}")
        return self._compare(operator, other)

    def __lt__(self, other: object) -> Any:
        return self._checked("<", other)

    def __le__(self, other: object) -> Any:
        return self._checked("<=", other)

    def __gt__(self, other: object) -> Any:
        return self._checked(">", other)

    def __ge__(self, other: object) -> Any:
        return self._checked(">=", other)


class _Source(_Operand):
    """A piece of Python source standing for a value: comparing it with an int yields the comparison's source.

    :func:`outcome_conditions` is evaluated with these in place of ``available`` and ``price_cents``, so the
    planner's code below is written by the rule itself, just as the SQL ``CASE`` is.
    """

    def __init__(self, text: str) -> None:
        self.text = text

    def _compare(self, operator: str, other: int) -> _Source:
        return _Source(f"{self.text} {operator} {other}")


def _source_of(value: Any) -> str:
    if isinstance(value, _Source):
        return value.text
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"a quantity must be an int or the stock, not {value!r}")
    return str(value)


#: A values-only planner: ``planner(rows, skus, values)`` reads ``(sku, available, price_cents,
#: last_quantity, last_price_cents)`` rows and, for each SKU with something to send, appends the SKU to
#: ``skus[priority]`` and ``(quantity, price_cents)`` (``NOT_SENT`` for an attribute left out) to
#: ``values[priority]``.
Planner = Any


def values_planner(rules: Rules) -> Planner:
    """Return a planner that does what ``plan_update(decide(...))`` does, with plain values only.

    No ``Decision``, ``Update`` or sentence is built: the sync sends numbers, and a million SKUs make the
    objects its main cost. The planner's code is generated from :func:`outcome_conditions` and
    :func:`quantity_for` (the one definition of the rule) and from ``decide``'s and ``plan_update``'s price
    and priority rules; a property test checks it against them on random rows.
    """
    available, price = _Source("available"), _Source("price_cents")
    send_price = not rules.disable_pricing
    below, floor = negative_stock(available)
    lines = [
        "def planner(rows, skus, values):",
        "    for sku, available, price_cents, last_quantity, last_price in rows:",
        f"        if {_source_of(below)}:",
        f"            available = {floor}",
    ]
    branches = [(reason, _source_of(condition)) for reason, condition in
                outcome_conditions(rules, available, price)]
    branches.append((ALL_UNITS, "True"))
    for index, (reason, condition) in enumerate(branches):
        keyword = "if" if index == 0 else "elif"
        lines.append(f"        {keyword} {condition}:")
        lines.append(f"            quantity = {_source_of(quantity_for(reason, available, rules))}")
        # decide(): below the threshold there is no price; $0.00 is never sent; plan_update(): only a change.
        listed = reason != BELOW_PRICE_THRESHOLD
        price_test = "price_cents > 0 and price_cents != last_price" if listed and send_price else "False"
        lines.append(f"            price = price_cents if {price_test} else {NOT_SENT}")
    lines += [
        "        if quantity != last_quantity:",
        "            if quantity == 0:",
        f"                priority = {PRIORITY_STOCK_OUT}",
        "            elif last_quantity is not None and quantity < last_quantity:",
        f"                priority = {PRIORITY_DECREASE}",
        "            else:",
        f"                priority = {PRIORITY_INCREASE}",
        "            skus[priority].append(sku)",
        "            values[priority].extend((quantity, price))",
        f"        elif price != {NOT_SENT}:",
        f"            skus[{PRIORITY_PRICE}].append(sku)",
        f"            values[{PRIORITY_PRICE}].extend(({NOT_SENT}, price))",
    ]
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines), f"<values_planner {rules}>", "exec"), namespace)  # noqa: S102
    return namespace["planner"]


# --- The same rule as SQL text with its values bound (for statements cached by their text) -----------------


class _SqlText(_Operand):
    """A SQL expression standing for a value: comparing it with an int yields the comparison's SQL text.

    As :class:`_Source` for the planner, :func:`outcome_conditions` evaluated with these writes the SQL. Each
    int it compares with becomes a bind parameter (added to ``params``), so the text depends only on the
    rule's shape, and a statement built from it can be cached by its text whatever the settings' values.
    """

    def __init__(self, text: str, params: dict[str, int]) -> None:
        self.text = text
        self.params = params

    def bind(self, value: object) -> str:
        """Return a new bind parameter's placeholder for the int ``value``, added to ``params``."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"the rule compares with ints only, not {value!r}")
        name = f"rule_{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def _compare(self, operator: str, other: int) -> _SqlText:
        return _SqlText(f"{self.text} {operator} {self.bind(other)}", self.params)


def quantity_sql(rules: Rules, available: str, price_cents: str, params: dict[str, int]) -> str:
    """Return SQL text of a ``CASE`` giving the quantity Amazon should show under ``rules``.

    ``available`` and ``price_cents`` are SQL expressions (column names, placeholders). The values the rule
    compares with are bound: they are added to ``params`` as ``rule_<n>``, numbered on from its size, so one
    statement may hold several of these and still be the same text for every value of the settings.
    """
    raw, price = _SqlText(f"({available})", params), _SqlText(f"({price_cents})", params)

    def sql_of(value: Any) -> str:
        return value.text if isinstance(value, _SqlText) else raw.bind(value)

    def written(stock: _SqlText) -> str:
        whens = [f"WHEN {sql_of(condition)} THEN {sql_of(quantity_for(reason, stock, rules))}"
                 for reason, condition in outcome_conditions(rules, stock, price)]
        return f"(CASE {' '.join(whens)} ELSE {sql_of(quantity_for(ALL_UNITS, stock, rules))} END)"

    # The rule once at the floor (a bound value, so the text stays the same for every setting) and once on
    # the bare stock: a row tests ``below`` once, not the stock read again in every comparison.
    below, floor = negative_stock(raw)
    at_floor = _SqlText(raw.bind(floor), params)
    return f"(CASE WHEN {sql_of(below)} THEN {written(at_floor)} ELSE {written(raw)} END)"


class _Cuts:
    """Stands for the stock or the price in :func:`outcome_conditions` and records where each comparison
    splits its values."""

    def __init__(self) -> None:
        self.cuts: set[int] = set()

    def _cut(self, at: int) -> bool:
        self.cuts.add(at)
        return False  # the rule only lists its conditions; what they are does not matter here

    def __lt__(self, other: int) -> bool:
        return self._cut(other)  # p < t: t-1 and t differ

    def __ge__(self, other: int) -> bool:
        return self._cut(other)

    def __le__(self, other: int) -> bool:
        return self._cut(other + 1)  # p <= t: t and t+1 differ

    def __gt__(self, other: int) -> bool:
        return self._cut(other + 1)


def price_cuts(rules: Rules) -> set[int]:
    """Return the prices ``p`` where the outcome under ``rules`` may differ between ``p - 1`` and ``p``.

    Read from :func:`outcome_conditions` itself (every price it compares with), so counts over price bands
    that split prices there (the home page's, from the stored histograms) follow the rule as it is written.
    """
    price = _Cuts()
    outcome_conditions(rules, 0, price)
    return price.cuts


def stock_cuts(rules: Rules) -> set[int]:
    """Return the stock levels ``s`` where the outcome under ``rules`` may differ between ``s - 1`` and ``s``.

    Read from :func:`outcome_conditions` like :func:`price_cuts`: past the largest, every stock level has the
    same outcome (the preview counts them as one tail).
    """
    stock = _Cuts()
    outcome_conditions(rules, stock, 0)
    return stock.cuts
