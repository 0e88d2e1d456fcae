"""Counts shown in words agree with their numbers."""

from __future__ import annotations

import pytest

from wizard.text import plural, thousands


@pytest.mark.parametrize(("count", "expected"), [
    (0, "0 updates"), (1, "1 update"), (2, "2 updates"), (2183, "2,183 updates"),
])
def test_plural_agrees_with_the_count_and_separates_thousands(count: int, expected: str) -> None:
    assert plural(count, "update") == expected


def test_plural_takes_an_irregular_plural() -> None:
    assert (plural(1, "batch", "batches"), plural(3, "batch", "batches")) == ("1 batch", "3 batches")


@pytest.mark.parametrize(("count", "expected"),
                         [(0, "0"), (999, "999"), (2183, "2,183"), (10**6, "1,000,000")])
def test_thousands_separates_thousands_with_commas(count: int, expected: str) -> None:
    assert thousands(count) == expected
