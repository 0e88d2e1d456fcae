"""In a real browser: the Sync page's history (idle runs collapsed, pages of 20) and the Disconnect page's
"Set all my Amazon quantities to 0 first" pass axe-core and fit a phone; the zero run's History row turns
"Done" together with the card, without a reload (issue 9 §4 and §9)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from tests.e2e.pages.base import BasePage
from tests.e2e.test_accessibility import check_pages, phone_and_desktop  # noqa: F401 - a fixture
from tests.fixtures.worker import Seller, add_products, run_sync, start_worker
from wizard.models.sync import RunStatus, SyncRun, SyncTrigger

DISCONNECT = "/settings/integrations/amazon/disconnect"


def _older_runs(db: Session, account_id: int, count: int) -> None:
    """Record ``count`` finished runs a day ago, each of which sent one update."""
    start = datetime(2026, 11, 1, 9, 0)
    for i in range(count):
        at = start + timedelta(minutes=15 * i)
        db.add(SyncRun(account_id=account_id, trigger=SyncTrigger.CRON, status=RunStatus.DONE,
                       changed_count=1, sent_count=1, accepted_count=1, batches_total=1, batches_submitted=1,
                       batches_processed=1, created_at=at, started_at=at,
                       finished_at=at + timedelta(seconds=40)))
    db.commit()


@pytest.mark.e2e
def test_the_sync_history_and_the_zero_first_disconnect_are_accessible_and_agree(
        phone_and_desktop: list[Page], live_server: Any, merchant: Any, seller: Seller,  # noqa: F811
        db: Session, redis_url: str, sync_env: dict[str, str], worker_processes: list[Any],
        tmp_path: Path) -> None:
    _older_runs(db, seller.account_id, 25)
    add_products(db, seller.account_id, 40)
    run_sync(redis_url, seller.account_id)
    for _ in range(3):
        run_sync(redis_url, seller.account_id, SyncTrigger.CRON.value)

    check_pages(phone_and_desktop, live_server.url, merchant.user("admin").email,
                [("sync", "/sync/"), ("disconnect, zero first", DISCONNECT)])

    desktop = phone_and_desktop[0]
    shots = BasePage(desktop, live_server.url)
    desktop.goto(live_server.url + "/sync/")
    history = desktop.locator("#sync-history-card")
    expect(history).to_contain_text("Up to date · checked 3 times since")
    expect(history.locator("tbody tr")).to_have_count(20)
    shots.screenshot("sync-history", "sync-page-1")
    history.get_by_role("link", name="Older syncs").click()
    expect(desktop).to_have_url(re.compile(r"/sync/\?before=\d+$"))  # pushed: a reload shows this page
    expect(history.get_by_role("link", name="Newest syncs")).to_be_visible()
    expect(history.locator("tbody tr")).to_have_count(7)
    shots.screenshot("sync-history", "sync-page-2")

    worker_processes.append(start_worker(sync_env, log=tmp_path / "worker.log"))
    desktop.goto(live_server.url + DISCONNECT)
    shots.screenshot("sync-history", "disconnect-zero-first")
    desktop.get_by_role("button", name="Set all my Amazon quantities to 0 first").click()

    expect(desktop.get_by_text("Setting your Amazon quantities to 0.")).to_be_visible()
    expect(desktop.locator("#sync-progress label")).to_have_text(
        "Done: 40 quantities set to 0 on Amazon, 0 rejected. Ecommerce then disconnected from Amazon.",
        timeout=30_000)
    newest = history.locator("tbody tr").first
    expect(newest).to_contain_text("quantities to 0, then disconnect")
    expect(newest.get_by_text("Done", exact=True)).to_be_visible()
    shots.screenshot("sync-history", "sync-after-zero-first")
