"""Counts as merchants read them, for Python and templates (``plural`` a global, ``thousands`` a filter)."""

from __future__ import annotations


def plural(count: int, singular: str, many: str | None = None) -> str:
    """Return the count with thousands separators and the word that agrees: "1 update", "2,183 updates".

    ``many`` is the plural when adding an "s" is wrong ("1 batch", "2 batches").
    """
    word = singular if count == 1 else (many or singular + "s")
    return f"{thousands(count)} {word}"


def thousands(count: int) -> str:
    """Return the count with thousands separators: "2,183" (templates: ``{{ n | thousands }}``)."""
    return f"{count:,}"
