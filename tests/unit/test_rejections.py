"""Issue 9 §1: the one table of Amazon's issue codes, and when a rejected SKU may be sent again."""

from __future__ import annotations

from datetime import datetime, timedelta

from wizard.sync import dryrun, rejections, views
from wizard.sync.rejections import DAY, FIRST_BACKOFF, MAX_BACKOFF, Kind, after_rejection

NOW = datetime(2026, 11, 30, 9, 0)


def test_every_code_the_sandbox_answers_has_a_kind_and_a_tip() -> None:
    from sandbox import listings, processing

    for code in (listings.SKU_NOT_FOUND, listings.INVALID_VALUE, listings.NOT_SUPPORTED,
                 listings.MISSING_ATTRIBUTES, processing.DUPLICATE_MESSAGE):
        assert code in rejections.CODES
        assert rejections.tip_for(code) != rejections.DEFAULT_TIP
    assert rejections.kind_of(listings.SKU_NOT_FOUND) == Kind.PERMANENT
    assert rejections.kind_of(processing.DUPLICATE_MESSAGE) == Kind.TRANSIENT


def test_unknown_codes_are_unknown_with_the_default_tip() -> None:
    assert rejections.kind_of("12345678") == Kind.UNKNOWN and rejections.kind_of(None) == Kind.UNKNOWN
    assert rejections.tip_for("12345678") == rejections.DEFAULT_TIP


def test_the_pages_read_their_tips_from_the_one_table() -> None:
    for code in ("4000001", "90220", "feed_fatal", "nope"):
        assert views.tip_for(code) == dryrun.tip_for(code) == rejections.tip_for(code)


def test_a_permanent_rejection_has_no_next_try_of_its_own() -> None:
    first = after_rejection("4000001", None, None, NOW)
    assert (first.kind, first.tries, first.next_retry_at) == (Kind.PERMANENT, 1, None)
    again = after_rejection("4000001", first.tries, first.window_at, NOW + timedelta(hours=1))
    assert (again.tries, again.window_at, again.next_retry_at) == (2, NOW, None)


def test_a_transient_rejection_backs_off_doubling_up_to_a_day() -> None:
    tries, window = None, None
    waits = []
    for _ in range(10):
        attempts = after_rejection("5002", tries, window, NOW)
        assert attempts.next_retry_at is not None
        waits.append(attempts.next_retry_at - NOW)
        tries, window = attempts.tries, attempts.window_at
    assert waits[:3] == [FIRST_BACKOFF, 2 * FIRST_BACKOFF, 4 * FIRST_BACKOFF]
    assert waits[-1] == MAX_BACKOFF


def test_an_unknown_code_gets_three_tries_in_a_day_then_waits_for_the_next_day() -> None:
    first = after_rejection("77777", None, None, NOW)
    second = after_rejection("77777", first.tries, first.window_at, NOW + timedelta(hours=1))
    third = after_rejection("77777", second.tries, second.window_at, NOW + timedelta(hours=2))
    assert [a.tries for a in (first, second, third)] == [1, 2, 3]
    assert first.next_retry_at == NOW + FIRST_BACKOFF
    assert third.next_retry_at == NOW + DAY  # the fourth try is a day after the first
    next_day = after_rejection("77777", third.tries, third.window_at, NOW + DAY)
    assert (next_day.tries, next_day.window_at) == (1, NOW + DAY)
