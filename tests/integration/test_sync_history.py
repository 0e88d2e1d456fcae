"""The Sync page tells one story (issue 9 §4): the card and the history agree, idle runs collapse into one
line, "Last successful sync" is a run that sent something, and the history is paged 20 lines at a time."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import event, update
from sqlmodel import Session, select

from tests.fixtures.worker import Seller, add_products, last_run, run_sync
from wizard.config import from_environment
from wizard.db import engine_for
from wizard.models import Product
from wizard.models.sync import RunStatus, SyncRun, SyncTrigger
from wizard.sync.runner import FOLLOW, Syncer

HX = {"HX-Request": "true"}


def _row(html: str, run_id: int | None) -> str:
    """Return the History row of run ``run_id`` (its ``<tr>`` element)."""
    found = re.search(rf'<tr id="run-{run_id}"[^>]*>(.*?)</tr>', html, re.S)
    assert found, f"no history row for run {run_id}"
    return found.group(1)


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _lines(html: str) -> list[str]:
    """Return the ids of the History table's lines, in order."""
    return re.findall(r'<tr id="((?:run|idle)-[0-9-]+)"', html)


def test_the_card_and_the_history_row_say_the_same_when_amazon_finishes(
        client: FlaskClient, signed_in_as, seller: Seller, db: Session, redis_url: str, sandbox) -> None:
    add_products(db, seller.account_id, 30)
    sandbox.processing(paused=True)  # Amazon keeps the feed IN_QUEUE: the run stays "processing"
    config = {**from_environment(), "SYNC_POLL_INLINE": 0.0}
    redis = Redis.from_url(redis_url)
    assert Syncer(config, redis, seller.account_id).run("manual").status == "processing"
    run = last_run(db, seller.account_id)
    signed_in_as("staff")
    page = client.get("/sync/").get_data(as_text=True)
    assert "Amazon processing" in _row(page, run.id)
    poll = re.search(r'<div id="sync-progress"[^>]*hx-get="([^"]+)"', page)
    assert poll is not None and "history=1" in poll.group(1)

    sandbox.processing(paused=False)
    assert Syncer(config, redis, seller.account_id).run(FOLLOW).status == "done"
    fragment = client.get(poll.group(1).replace("&amp;", "&"), headers=HX).get_data(as_text=True)

    card = fragment.split('id="sync-history-card"', 1)[0]
    assert "Done: 30 accepted, 0 rejected, in 1 feed." in card
    assert 'id="sync-history-card" aria-labelledby="sync-history" hx-swap-oob="true"' in fragment
    row = _text(_row(fragment, run.id))
    assert row.startswith(f"{run.started_at:%b} {run.started_at.day}, ")
    assert "Done 30 30 30 0" in row and "processing" not in row.lower()
    assert re.search(r'<dd id="sync-last-success" hx-swap-oob="true">.*30 accepted, 0 rejected', fragment,
                     re.S)


def test_runs_that_found_nothing_to_send_are_one_history_line(
        client: FlaskClient, signed_in_as, seller: Seller, db: Session, redis_url: str) -> None:
    add_products(db, seller.account_id, 5)
    run_sync(redis_url, seller.account_id)
    first = last_run(db, seller.account_id)
    for _ in range(3):
        run_sync(redis_url, seller.account_id, SyncTrigger.CRON.value)
    idle_since = db.exec(select(SyncRun).where(SyncRun.id == (first.id or 0) + 1)).one().created_at
    db.execute(update(Product).where(Product.sku == "SKU-0000001").values(available=30))  # type: ignore[arg-type]
    db.commit()
    run_sync(redis_url, seller.account_id, SyncTrigger.CHANGE.value)
    second = last_run(db, seller.account_id)
    for _ in range(2):
        run_sync(redis_url, seller.account_id, SyncTrigger.CRON.value)
    signed_in_as("staff")

    html = client.get("/sync/").get_data(as_text=True)

    assert second.changed_count == 1
    assert _lines(html) == [f"idle-{second.id + 1}-{second.id + 2}", f"run-{second.id}",
                            f"idle-{first.id + 1}-{first.id + 3}", f"run-{first.id}"]
    text = _text(html)
    assert "Up to date · checked 2 times since" in text
    assert f"Up to date · checked 3 times since {idle_since:%H:%M} UTC" in text
    assert "Amazon was already up to date: nothing to send." in text  # the card shows the newest run


