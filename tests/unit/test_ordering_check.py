"""The convergence test's per-SKU ordering check catches a stale value overwriting a newer one."""

from __future__ import annotations

import pytest

from tests.integration.test_urgent_convergence import assert_no_stale_value_overwrote_a_newer_one as check

DECIDED = {"A": [(0.0, 20), (10.0, 0), (20.0, 5)]}


def test_changes_in_decision_order_pass() -> None:
    check(DECIDED, [("A", 0, 11.0, "urgent"), ("A", 5, 25.0, "feed")], since=1.0)


def test_an_older_decision_arriving_after_a_newer_one_fails() -> None:
    with pytest.raises(AssertionError, match="stale 0"):
        check(DECIDED, [("A", 5, 21.0, "urgent"), ("A", 0, 22.0, "feed")], since=1.0)


def test_a_value_never_decided_fails() -> None:
    with pytest.raises(AssertionError, match="not decided"):
        check(DECIDED, [("A", 7, 11.0, "feed")], since=1.0)
