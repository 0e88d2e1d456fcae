"""Benchmark the sync: planning a million SKUs against a floor, and the Amazon calls of 100,000 changes.

Prints figures; it is not a test. Run: ``APP_ENV=development .venv/bin/python bench/bench_sync.py`` (a few
minutes; ``--products 100000`` and ``--skip-sandbox`` for a quicker look). The planning runs on SQLite (a
file in a temporary folder) unless ``--postgresql`` (a throwaway cluster: ``tests.fixtures.databases
.PostgresCluster``, stopped at the end) or ``--database-url URL`` (an empty database) says otherwise; the
floor always reads the same database through the same kind of cursor as the planner. ``--profile FILE``
writes a cProfile of one more full plan + documents and FILE.delta of one more 1% plan (``pstats``).

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

import cProfile
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

from tests.fixtures.databases import PostgresCluster, postgresql_bindir  # noqa: E402
from tests.fixtures.services import RedisServer, free_port  # noqa: E402
from wizard.db import dispose_engine  # noqa: E402

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
        rows = ((account_id, f"BENCH-{i:08d}", f"Product {i}", (i * 7) % 60, 300 + (i * 37) % 20_000,
                 "2026-01-01 00:00:00") for i in range(count))
        columns = "account_id, sku, title, available, price_cents, updated_at"
        raw = conn.connection.driver_connection
        if engine.dialect.name == "postgresql":
            # COPY: the histogram's statement triggers fire once, not once per row.
            with raw.cursor() as cursor, cursor.copy(f"COPY product ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            raw.executemany(f"INSERT INTO product ({columns}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608
                            rows)
    analyze(database_url)
    return account_id


def analyze(database_url: str) -> None:
    """Refresh PostgreSQL's statistics after a bulk change, as autovacuum soon would (SQLite keeps none).

    Without them the planner's and the floor's scans alike get plans made for an empty table.
    """
    from sqlalchemy import text

    from wizard.db import engine_for

    engine = engine_for(database_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def plan_once(database_url: str, account_id: int, redis_url: str, profile: str = "") -> dict[str, Any]:
    """Plan a run and build every feed document, in this process; return timings and peak memory.

    With ``profile``, the planning and the documents run under cProfile and its stats go to that file.
    """
    from redis import Redis
    from sqlmodel import select

    from wizard.amazon.client import SellerAuth
    from wizard.db import session_scope
    from wizard.models.sync import FeedBatch, RunStatus, SyncRun
    from wizard.sync.runner import Syncer

    # A real Redis: the planner asks it whether the urgent lane is on (URGENT_LANE, on by default).
    syncer = Syncer(_config(database_url, redis_url), Redis.from_url(redis_url), account_id)
    profiler = cProfile.Profile() if profile else None
    with session_scope(database_url) as session:
        syncer.session = session
        syncer.seller = SellerAuth(SELLER, "unused")
        run = SyncRun(account_id=account_id, status=RunStatus.PLANNING)
        session.add(run)
        session.commit()
        if profiler is not None:
            profiler.enable()
        started = time.perf_counter()
        syncer._plan(run)
        planned = time.perf_counter() - started
        document_bytes = 0
        for batch in session.scalars(select(FeedBatch).where(FeedBatch.run_id == run.id)):
            document_bytes += len(syncer._document(batch))
        total = time.perf_counter() - started
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
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
            "status = 'ACCEPTED', "
            "inflight_batch_id = NULL, inflight_message_id = NULL, inflight_quantity = NULL, "
            "inflight_price_cents = NULL"))
        conn.execute(text("UPDATE feed_batch SET status = 'DONE'"))
        conn.execute(text("UPDATE sync_run SET status = 'DONE'"))


def change_one_percent(database_url: str) -> int:
    """Change the stock of 1% of the products."""
    from sqlalchemy import text

    from wizard.db import engine_for

    with engine_for(database_url).begin() as conn:
        result = conn.execute(text("UPDATE product SET available = available + 61 WHERE id % 100 = 0"))
        return int(result.rowcount)


def in_subprocess(command: list[str]) -> dict[str, Any]:
    """Plan (or run the floor) in a fresh process, so its peak memory is its own alone."""
    out = subprocess.run([sys.executable, *command], capture_output=True, text=True, cwd=REPO_ROOT,
                         check=False)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{out.stderr[-4000:]}")
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


def against_floor(database_url: str, account_id: int, redis_url: str, *, keep_accepted: bool,
                  runs: int = 2, profile: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the floor and the product's plan ``runs`` times each, alternating; return the best of each.

    With ``profile``, one more plan runs under cProfile (not counted) and writes its stats there.
    """
    floors, plans = [], []
    floor_command = [str(REPO_ROOT / "bench" / "sync_floor.py"), database_url, str(account_id)]
    plan_command = [__file__, "--plan", database_url, str(account_id), redis_url]
    for run in range(runs):
        floors.append(in_subprocess(floor_command))
        plans.append(in_subprocess(plan_command))
        if run + 1 < runs or profile:
            forget_plan(database_url, keep_accepted=keep_accepted)
    if profile:
        in_subprocess([*plan_command, profile])
    return (min(floors, key=lambda f: f["floor_s"]), min(plans, key=lambda p: p["plan_and_documents_s"]))


