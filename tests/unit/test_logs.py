"""``LOG_FORMAT=json``: one JSON object per line, with the account, run and feed the line is about."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from wizard.logs import bind, configure_logging, log_context


@pytest.fixture
def json_stream() -> Iterator[io.StringIO]:
    """Configure JSON logs into a buffer; put the root logger back afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved_handlers:
        root.addHandler(handler)
    root.setLevel(saved_level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_event_is_one_json_line_with_the_bound_account_run_and_feed(json_stream: io.StringIO) -> None:
    log = logging.getLogger("wizard.sync.runner")
    with log_context(account_id=7):
        log.info("planning")
        bind(run_id=42)
        log.warning("feed %s is slow\nsecond line", "F-1", extra={"feed_id": "F-1"})
    log.info("after")

    first, second, third = lines(json_stream)
    assert first["message"] == "planning" and first["account_id"] == 7 and "run_id" not in first
    assert second == {**second, "level": "warning", "logger": "wizard.sync.runner", "account_id": 7,
                      "run_id": 42, "feed_id": "F-1", "message": "feed F-1 is slow\nsecond line"}
    assert "account_id" not in third and "run_id" not in third


def test_an_exception_stays_inside_its_json_line(json_stream: io.StringIO) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("jobs").exception("the job failed")
    (entry,) = lines(json_stream)
    assert entry["level"] == "error" and "ValueError: boom" in str(entry["exception"])


def test_configuring_twice_installs_one_handler(json_stream: io.StringIO) -> None:
    configure_logging("json", stream=json_stream)
    logging.getLogger("x").info("once")
    assert len(lines(json_stream)) == 1


def test_text_format_changes_nothing() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    configure_logging("text")
    assert root.handlers == before


def test_bind_outside_a_block_leaves_later_lines_alone(json_stream: io.StringIO) -> None:
    # A thread (a web request's, a worker's) outlives the work it logs about: nothing may stick to it.
    bind(run_id=42)
    logging.getLogger("wizard").info("unrelated")
    (entry,) = lines(json_stream)
    assert "run_id" not in entry
