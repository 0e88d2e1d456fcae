"""The Settings > Amazon form and its parsing: the four settings of the guide's two sections."""

from __future__ import annotations

from dataclasses import dataclass

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import ValidationError

from wizard import rules as r
from wizard.rules import NumberError, Rules
from wizard.widgets import CheckboxInput, TextInput

#: The largest buffer or ceiling accepted: a typo guard far above any real stock level.
MAX_UNITS = 1_000_000


def whole_number(raw: str | None, *, what: str, empty_hint: str | None) -> int | None:
    """Parse a whole number of units ≥ 0 with the shared parser; ``empty_hint`` None means one is required."""
    text = raw or ""
    if not text.strip() and empty_hint is not None:
        return None
    try:
        return r.parse_whole_number(text, maximum=MAX_UNITS)
    except NumberError as exc:
        if exc.kind == "missing":
            raise ValidationError(f"Enter the {what} as a whole number of units, 0 or more.") from None
        if exc.kind == "negative":
            hint = f" {empty_hint}" if empty_hint else " Use 0 for no buffer."
            raise ValidationError(f"The {what} can't be negative.{hint}") from None
        if exc.kind == "too_large":
            raise ValidationError(f"Enter {MAX_UNITS:,} units or fewer.") from None
        raise ValidationError(f"Enter the {what} as a whole number of units, like 6 (no decimals or "
                              "letters).") from None


def price(raw: str | None) -> int:
    """Parse the threshold in US dollars with the shared parser, worded for this field."""
    try:
        return r.parse_usd(raw or "")
    except NumberError as exc:
        if exc.kind == "negative":
            raise ValidationError("The threshold can't be negative. Use 0.00 to send every "
                                  "product.") from None
        if exc.kind == "missing":
            raise ValidationError("Enter the threshold in US dollars, like 5.00, or 0.00 to send every "
                                  "product.") from None
        raise ValidationError(str(exc)) from None


class AmazonSettingsForm(FlaskForm):
    """The four settings of the guide's two sections."""

    inventory_buffer = StringField("Marketplace Inventory Buffer", widget=TextInput())
    inventory_ceiling = StringField("Inventory Ceiling (optional)", widget=TextInput())
    min_price = StringField("Minimum Price Threshold (USD)", widget=TextInput())
    disable_pricing = BooleanField("Disable Pricing: never send prices to Amazon", widget=CheckboxInput())

    def validate_inventory_buffer(self, field: StringField) -> None:
        """Require a whole number of units, 0 or more."""
        field.parsed = whole_number(field.data, what="buffer", empty_hint=None)

    def validate_inventory_ceiling(self, field: StringField) -> None:
        """Allow empty (no ceiling) or a whole number of units."""
        field.parsed = whole_number(field.data, what="ceiling", empty_hint="Leave it empty for no ceiling.")

    def validate_min_price(self, field: StringField) -> None:
        """Require US dollars with at most 2 decimals, 0 or more."""
        field.parsed = price(field.data)

    def rules(self) -> Rules:
        """Return the validated settings (call after ``validate``)."""
        return Rules(
            inventory_buffer=self.inventory_buffer.parsed,
            inventory_ceiling=self.inventory_ceiling.parsed,
            min_price_cents=self.min_price.parsed,
            disable_pricing=bool(self.disable_pricing.data),
        )

    @classmethod
    def for_rules(cls, rules: Rules) -> AmazonSettingsForm:
        """Return a form filled with ``rules``."""
        return cls(data={
            "inventory_buffer": str(rules.inventory_buffer),
            "inventory_ceiling": "" if rules.inventory_ceiling is None else str(rules.inventory_ceiling),
            "min_price": f"{rules.min_price_cents / 100:.2f}",
            "disable_pricing": rules.disable_pricing,
        })


@dataclass(frozen=True)
class Note:
    """An explanation shown under a field: allowed, but worth a second look."""

    level: str
    text: str


def ceiling_note(buffer: int | None, ceiling: int | None) -> Note | None:
    """Explain a ceiling of 0 or below the buffer: allowed, but say what it does."""
    if ceiling is None:
        return None
    if ceiling == 0:
        return Note("warning", "A ceiling of 0 advertises nothing: every product shows out of stock on "
                               "Amazon. Leave the ceiling empty for no cap.")
    if buffer is not None and ceiling < buffer:
        margin = buffer - ceiling
        return Note("info", f"A product needs at least {buffer} units to be listed, and at most {ceiling} "
                            f"are shown: a {margin}-unit safety margin even after every shown unit sells.")
    return None


def form_note(form: AmazonSettingsForm) -> Note | None:
    """Return the ceiling's note for the form as typed (also before it was validated)."""
    buffer = getattr(form.inventory_buffer, "parsed", None)
    ceiling = getattr(form.inventory_ceiling, "parsed", None)
    if not hasattr(form.inventory_ceiling, "parsed"):
        try:
            buffer = whole_number(form.inventory_buffer.data, what="buffer", empty_hint=None)
            ceiling = whole_number(form.inventory_ceiling.data, what="ceiling", empty_hint="")
        except ValidationError:
            return None
    return ceiling_note(buffer, ceiling)
