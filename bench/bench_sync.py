"""Benchmark the sync: planning a million SKUs against a floor, and the Amazon calls of 100,000 changes.

Prints figures; it is not a test. Run: ``.venv/bin/python bench/bench_sync.py`` (a few minutes;
``--products 100000`` and ``--skip-sandbox`` for a quicker look).

1. 1,000,000 products, first full sync: planning and writing every feed document, against the floor of
   ``bench/sync_floor.py`` (a bare scan of the same columns, the same rule in a tight loop, the same messages
   serialized with orjson and written to files), in the same run: target ≤ 1.2× the floor. The worker's
   peak memory (target ≤ 250 MB), measured in a fresh subprocess with ``resource.getrusage``.
2. The same catalog with 1% changed since the last run: planning and documents, against the floor of the
   same scan, compare and serialize: target ≤ 1.5×.
3. 100,000 changed SKUs synced against the sandbox: every Amazon call, by kind (target: 4 createFeed).

Each side runs twice in fresh processes, alternating, and the better time of each is compared: the machine
is shared and noisy, the ratio is what counts.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

SELLER = "A1PROSELLERUS01"


def _config(database_url: str, redis_url: str, **extra: str) -> dict[str, Any]:
    from wizard.config import from_environment

    # The feed pipeline's figures: every catalog SKU is sent (the sandbox's "exists" mode holds them all), as
    # before the reconcile's "only listings Amazon has shown" (issue 10), which bench_reconcile measures.
    return {**from_environment(), "DATABASE_URL": database_url, "REDIS_URL": redis_url,
            "RECONCILE_BEFORE_SYNC": False, "CHECK_BEFORE_FIRST_SYNC": False, **extra}


def make_catalog(database_url: str, count: int) -> int:
    """Create the schema, one account and ``count`` products; return the account id."""
    from sqlalchemy import text
    from sqlmodel import SQLModel

    import wizard.models  # noqa: F401 - registers the tables
    from wizard.db import engine_for

    engine = engine_for(database_url)
    SQLModel.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO account (name, created_at) VALUES ('Bench', '2026-01-01 00:00:00')"))
        account_id = int(conn.execute(text("SELECT max(id) FROM account")).scalar_one())
        rows = ({"a": account_id, "s": f"BENCH-{i:08d}", "t": f"Product {i}", "q": (i * 7) % 60,
                 "p": 300 + (i * 37) % 20_000} for i in range(count))
        conn.connection.executemany(
            "INSERT INTO product (account_id, sku, title, available, price_cents, updated_at) "
            "VALUES (:a, :s, :t, :q, :p, '2026-01-01 00:00:00')", rows)
    return account_id


def plan_once(database_url: str, account_id: int) -> dict[str, Any]:
    """Plan a run and build every feed document, in this process; return timings and peak memory."""
    from redis import Redis
    from sqlmodel import select

    from jobs.sync import Syncer
    from wizard.amazon.client import SellerAuth
    from wizard.db import session_scope
    from wizard.models.sync import FeedBatch, RunStatus, SyncRun

    syncer = Syncer(_config(database_url, "redis://127.0.0.1:1/0"), Redis.from_url("redis://127.0.0.1:1/0"),
                    account_id)
    with session_scope(database_url) as session:
        syncer.session = session
        syncer.seller = SellerAuth(SELLER, "unused")
        run = SyncRun(account_id=account_id, status=RunStatus.PLANNING)
        session.add(run)
        session.commit()
        started = time.perf_counter()
        syncer._plan(run)
        planned = time.perf_counter() - started
        document_bytes = 0
        for batch in session.scalars(select(FeedBatch).where(FeedBatch.run_id == run.id)):
            document_bytes += len(syncer._document(batch))
        total = time.perf_counter() - started
        return {"changed": run.changed_count, "feeds": run.batches_total, "plan_s": round(planned, 2),
                "plan_and_documents_s": round(total, 2), "document_mb": round(document_bytes / 2**20, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def accept_everything(database_url: str) -> None:
    """Mark every in-flight message accepted, as a DONE report without issues would."""
    from sqlalchemy import text

    from wizard.db import engine_for

    with engine_for(database_url).begin() as conn:
        conn.execute(text(
            "UPDATE listing_state SET accepted_quantity = COALESCE(inflight_quantity, accepted_quantity), "
            "accepted_price_cents = COALESCE(inflight_price_cents, accepted_price_cents), "
            "status = 'accepted', "
            "inflight_batch_id = NULL, inflight_message_id = NULL, inflight_quantity = NULL, "
            "inflight_price_cents = NULL"))
        conn.execute(text("UPDATE feed_batch SET status = 'done'"))
        conn.execute(text("UPDATE sync_run SET status = 'done'"))


def change_one_percent(database_url: str) -> int:
    """Change the stock of 1% of the products."""
    from sqlalchemy import text

    from wizard.db import engine_for

    with engine_for(database_url).begin() as conn:
        result = conn.execute(text("UPDATE product SET available = available + 61 WHERE id % 100 = 0"))
        return int(result.rowcount)


def in_subprocess(database_url: str, account_id: int, script: str = __file__) -> dict[str, Any]:
    """Plan (or run the floor) in a fresh process, so its peak memory is its own alone."""
    command = [sys.executable, script, "--plan", database_url, str(account_id)]
    if script != __file__:
        command = [sys.executable, script, database_url, str(account_id)]
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO_ROOT)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def forget_plan(database_url: str, *, keep_accepted: bool) -> None:
    """Undo a plan (batches, runs, in-flight messages), so the same plan can be measured again."""
    from sqlalchemy import text

    from wizard.db import engine_for

    with engine_for(database_url).begin() as conn:
        if keep_accepted:
            conn.execute(text("UPDATE listing_state SET inflight_batch_id = NULL, "
                              "inflight_message_id = NULL, inflight_quantity = NULL, "
                              "inflight_price_cents = NULL"))
        else:
            conn.execute(text("DELETE FROM listing_state"))
        conn.execute(text("DELETE FROM feed_batch"))
        conn.execute(text("DELETE FROM sync_run"))


def against_floor(database_url: str, account_id: int, *, keep_accepted: bool,
                  runs: int = 2) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the floor and the product's plan ``runs`` times each, alternating; return the best of each."""
    floors, plans = [], []
    for run in range(runs):
        floors.append(in_subprocess(database_url, account_id, str(REPO_ROOT / "bench" / "sync_floor.py")))
        plans.append(in_subprocess(database_url, account_id))
        if run + 1 < runs:
            forget_plan(database_url, keep_accepted=keep_accepted)
    return (min(floors, key=lambda f: f["floor_s"]), min(plans, key=lambda p: p["plan_and_documents_s"]))