def test_last_successful_sync_is_the_last_run_that_sent_something(
        client: FlaskClient, signed_in_as, seller: Seller, db: Session, redis_url: str) -> None:
    add_products(db, seller.account_id, 5)
    run_sync(redis_url, seller.account_id)
    sent = last_run(db, seller.account_id)
    run_sync(redis_url, seller.account_id, SyncTrigger.CRON.value)
    assert last_run(db, seller.account_id).batches_total == 0  # an idle run came after
    signed_in_as("staff")

    html = client.get("/sync/").get_data(as_text=True)

    last_success = re.search(r'<dd id="sync-last-success">(.*?)</dd>', html, re.S)
    assert last_success is not None
    assert sent.finished_at is not None
    assert f'datetime="{sent.finished_at.isoformat()}Z"' in last_success.group(1)
    assert "5 accepted, 0 rejected" in _text(last_success.group(1))


def _add_runs(db: Session, account_id: int, pattern: str) -> None:
    """Record finished runs, oldest first: ``B`` sent one update, ``I`` found nothing to send."""
    start = datetime(2026, 11, 2, 4, 0)
    for i, kind in enumerate(pattern):
        at = start + timedelta(minutes=i)
        busy = kind == "B"
        db.add(SyncRun(account_id=account_id, trigger=SyncTrigger.CRON, status=RunStatus.DONE,
                       changed_count=int(busy), sent_count=int(busy), accepted_count=int(busy),
                       batches_total=int(busy), batches_submitted=int(busy), batches_processed=int(busy),
                       created_at=at, started_at=at, finished_at=at + timedelta(seconds=20)))
    db.commit()


def test_the_history_shows_20_lines_a_page_with_links_that_work_with_and_without_htmx(
        client: FlaskClient, signed_in_as, seller: Seller, db: Session) -> None:
    # 45 lines: (busy, 3 idle) x 15, then 15 busy runs.
    _add_runs(db, seller.account_id, "IIIB" * 15 + "B" * 15)
    signed_in_as("staff")

    seen: list[str] = []
    html = client.get("/sync/").get_data(as_text=True)
    pages = 0
    while True:
        pages += 1
        lines = _lines(html)
        assert 0 < len(lines) <= 20
        seen += lines
        older = re.search(r'<a href="(/sync/\?before=\d+)" hx-get="(/sync/history\?before=\d+)" '
                          r'hx-target="#sync-history-card" hx-swap="outerHTML" '
                          r'hx-push-url="(/sync/\?before=\d+)">Older syncs</a>', html)
        if older is None:
            break
        href, hx_get, pushed = older.groups()
        assert pushed == href
        fragment = client.get(hx_get, headers=HX).get_data(as_text=True)
        assert "<html" not in fragment and 'id="sync-history-card"' in fragment
        html = client.get(href).get_data(as_text=True)  # without JavaScript: the whole page
        assert "<html" in html and "Newest syncs" in html
        assert _lines(fragment) == _lines(html)
        assert client.get(hx_get).headers["Location"] == href  # a plain GET of the fragment URL
    assert pages == 3
    assert len(seen) == len(set(seen)) == 45
    assert seen[0].startswith("run-") and seen[15].startswith("run-") and seen[16].startswith("idle-")
    assert "Up to date · checked 3 times since 04:00 UTC" in _text(html)


def test_the_history_page_costs_the_same_queries_for_30_runs_as_for_3000(
        app: Flask, client: FlaskClient, signed_in_as, seller: Seller, db: Session) -> None:
    signed_in_as("staff")
    engine = engine_for(app.config["DATABASE_URL"])
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    def queries() -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            response = client.get("/sync/history", headers=HX)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200
        return len([s for s in statements if "sync_run" in s or "feed_batch" in s])

    _add_runs(db, seller.account_id, "IB" * 15)
    few = queries()
    _add_runs(db, seller.account_id, "IIIIIIIIIB" * 300)
    many = queries()

    assert few == many == 4, f"30 runs: {few} queries, 3,000 runs: {many}"
