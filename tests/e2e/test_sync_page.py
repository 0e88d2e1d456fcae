"""In a real browser: a manager presses Sync now and watches the run finish, on desktop and on a phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from tests.conftest import PASSWORD
from tests.e2e.pages.sync import SyncPage
from tests.fixtures.worker import Seller, add_products, start_worker


@pytest.mark.e2e
def test_a_manager_starts_a_sync_and_watches_it_finish(
        page: Page, live_server: Any, seller: Seller, merchant: Any, db: Session, sync_env: dict[str, str],
        worker_processes: list[Any], tmp_path: Path, sandbox: Any) -> None:
    add_products(db, seller.account_id, 120, prefix="SHIRT-")
    add_products(db, seller.account_id, 2, prefix="UNKNOWN-")
    worker_processes.append(start_worker(sync_env, log=tmp_path / "worker.log"))
    sync = SyncPage(page, live_server.url)
    sync.sign_in(merchant.user("manager").email, PASSWORD)
    sync.open()
    expect(page.get_by_role("heading", name="Sync with Amazon")).to_be_visible()

    sync.sync_now()

    expect(page.get_by_text("Sync started")).to_be_visible()
    expect(sync.status_line).to_have_text("Done: 120 accepted, 2 rejected, in 1 feed.", timeout=30_000)
    expect(sync.progress).to_have_attribute("value", "2")
    page.reload()
    expect(sync.history.get_by_role("cell", name="Done")).to_have_count(1)
    expect(sync.history).to_contain_text("122")
    expect(sync.rejected.get_by_role("link", name="UNKNOWN-0000000")).to_be_visible()  # issue 9 §1
    sync.screenshot("sync", "sync")
    page.goto(live_server.url + "/")
    sync.screenshot("sync", "home")