def amazon_calls(count: int) -> dict[str, Any]:
    """Sync ``count`` changed SKUs against a sandbox process and count every call."""
    from redis import Redis

    from jobs.sync import Syncer
    from tests.fixtures.sandbox import SandboxControl, start_sandbox_subprocess
    from tests.fixtures.services import RedisServer, free_port
    from tests.fixtures.worker import connect, save_settings
    from wizard.db import session_scope

    workdir = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    redis_server = RedisServer(free_port(), workdir)
    redis_server.start()
    port = free_port()
    sandbox = start_sandbox_subprocess(port, {"SANDBOX_TIME_SCALE": "200", "SANDBOX_PROCESSING_DELAY": "0.5"})
    try:
        control = SandboxControl(f"http://localhost:{port}")
        database_url = f"sqlite:///{workdir / 'calls.sqlite'}"
        account_id = make_catalog(database_url, count)
        with session_scope(database_url) as session:
            connect(session, account_id, control.grant(SELLER))
            save_settings(session, account_id)  # the wizard's last step; nothing syncs before it
        config = _config(database_url, redis_server.url, AMAZON_LWA_TOKEN_URL=control.url + "/auth/o2/token",
                         AMAZON_SPAPI_ENDPOINT=control.url, SYNC_POLL_INITIAL=0.2, SYNC_POLL_INLINE=600)
        redis = Redis.from_url(redis_server.url)
        syncer = Syncer(config, redis, account_id)
        started = time.perf_counter()
        outcome = syncer.run("manual")
        elapsed = time.perf_counter() - started
        if outcome.status != "done":
            raise SystemExit(f"the sync against the sandbox ended {outcome.status!r}, not 'done'")
        stats = control.stats()
        return {"outcome": outcome.status, "seconds_with_sandbox_time_scale_200": round(elapsed, 1),
                "our_calls": dict(sorted(syncer.client.calls.items())),
                "sandbox_calls": dict(sorted(stats["calls"].items())),
                "sandbox_throttled": stats["throttled"], "feeds": len(stats["feeds"]),
                "listings_on_amazon": len(control.listings(SELLER))}
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
        redis_server.stop()


def main() -> None:
    """Run the measurements and print the figures."""
    import argparse

    from sandbox.models import models_dir

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--skip-sandbox", action="store_true",
                        help="skip the 100,000 SKUs against the sandbox")
    args = parser.parse_args()
    os.environ.setdefault("AMAZON_MODELS_DIR", str(models_dir()))
    os.environ.setdefault("APP_ENV", "development")  # the benchmark's processes use the development secrets
    workdir = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    database_url = f"sqlite:///{workdir / 'bench.sqlite'}"
    started = time.perf_counter()
    account_id = make_catalog(database_url, args.products)
    print(f"catalog of {args.products:,} products created in {time.perf_counter() - started:.1f} s")

    floor, full = against_floor(database_url, account_id, keep_accepted=False)
    print(f"first full sync: {full['changed']:,} changes in {full['feeds']} feeds ({full['document_mb']} MB)")
    print(f"  planning {full['plan_s']} s; planning + writing every feed document "
          f"{full['plan_and_documents_s']} s")
    print(f"  floor (scan + rule + orjson to files): {floor['floor_s']} s for {floor['changed']:,} messages "
          f"in {floor['documents']} documents ({floor['document_mb']} MB)")
    print(f"  ratio {full['plan_and_documents_s'] / floor['floor_s']:.2f}× the floor  (target <= 1.2×)")
    print(f"  worker peak RSS {full['peak_rss_mb']} MB  (target <= 250 MB; "
          f"the floor's {floor['peak_rss_mb']} MB)")

    accept_everything(database_url)
    changed = change_one_percent(database_url)
    floor, delta = against_floor(database_url, account_id, keep_accepted=True)
    print(f"1% changed ({changed:,} products): {delta['changed']:,} changes in {delta['feeds']} feeds;"
          f" planning {delta['plan_s']} s; with documents {delta['plan_and_documents_s']} s;"
          f" peak RSS {delta['peak_rss_mb']} MB")
    print(f"  floor (scan + compare + orjson to files): {floor['floor_s']} s "
          f"for {floor['changed']:,} messages")
    print(f"  ratio {delta['plan_and_documents_s'] / floor['floor_s']:.2f}× the floor  (target <= 1.5×)")

    if args.skip_sandbox:
        return
    calls = amazon_calls(100_000)
    print("100,000 changed SKUs against the sandbox:")
    for key, value in calls.items():
        print(f"  {key}: {value}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--plan":
        print(json.dumps(plan_once(sys.argv[2], int(sys.argv[3]))))
    else:
        main()
