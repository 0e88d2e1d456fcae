"""Issue 10 §4: the sweeps at scale get no 429, and a sweep killed with SIGKILL resumes where it was.

Real parts: the sandbox over HTTP (its rate limits on), Redis (the client's token buckets), SQLite, and for
the crash a real ``rq worker`` process killed with SIGKILL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from redis import Redis
from sqlmodel import Session, func, select

from jobs.queue import RECONCILE_QUEUE, enqueue_reconcile
from tests.fixtures.sandbox import SandboxControl
from tests.fixtures.services import wait_until
from tests.fixtures.worker import REPO_ROOT, Seller, kill_worker
from tests.integration.test_reconcile_sweeps import sweep
from wizard.models.base import utcnow
from wizard.models.reconcile import AmazonListing, ReconcileSweep


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def change_listings(sandbox: SandboxControl, seller_id: str, count: int, since: datetime,
                    quantity: int) -> None:
    """Change ``count`` generated listings on Amazon, one millisecond apart since ``since`` (a busy day)."""
    for start in range(0, count, 1000):
        sandbox.seed_listings(seller_id, [
            {"sku": f"GEN-{n:08d}", "quantity": quantity, "price": "10.00",
             "created_at": _iso(since - timedelta(days=30)),
             "updated_at": _iso(since + timedelta(milliseconds=n))}
            for n in range(start, min(count, start + 1000))])


def _last_sweep(db: Session, account_id: int) -> ReconcileSweep:
    db.expire_all()
    found = db.exec(select(ReconcileSweep).where(ReconcileSweep.account_id == account_id)
                    .order_by(ReconcileSweep.id.desc())).first()  # type: ignore[union-attr]
    assert found is not None
    return found


def test_full_sweep_of_20000_and_incremental_after_3000_changes_get_no_429(
        db: Session, seller: Seller, sandbox: SandboxControl, reconcile_env: dict[str, str],
        capsys: Any) -> None:
    sandbox.generate_listings(seller.seller_id, 20_000, prefix="GEN-")
    before = sandbox.stats()["calls"]
    assert sweep("full", seller.account_id).status == "done"
    full_calls = _diff(sandbox.stats()["calls"], before)
    stored = db.exec(select(func.count()).select_from(AmazonListing)
                     .where(AmazonListing.account_id == seller.account_id)).one()
    assert stored == 20_000

    since = _last_sweep(db, seller.account_id).started_at + timedelta(seconds=1)
    change_listings(sandbox, seller.seller_id, 3_000, since, quantity=9)
    # The changes are stamped up to 3 s after ``since``; an incremental sweep reads up to the moment it
    # starts (later changes are the next sweep's), so start it once the last change is in the past.
    last_change = since + timedelta(milliseconds=3_000)
    wait_until(lambda: utcnow() > last_change, timeout=30, message="the last change to be in the past")
    before = sandbox.stats()["calls"]
    assert sweep("incremental", seller.account_id).status == "done"
    incremental_calls = _diff(sandbox.stats()["calls"], before)
    incremental = _last_sweep(db, seller.account_id)
    db.expire_all()
    changed = db.exec(select(func.count()).select_from(AmazonListing).where(
        AmazonListing.account_id == seller.account_id, AmazonListing.quantity == 9)).one()
    assert changed == 3_000
    assert incremental.splits >= 2  # 3,000 changes need at least four windows of 1,000 or fewer
    assert sandbox.stats()["throttled"] == {}
    with capsys.disabled():
        print(f"\nfull sweep of 20,000: {full_calls}"
              f"\nincremental after 3,000 changes: {incremental_calls}, windows split {incremental.splits} "
              f"times, {incremental.items_read} items read")


def _diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {op: n - before.get(op, 0) for op, n in sorted(after.items()) if n - before.get(op, 0)}


def test_a_sweep_killed_with_sigkill_resumes_from_its_page_token(
        db: Session, seller: Seller, sandbox: SandboxControl, reconcile_env: dict[str, str],
        tmp_path: Path) -> None:
    sandbox.generate_listings(seller.seller_id, 10, prefix="OLD-")
    assert sweep("full", seller.account_id).status == "done"
    since = _last_sweep(db, seller.account_id).started_at + timedelta(seconds=1)
    sandbox.generate_listings(seller.seller_id, 900, prefix="GEN-")
    change_listings(sandbox, seller.seller_id, 900, since, quantity=4)
    # Stamped up to 0.9 s after ``since``, which is 1 s after the full sweep started: on a quick machine the
    # incremental sweep started before the last of them and (rightly) left them for the next one.
    last_change = since + timedelta(milliseconds=900)
    wait_until(lambda: utcnow() > last_change, timeout=30, message="the last change to be in the past")
    sandbox.set_time_scale(1)  # Amazon's real 5 requests a second: 45 pages take about 9 seconds
    worker = start_reconcile_worker(reconcile_env, tmp_path / "worker.log")
    redis = Redis.from_url(reconcile_env["REDIS_URL"])
    try:
        enqueue_reconcile(seller.account_id, "incremental", connection=redis)
        wait_until(lambda: _midway(db, seller.account_id), timeout=60, message="the sweep midway")
        kill_worker(worker)
        at_kill = _last_sweep(db, seller.account_id)
        assert at_kill.status == "running" and at_kill.page_token
        sweep_id, calls_at_kill, read_at_kill = at_kill.id, at_kill.calls, at_kill.items_read
        assert read_at_kill < 900
        searches_at_kill = sandbox.stats()["calls"]["searchListingsItems"]
        wait_until(lambda: not redis.exists(f"reconcile:lock:{seller.account_id}"), timeout=30,
                   message="the dead worker's lock to expire")
        worker = start_reconcile_worker(reconcile_env, tmp_path / "worker2.log")
        enqueue_reconcile(seller.account_id, "incremental", connection=redis)
        wait_until(lambda: _last_sweep(db, seller.account_id).status == "done", timeout=120,
                   message="the resumed sweep to finish")
    finally:
        kill_worker(worker)
        redis.close()
    done = _last_sweep(db, seller.account_id)
    assert done.id == sweep_id, "the restarted job carried on with the same sweep"
    searches = sandbox.stats()["calls"]["searchListingsItems"]
    # Not started over: the resumed job read only the pages left (the page in flight at the kill: twice).
    assert searches - searches_at_kill <= done.calls - calls_at_kill + 1
    assert searches <= done.calls + 1
    assert 900 <= done.items_read <= 900 + 20
    db.expire_all()
    assert db.exec(select(func.count()).select_from(AmazonListing).where(
        AmazonListing.account_id == seller.account_id, AmazonListing.quantity == 4)).one() == 900


def _midway(db: Session, account_id: int) -> ReconcileSweep | None:
    current = _last_sweep(db, account_id)
    if current.kind == "incremental" and current.page_token and current.items_read >= 300:
        return current
    return None


def start_reconcile_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a real ``rq worker`` on the reconcile queue, of the Procfile's class (``InProcessWorker``)."""
    from jobs.queue import WORKER_CLASS

    rq = str(Path(sys.executable).with_name("rq"))
    with log.open("ab") as handle:
        return subprocess.Popen([rq, "worker", "--worker-class", WORKER_CLASS, "--with-scheduler", "--url",
                                 env["REDIS_URL"], RECONCILE_QUEUE],
                                cwd=REPO_ROOT, env={**os.environ, **env}, stdout=handle,
                                stderr=subprocess.STDOUT)
