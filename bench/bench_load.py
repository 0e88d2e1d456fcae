"""Load test (issue 12 §4): thousands of merchants syncing at once, through the processes the Procfile runs.

Prints figures; it is not a test. Run it alone on the machine (``make bench-load`` takes the lock):

    flock /tmp/bench.lock .venv/bin/python bench/bench_load.py                 # 2,000 × 1,000 + 1,000,000
    flock /tmp/bench.lock .venv/bin/python bench/bench_load.py --accounts 200 --big-skus 100000  # quicker

What runs, all real and on loopback: a PostgreSQL cluster of its own (``tests/fixtures/databases.py``'s
``PostgresCluster``; ``--db sqlite`` for a SQLite file), a ``redis-server``, the Amazon sandbox
(``python -m sandbox``) at ``--time-scale`` (rates refill and feeds process that many times faster),
``--workers`` ``rq worker`` processes started as the Procfile's ``worker`` line starts them (every queue,
``--with-scheduler``), and ``rq cron`` with the sync's interval job every ``--interval`` seconds
(``bench/load_cron_config.py``).

The data, loaded in bulk (``COPY`` on PostgreSQL): ``--accounts`` merchants with ``--skus`` products each,
each a connected account (its settings saved, its refresh token encrypted, its own sandbox seller, so its own
rate-limit buckets) whose catalog Amazon already holds (a finished first sync), plus one merchant with
``--big-skus`` products that has never synced: its first sync sends every one of them.

Each cycle the cron enqueues a sync of every account. Halfway through each cycle ``--changes`` products of
every small account get a new stock level (the first batch while the big account's first sync runs); the next
cycle must carry them to Amazon. Reported:

- the fan-out: how long the cron's job takes to enqueue every account (target ≤ 5 s), and how long it
  waited in the queue first;
- completion times per account class and cycle (p50/p95/max from the cron's tick to the run's end);
- fairness: for every small account, when the sandbox received each batch of changes, and whether that was
  within the cycle that picked them up (the next tick plus one interval);
- 429s the sandbox answered (target 0: every seller's buckets are its own and the client keeps to them),
  failed jobs, Redis's ``used_memory_peak_human``, and the worker-seconds the sync jobs used per merchant and
  cycle, from which the README derives how many workers a number of merchants needs.

Amazon's waits are compressed by ``--time-scale``; so are the sync's own waits for Amazon (the poll intervals,
``SYNC_POLL_INLINE``), so the workers spend the same share of their time waiting as in production, but
everything else (CPU, the database, HTTP) runs at this machine's real speed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

SMALL_PREFIX = "S-"
BIG_PREFIX = "B-"
#: Products a merchant changes per cycle get this stock level plus the cycle number (never their old one).
CHANGED_STOCK = 500


def default(name: str) -> float:
    """Return the product's default for the setting ``name`` (``wizard.config.ENV_VARS``)."""
    from wizard.config import ENV_VARS

    return float(ENV_VARS[name][0])


def percentile(values: list[float], share: float) -> float:
    """Return the nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def spread(values: list[float]) -> str:
    """Return ``p50 / p95 / max`` of ``values`` in seconds."""
    if not values:
        return "none"
    return (f"p50 {statistics.median(values):.1f} s, p95 {percentile(values, 0.95):.1f} s, "
            f"max {max(values):.1f} s")


def utc(moment: datetime | None) -> float | None:
    """Return a naive-UTC or aware datetime as a Unix time."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_iso(raw: str) -> float:
    """Return the sandbox's ``2026-01-01T00:00:00.000Z`` as a Unix time."""
    return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()


# ---- services -------------------------------------------------------------------------------------------

@contextlib.contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """Give a database URL with the full schema: a throwaway PostgreSQL cluster, or a SQLite file."""
    from tests.conftest import create_schema

    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'load.sqlite'}"
        create_schema(url)
        yield url
        return
    from tests.fixtures.databases import PostgresCluster, postgresql_bindir

    bindir = postgresql_bindir()
    PostgresCluster.stop_abandoned(bindir)
    cluster = PostgresCluster(bindir)
    try:
        cluster.start()
        url = cluster.url(cluster.create_database())
        create_schema(url)
        yield url
    finally:
        from wizard.db import dispose_engine

        with contextlib.suppress(Exception):
            dispose_engine(url)
        cluster.stop()