def amazon_calls(count: int) -> dict[str, Any]:
    """Sync ``count`` changed SKUs against a sandbox process and count every call."""
    from redis import Redis

    from tests.fixtures.sandbox import SandboxControl, start_sandbox_subprocess
    from tests.fixtures.worker import connect, save_settings
    from wizard.db import session_scope
    from wizard.sync.runner import Syncer

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


def measure_planning(database_url: str, redis_url: str, products: int, profile: str) -> None:
    """Build the catalog in ``database_url``, then print the full plan's and the 1% delta's ratios."""
    from sqlalchemy.engine import make_url

    started = time.perf_counter()
    account_id = make_catalog(database_url, products)
    print(f"{make_url(database_url).get_backend_name()}: catalog of {products:,} products created in "
          f"{time.perf_counter() - started:.1f} s")

    floor, full = against_floor(database_url, account_id, redis_url, keep_accepted=False, profile=profile)
    print(f"first full sync: {full['changed']:,} changes in {full['feeds']} feeds ({full['document_mb']} MB)")
    print(f"  planning {full['plan_s']} s; planning + writing every feed document "
          f"{full['plan_and_documents_s']} s")
    print(f"  floor (scan + rule + orjson to files): {floor['floor_s']} s for {floor['changed']:,} messages "
          f"in {floor['documents']} documents ({floor['document_mb']} MB)")
    print(f"  ratio {full['plan_and_documents_s'] / floor['floor_s']:.2f}× the floor  (target <= 1.2×)")
    print(f"  worker peak RSS {full['peak_rss_mb']} MB  (target <= 250 MB; "
          f"the floor's {floor['peak_rss_mb']} MB)")
    if profile:
        print(f"  cProfile of one more full plan + documents: {profile}")

    accept_everything(database_url)
    changed = change_one_percent(database_url)
    analyze(database_url)
    floor, delta = against_floor(database_url, account_id, redis_url, keep_accepted=True,
                                 profile=profile and profile + ".delta")
    print(f"1% changed ({changed:,} products): {delta['changed']:,} changes in {delta['feeds']} feeds;"
          f" planning {delta['plan_s']} s; with documents {delta['plan_and_documents_s']} s;"
          f" peak RSS {delta['peak_rss_mb']} MB")
    print(f"  floor (scan + compare + orjson to files): {floor['floor_s']} s "
          f"for {floor['changed']:,} messages")
    print(f"  ratio {delta['plan_and_documents_s'] / floor['floor_s']:.2f}× the floor  (target <= 1.5×)")
    if profile:
        print(f"  cProfile of one more 1% plan + documents: {profile}.delta")


def main() -> None:
    """Run the measurements and print the figures."""
    import argparse

    from sandbox.models import models_dir

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--skip-sandbox", action="store_true",
                        help="skip the 100,000 SKUs against the sandbox")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--postgresql", action="store_true",
                       help="plan on a throwaway PostgreSQL cluster (Debian's initdb and pg_ctl)")
    where.add_argument("--database-url", default=None,
                       help="an empty database to plan on instead of SQLite (e.g. postgresql+psycopg://…)")
    parser.add_argument("--profile", default="", metavar="FILE",
                        help="also profile one more full plan + documents (cProfile stats to FILE) and "
                             "one more 1%% plan (to FILE.delta)")
    args = parser.parse_args()
    os.environ.setdefault("AMAZON_MODELS_DIR", str(models_dir()))
    os.environ.setdefault("APP_ENV", "development")  # the benchmark's processes use the development secrets
    workdir = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    redis_server = RedisServer(free_port(), workdir)
    cluster = PostgresCluster(postgresql_bindir()) if args.postgresql else None
    redis_server.start()
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite'}"
    try:
        if cluster is not None:
            cluster.start()
            database_url = cluster.url(cluster.create_database())
        measure_planning(database_url, redis_server.url, args.products, args.profile)
    finally:
        dispose_engine(database_url)
        if cluster is not None:
            cluster.stop()
        redis_server.stop()

    if args.skip_sandbox:
        return
    calls = amazon_calls(100_000)
    print("100,000 changed SKUs against the sandbox:")
    for key, value in calls.items():
        print(f"  {key}: {value}")


if __name__ == "__main__":
    if len(sys.argv) in (5, 6) and sys.argv[1] == "--plan":
        print(json.dumps(plan_once(sys.argv[2], int(sys.argv[3]), sys.argv[4], *sys.argv[5:])))
    else:
        main()