# ---- data -----------------------------------------------------------------------------------------------

def load_accounts(url: str, sellers: dict[str, str]) -> list[int]:
    """Create one connected account per sandbox seller, with saved settings; return their ids in order."""
    from sqlalchemy import insert, select

    from wizard.config import from_environment
    from wizard.crypto import TokenCipher
    from wizard.db import engine_for, table_of
    from wizard.models import Account, AmazonSettings, Connection, ConnectionStatus
    from wizard.models.base import utcnow

    cipher = TokenCipher(from_environment()["TOKEN_ENCRYPTION_KEYS"])
    now = utcnow()
    seller_ids = list(sellers)
    with engine_for(url).begin() as conn:
        conn.execute(insert(table_of(Account)), [
            {"name": f"Load merchant {n}", "created_at": now, "prerequisites_acknowledged_at": now}
            for n in range(len(seller_ids))])
        ids = list(conn.scalars(select(table_of(Account).c.id).order_by(table_of(Account).c.id)))
        conn.execute(insert(table_of(Connection)), [
            {"account_id": account_id, "status": ConnectionStatus.CONNECTED, "selling_partner_id": seller,
             "refresh_token_encrypted": cipher.encrypt(sellers[seller]), "authorized_at": now,
             "verified_at": now, "store_name": f"Load Test Store {n}", "selling_plan": "PROFESSIONAL",
             "us_participating": True, "updated_at": now}
            for n, (account_id, seller) in enumerate(zip(ids, seller_ids, strict=True))])
        conn.execute(insert(table_of(AmazonSettings)), [
            {"account_id": account_id, "inventory_buffer": 0, "min_price_cents": 0, "disable_pricing": False,
             "saved_at": now} for account_id in ids])
    return ids


def product_rows(account_id: int, prefix: str, count: int) -> Iterator[tuple[Any, ...]]:
    """Yield ``(account_id, sku, title, available, price_cents)`` for a catalog of ``count`` products."""
    for i in range(count):
        yield account_id, f"{prefix}{i:07d}", f"Product {i}", 1 + (i * 7) % 60, 300 + (i * 37) % 20_000


def load_products(url: str, rows: Iterator[tuple[Any, ...]]) -> None:
    """Insert products the fastest way: ``COPY`` on PostgreSQL, ``executemany`` on SQLite."""
    from wizard.db import engine_for
    from wizard.models.base import utcnow

    now = utcnow()
    engine = engine_for(url)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if url.startswith("postgresql"):
            with cursor.copy("COPY product (account_id, sku, title, available, price_cents, updated_at) "  # type: ignore[attr-defined]
                             "FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row, now))
        else:
            cursor.executemany("INSERT INTO product (account_id, sku, title, available, price_cents, "
                               "updated_at) VALUES (?, ?, ?, ?, ?, ?)", ((*row, now) for row in rows))
        raw.commit()
    finally:
        raw.close()


def mark_synced(url: str, big_account: int) -> None:
    """Record that Amazon accepted every small account's products as they are (their first sync is done)."""
    from sqlalchemy import insert, literal, select

    from wizard.db import engine_for, table_of
    from wizard.models import Product
    from wizard.models.base import utcnow
    from wizard.models.sync import ListingState, ListingStatus
    from wizard.rules import Rules, quantity_expr

    product = table_of(Product).c
    now = utcnow()
    expected = quantity_expr(Rules.from_settings(None), product.available, product.price_cents)
    status = literal(ListingStatus.ACCEPTED, type_=table_of(ListingState).c.status.type)
    source = select(product.account_id, product.sku, status, expected, product.price_cents,
                    literal(now), expected, product.price_cents, literal(now)).where(
        product.account_id != big_account)
    with engine_for(url).begin() as conn:
        conn.execute(insert(table_of(ListingState)).from_select(
            ["account_id", "sku", "status", "accepted_quantity", "accepted_price_cents", "accepted_at",
             "sent_quantity", "sent_price_cents", "sent_at"], source))


def change_stock(url: str, big_account: int, cycle: int, per_account: int) -> tuple[float, list[str]]:
    """Give ``per_account`` products of every small account a new stock level; return when, and the SKUs."""
    from sqlalchemy import update

    from wizard.db import engine_for, table_of
    from wizard.models import Product
    from wizard.models.base import utcnow

    skus = [f"{SMALL_PREFIX}{cycle * per_account + i:07d}" for i in range(per_account)]
    product = table_of(Product).c
    with engine_for(url).begin() as conn:
        conn.execute(update(table_of(Product)).where(product.account_id != big_account, product.sku.in_(skus))
                     .values(available=CHANGED_STOCK + cycle, updated_at=utcnow()))
    return time.time(), skus


# ---- measuring ------------------------------------------------------------------------------------------

def runs_by_account(url: str) -> dict[int, list[tuple[float, float | None, str, int]]]:
    """Return every account's sync runs: ``(created, finished, status, changed_count)``."""
    from sqlalchemy import select

    from wizard.db import engine_for, table_of
    from wizard.models.sync import SyncRun

    run = table_of(SyncRun).c
    found: dict[int, list[tuple[float, float | None, str, int]]] = defaultdict(list)
    with engine_for(url).connect() as conn:
        for account_id, created, finished, status, changed in conn.execute(select(
                run.account_id, run.created_at, run.finished_at, run.status, run.changed_count)
                .order_by(run.id)):
            found[account_id].append((utc(created) or 0.0, utc(finished), str(status), changed))
    return found


def synced_since(url: str, big_account: int, moment: float) -> int:
    """Return how many small accounts finished a run created after ``moment`` (a Unix time)."""
    from sqlalchemy import distinct, func, select

    from wizard.db import engine_for, table_of
    from wizard.models.sync import SyncRun

    run = table_of(SyncRun).c
    since = datetime.fromtimestamp(moment, UTC).replace(tzinfo=None)
    with engine_for(url).connect() as conn:
        return int(conn.scalar(select(func.count(distinct(run.account_id))).where(
            run.account_id != big_account, run.created_at > since, run.finished_at.is_not(None))) or 0)


def big_run_state(url: str, big_account: int) -> tuple[str | None, int, int, int]:
    """Return the big account's latest run: ``(status, batches total, submitted, processed)``."""
    from sqlalchemy import select

    from wizard.db import engine_for, table_of
    from wizard.models.sync import SyncRun

    run = table_of(SyncRun).c
    with engine_for(url).connect() as conn:
        row = conn.execute(select(run.status, run.batches_total, run.batches_submitted, run.batches_processed)
                           .where(run.account_id == big_account).order_by(run.id.desc()).limit(1)).first()
    if row is None:
        return None, 0, 0, 0
    return str(row[0]), int(row[1]), int(row[2]), int(row[3])


def sync_jobs(redis_url: str) -> tuple[list[dict[str, Any]], int]:
    """Return every finished sync and cron fan-out job (name, args, times, result) and the failed jobs' count.

    The cron's fan-out runs on ``jobs.queue.CRON_FAN_OUT_QUEUE`` (``urgent``), the syncs on ``sync``.
    """
    from redis import Redis
    from rq import Queue
    from rq.job import Job

    from jobs.queue import CRON_FAN_OUT_QUEUE, SYNC_QUEUE

    redis = Redis.from_url(redis_url)
    try:
        ids: list[str] = []
        failed = 0
        for name in dict.fromkeys((SYNC_QUEUE, CRON_FAN_OUT_QUEUE)):
            queue = Queue(name, connection=redis)
            ids += queue.finished_job_registry.get_job_ids()
            failed += len(queue.failed_job_registry.get_job_ids())
        jobs: list[dict[str, Any]] = []
        for start in range(0, len(ids), 500):
            for job in Job.fetch_many(ids[start:start + 500], connection=redis):
                if job is None:
                    continue
                jobs.append({"func": job.func_name, "args": job.args, "enqueued": utc(job.enqueued_at),
                             "started": utc(job.started_at), "ended": utc(job.ended_at),
                             "result": job.return_value()})
        return jobs, failed
    finally:
        redis.close()


class RedisMemory(threading.Thread):
    """Sample Redis's ``used_memory`` and queue length every second."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        from redis import Redis

        self.redis = Redis.from_url(url)
        self.stop = threading.Event()
        self.max_queue = 0

    def run(self) -> None:
        while not self.stop.wait(1.0):
            with contextlib.suppress(Exception):
                self.max_queue = max(self.max_queue, int(self.redis.llen("rq:queue:sync")))

    def peak(self) -> str:
        info = self.redis.info("memory")
        return f"{info['used_memory_peak_human']} peak, {info['used_memory_human']} now"


def stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    """Stop the workers and the cron with their work-horses (each runs in its own process group)."""
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        # A worker's horse in the middle of a long job outlives a warm shut-down: end the whole group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


# ---- the run --------------------------------------------------------------------------------------------

def main() -> None:  # noqa: C901, PLR0912, PLR0915 - one script, read top to bottom
    """Run the load test and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=2000, help="small merchants (default 2000)")
    parser.add_argument("--skus", type=int, default=1000, help="products per small merchant (default 1000)")
    parser.add_argument("--big-skus", type=int, default=1_000_000, help="the big merchant's products")
    parser.add_argument("--workers", type=int, default=4, help="rq worker processes (default 4)")
    parser.add_argument("--worker-class", default="jobs.queue.InProcessWorker",
                        help="rq worker --worker-class (default jobs.queue.InProcessWorker, as the "
                             "Procfile; rq.worker.Worker forks a work-horse per job)")
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--interval", type=int, default=120, help="SYNC_INTERVAL for the test, seconds")
    parser.add_argument("--cycles", type=int, default=3, help="cron ticks with changes to measure")
    parser.add_argument("--changes", type=int, default=10,
                        help="products each small merchant changes a cycle")
    parser.add_argument("--time-scale", type=float, default=200.0, help="the sandbox's time scale")
    parser.add_argument("--feed-seconds", type=float, default=120.0,
                        help="how long Amazon takes to process a feed, in Amazon's time (before the scale)")
    parser.add_argument("--max-minutes", type=float, default=45.0, help="give up after this long")
    args = parser.parse_args()

    from sandbox.models import models_dir
    from tests.fixtures.sandbox import SandboxControl, start_sandbox_subprocess
    from tests.fixtures.services import RedisServer, free_port

    os.environ.setdefault("AMAZON_MODELS_DIR", str(models_dir()))
    os.environ.setdefault("APP_ENV", "development")
    scale = args.time_scale
    worker_class = args.worker_class
    size = (f"{args.accounts:,} accounts × {args.skus:,} SKUs + 1 account × {args.big_skus:,} SKUs, "
            f"{args.workers} workers ({worker_class}), {args.db}, SYNC_INTERVAL {args.interval} s, "
            f"sandbox time scale {scale:g}")
    print(f"load test: {size}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    processes: list[subprocess.Popen[bytes]] = []
    redis_server = RedisServer(free_port(), workdir)
    sandbox: subprocess.Popen[bytes] | None = None
    sampler: RedisMemory | None = None
    try:
        redis_server.start()
        port = free_port()
        # Amazon processes a feed in two phases (queued, in progress): half the feed's time each.
        sandbox = start_sandbox_subprocess(port, {"SANDBOX_TIME_SCALE": str(scale),
                                                  "SANDBOX_PROCESSING_DELAY": str(args.feed_seconds / 2)})
        control = SandboxControl(f"http://localhost:{port}")
        with database(args.db, workdir) as url:
            began = time.perf_counter()
            sellers = control.generate_sellers(args.accounts + 1)
            ids = load_accounts(url, sellers)
            # The big account comes first, so its first sync takes a worker at once and runs while every
            # small account's jobs of the first cycles go through the other workers.
            big, small = ids[0], ids[1:]
            seller_of = dict(zip(ids, sellers, strict=True))
            accounts_s = time.perf_counter() - began
            began = time.perf_counter()
            load_products(url, (row for account_id in small
                                for row in product_rows(account_id, SMALL_PREFIX, args.skus)))
            small_s = time.perf_counter() - began
            began = time.perf_counter()
            load_products(url, product_rows(big, BIG_PREFIX, args.big_skus))
            big_s = time.perf_counter() - began
            began = time.perf_counter()
            mark_synced(url, big)
            state_s = time.perf_counter() - began
            print(f"loaded: {len(ids):,} accounts with sellers in {accounts_s:.1f} s, "
                  f"{len(small) * args.skus:,} small-account products in {small_s:.1f} s, "
                  f"{args.big_skus:,} big-account products in {big_s:.1f} s, "
                  f"their accepted state in {state_s:.1f} s", flush=True)

            env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_server.url,
                   "AMAZON_LWA_TOKEN_URL": control.url + "/auth/o2/token",
                   "AMAZON_SPAPI_ENDPOINT": control.url,
                   "AMAZON_SELLER_CENTRAL_URL": control.url, "SYNC_INTERVAL": str(args.interval),
                   # The product's waits for Amazon (its defaults), compressed as Amazon's own time is.
                   **{name: str(default(name) / scale) for name in (
                       "SYNC_POLL_INITIAL", "SYNC_POLL_MAX", "SYNC_POLL_INLINE", "AMAZON_RETRY_BASE_DELAY")},
                   **{name: str(max(1, round(default(name) / scale)))
                      for name in ("SYNC_RETRY_DELAY", "SYNC_SOON_DELAY")},
                   # The sync alone: no read of Amazon first (bench/load_cron_config.py says why), no dry
                   # run before a first sync, no urgent lane (no stock-out arrives through the API here).
                   "RECONCILE_BEFORE_SYNC": "0", "CHECK_BEFORE_FIRST_SYNC": "0", "URGENT_LANE": "0"}
            rq = str(Path(sys.executable).with_name("rq"))
            log = (workdir / "processes.log").open("ab")
            for _ in range(args.workers):
                processes.append(subprocess.Popen(
                    [rq, "worker", "-c", "jobs.worker_config", "--worker-class", worker_class,
                     "--with-scheduler", "--url", redis_server.url,
                     "urgent", "sync", "reconcile", "health"],
                    cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            sampler = RedisMemory(redis_server.url)
            sampler.start()
            started = time.time()
            processes.append(subprocess.Popen(
                [rq, "cron", "bench/load_cron_config.py", "--url", redis_server.url],
                cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            print(f"started {args.workers} workers and rq cron; logs in {workdir / 'processes.log'}",
                  flush=True)

            deadline = started + args.max_minutes * 60
            changes: list[tuple[int, float, list[str], str | None]] = []  # cycle, when, skus, big's status
            for cycle in range(1, args.cycles + 1):
                moment = started + (cycle - 0.5) * args.interval
                while time.time() < moment:
                    time.sleep(0.5)
                status, total, submitted, processed = big_run_state(url, big)
                when, skus = change_stock(url, big, cycle, args.changes)
                changes.append((cycle, when, skus, status))
                print(f"  {when - started:6.1f} s: cycle {cycle}: changed {args.changes} products of each "
                      f"small account; the big account's run is {status} ({submitted}/{total} feeds sent, "
                      f"{processed} processed)", flush=True)
            # Wait for the last changes to be picked up and sent, and for the big account's first sync.
            # Wait for the last changes to be sent (every small account has finished a run that started
            # after them, or their cycle is over), and for the big account's first sync.
            last_due = started + (args.cycles + 1) * args.interval
            while time.time() < deadline:
                status, total, submitted, processed = big_run_state(url, big)
                caught_up = time.time() >= last_due or synced_since(url, big, changes[-1][1]) >= len(small)
                if caught_up and str(status).lower() == "done":
                    break
                time.sleep(5.0)
            stopped = time.time()
            status, total, submitted, processed = big_run_state(url, big)
            print(f"  {stopped - started:6.1f} s: measuring ends; the big account's run is {status} "
                  f"({submitted}/{total} feeds sent, {processed} processed)", flush=True)
            stop_processes(processes)

            # ---- the figures
            jobs, failed = sync_jobs(redis_server.url)
            ticks = sorted((job for job in jobs if job["func"] == "jobs.sync.enqueue_all_syncs"),
                           key=lambda job: job["started"] or 0)
            print(f"\nresults ({size}; measured {stopped - started:.0f} s):")
            print("fan-out (the cron's job enqueuing every account; target <= 5 s):")
            for n, tick in enumerate(ticks, 1):
                print(f"  tick {n} at {tick['enqueued'] - started:6.1f} s: {tick['result']} accounts "
                      f"enqueued in {tick['ended'] - tick['started']:.2f} s, after "
                      f"{tick['started'] - tick['enqueued']:.1f} s "
                      "in the queue")
            tick_times = [tick["enqueued"] for tick in ticks]
            runs = runs_by_account(url)
            print("completion per account class (from the cron's tick to the run's end), and the worker time "
                  "the small accounts' sync jobs took:")
            small_ids = set(small)
            worst_per_merchant = 0.0
            for n, tick_at in enumerate(tick_times, 1):
                after = tick_times[n] if n < len(tick_times) else float("inf")
                small_done = [finished - tick_at for account_id in small for created, finished, _, _
                              in runs.get(account_id, []) if tick_at <= created < after and finished]
                changed = sum(changed for account_id in small for created, _, _, changed
                              in runs.get(account_id, []) if tick_at <= created < after)
                pending = sum(1 for account_id in small if not any(
                    tick_at <= created < after and finished
                    for created, finished, _, _ in runs.get(account_id, [])))
                worked = sum(job["ended"] - job["started"] for job in jobs
                             if job["func"] == "jobs.sync.sync_account" and job["args"][0] in small_ids
                             and job["started"] and job["ended"] and tick_at <= job["started"] < after)
                if after != float("inf"):
                    worst_per_merchant = max(worst_per_merchant, worked / max(1, len(small)))
                print(f"  tick {n}: small accounts {spread(small_done)} ({len(small_done)} runs, {changed:,} "
                      f"changes, {pending} accounts without a finished run from this tick); worker time "
                      f"{worked:.0f} s, {worked / max(1, len(small)):.2f} s per merchant")
            big_runs = runs.get(big, [])
            if big_runs and big_runs[0][1] is not None and tick_times:
                print(f"  the big account's first sync ({big_runs[0][3]:,} changes): "
                      f"{big_runs[0][1] - tick_times[0]:.1f} s from the first tick")
            else:
                print(f"  the big account's first sync did not finish ({status}, {processed}/{total} feeds)")

            print("fairness (a change reaches the sandbox within the cycle that picks it up):")
            for cycle, when, skus, big_status in changes:
                picked = next((t for t in tick_times if t > when), None)
                delays, late, missing = [], 0, 0
                for account_id in small:
                    item = control.listing(seller_of[account_id], skus[-1])
                    quantity = ((item or {}).get("fulfillmentAvailability") or [{}])[0].get("quantity")
                    summaries = (item or {}).get("summaries") or [{}]
                    if quantity != CHANGED_STOCK + cycle or "lastUpdatedDate" not in summaries[0]:
                        missing += 1
                        continue
                    seen = parse_iso(summaries[0]["lastUpdatedDate"])
                    delays.append(seen - when)
                    if picked is None or seen > picked + args.interval:
                        late += 1
                print(f"  cycle {cycle} (changed while the big account's run was {big_status}): "
                      "from the change "
                      f"to the sandbox {spread(delays)}; {len(delays)} of {len(small)} accounts arrived, "
                      f"{late} after their cycle, {missing} not arrived")

            stats = control.stats()
            throttled = sum(stats["throttled"].values())
            print(f"429s from the sandbox: {throttled} {dict(stats['throttled'])}; "
                  f"failed sync jobs: {failed}")
            print(f"sandbox calls: {sum(stats['calls'].values()):,} ({len(stats['feeds']):,} feeds)")
            print(f"Redis memory: {sampler.peak()}; longest sync queue seen: {sampler.max_queue:,} jobs")
            big_busy = sum(job["ended"] - job["started"] for job in jobs
                           if job["func"] == "jobs.sync.sync_account" and job["args"][0] == big
                           and job["started"] and job["ended"])
            print(f"worker time in the big account's sync jobs: {big_busy:.0f} s")
            small_worked = sum(job["ended"] - job["started"] for job in jobs
                               if job["func"] == "jobs.sync.sync_account" and job["args"][0] in small_ids
                               and job["started"] and job["ended"])
            small_runs = sum(1 for account_id in small for _, finished, _, _ in runs.get(account_id, [])
                             if finished)
            # Per finished run, not per tick: when a cycle overruns, a tick's jobs run in the next one's.
            per_run = small_worked / max(1, small_runs)
            print(f"worker time in small accounts' jobs: {small_worked:.0f} s for {small_runs:,} "
                  f"finished runs, {per_run:.2f} s a run (busiest tick: {worst_per_merchant:.2f} s each)")
            if per_run > 0:
                print(f"one worker keeps {900 / per_run:,.0f} merchants synced every 15 minutes "
                      f"(SYNC_INTERVAL=900) fully loaded, {450 / per_run:,.0f} at half load")
    finally:
        if sampler is not None:
            sampler.stop.set()
        stop_processes(processes)
        if sandbox is not None:
            sandbox.terminate()
            sandbox.wait(timeout=15)
        redis_server.stop()


if __name__ == "__main__":
    main()
