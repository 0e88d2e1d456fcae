"""Profile what one small merchant's cron sync costs (issue 12 §4), in this process, with cProfile.

Prints figures; it is not a test. The same setup as ``bench/bench_load.py`` (its PostgreSQL cluster, Redis,
the sandbox at ``--time-scale``, the same settings), but no worker: the sync job function
(``jobs.sync.sync_account``) is called here, once per account, so its cost is measured without the fork
and without other processes competing for the CPU:

    flock /tmp/bench.lock .venv/bin/python bench/profile_sync_job.py --accounts 20 --profile /tmp/sync.prof

``--worker-class CLASS`` then runs ``--rounds`` no-change syncs of every account through one
``rq worker --burst`` of that class (``rq.worker.Worker`` forks a work-horse per job,
``rq.worker.SimpleWorker`` does not), which measures what a job costs a worker beyond the job itself.

Three kinds of job are timed (wall and CPU seconds, per job): a cron sync with nothing changed, a cron sync
with ``--changes`` products changed (it plans, uploads and submits a feed, then polls for
``SYNC_POLL_INLINE``), and the follow-up job that finds the feed processed. ``--profile FILE`` writes one
cProfile per kind (``FILE.nochange``, ``FILE.changed``, ``FILE.follow``) and prints their top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

import bench_load  # noqa: E402 - the load test's setup, shared


def timed(kind: str, accounts: list[int], call: Callable[[int], str], profile: str | None) -> None:
    """Call ``call`` for every account; print wall and CPU seconds per call and the outcomes."""
    profiler = cProfile.Profile() if profile else None
    walls, cpus, outcomes = [], [], []
    for account_id in accounts:
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        outcomes.append(call(account_id))
        if profiler is not None:
            profiler.disable()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    print(f"{kind}: {len(accounts)} jobs, wall p50 {statistics.median(walls) * 1000:.0f} ms "
          f"(max {max(walls) * 1000:.0f}), CPU p50 {statistics.median(cpus) * 1000:.0f} ms; "
          f"outcomes {sorted(set(outcomes))}", flush=True)
    if profiler is not None and profile:
        path = f"{profile}.{kind}"
        profiler.dump_stats(path)
        stats = pstats.Stats(path)
        stats.sort_stats("cumulative").print_stats(40)


def in_worker(worker_class: str, redis_url: str, accounts: list[int], rounds: int) -> None:
    """Run ``rounds`` no-change cron syncs of every account through one burst worker; print time per job."""
    import subprocess

    from redis import Redis
    from rq import Queue

    from jobs.queue import SYNC_QUEUE, enqueue_syncs

    redis = Redis.from_url(redis_url)
    try:
        queue = Queue(SYNC_QUEUE, connection=redis)
        for _ in range(rounds):
            enqueue_syncs(accounts, "cron", connection=redis)
            redis.delete(*[f"sync:cron-queued:{account_id}" for account_id in accounts])
        jobs = len(queue)
        rq = str(Path(sys.executable).with_name("rq"))
        began, cpu = time.perf_counter(), os.times()
        subprocess.run([rq, "worker", "-c", "jobs.worker_config", "--burst", "--url", redis_url,
                        "--worker-class", worker_class, SYNC_QUEUE], cwd=REPO_ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall, after = time.perf_counter() - began, os.times()
        children = (after.children_user - cpu.children_user) + (after.children_system - cpu.children_system)
        print(f"{worker_class}: {jobs} no-change jobs in {wall:.1f} s: {wall / jobs * 1000:.0f} ms a job "
              f"(worker start included), worker CPU {children / jobs * 1000:.0f} ms a job", flush=True)
    finally:
        redis.close()


def main() -> None:
    """Set up the load test's world, then time and profile sync jobs in this process."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--time-scale", type=float, default=200.0)
    parser.add_argument("--feed-seconds", type=float, default=120.0)
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--worker-class", action="append",
                        help="also run the no-change syncs through one `rq worker --burst` of this class "
                             "(e.g. rq.worker.Worker, rq.worker.SimpleWorker); repeatable")
    parser.add_argument("--rounds", type=int, default=3, help="no-change syncs per account in --worker-class")
    parser.add_argument("--profile", help="write cProfile files FILE.nochange, FILE.changed, FILE.follow")
    args = parser.parse_args()

    from sandbox.models import models_dir
    from tests.fixtures.sandbox import SandboxControl, start_sandbox_subprocess
    from tests.fixtures.services import RedisServer, free_port

    os.environ.setdefault("AMAZON_MODELS_DIR", str(models_dir()))
    os.environ.setdefault("APP_ENV", "development")
    scale = args.time_scale
    workdir = Path(tempfile.mkdtemp(prefix="profile-sync-"))
    redis_server = RedisServer(free_port(), workdir)
    sandbox = None
    try:
        redis_server.start()
        port = free_port()
        sandbox = start_sandbox_subprocess(port, {"SANDBOX_TIME_SCALE": str(scale),
                                                  "SANDBOX_PROCESSING_DELAY": str(args.feed_seconds / 2)})
        control = SandboxControl(f"http://localhost:{port}")
        with bench_load.database(args.db, workdir) as url:
            sellers = control.generate_sellers(args.accounts + 1)
            ids = bench_load.load_accounts(url, sellers)
            big, small = ids[0], ids[1:]
            bench_load.load_products(url, (row for account_id in small for row in bench_load.product_rows(
                account_id, bench_load.SMALL_PREFIX, args.skus)))
            bench_load.mark_synced(url, big)
            os.environ.update({
                "DATABASE_URL": url, "REDIS_URL": redis_server.url,
                "AMAZON_LWA_TOKEN_URL": control.url + "/auth/o2/token", "AMAZON_SPAPI_ENDPOINT": control.url,
                "AMAZON_SELLER_CENTRAL_URL": control.url, "SYNC_INTERVAL": "600",
                **{name: str(bench_load.default(name) / scale) for name in (
                    "SYNC_POLL_INITIAL", "SYNC_POLL_MAX", "SYNC_POLL_INLINE", "AMAZON_RETRY_BASE_DELAY")},
                **{name: str(max(1, round(bench_load.default(name) / scale)))
                   for name in ("SYNC_RETRY_DELAY", "SYNC_SOON_DELAY")},
                "RECONCILE_BEFORE_SYNC": "0", "CHECK_BEFORE_FIRST_SYNC": "0", "URGENT_LANE": "0"})
            import jobs.worker_config  # noqa: F401 - what a worker imports before it forks
            from jobs.sync import sync_account

            # The first job of a process pays for its first connections and compiles every statement; an
            # ``rq worker`` pays that in every job's fork (``--worker-class`` measures it).
            half = len(small) // 2
            timed("first", small[:1], lambda a: sync_account(a, "cron"), None)
            timed("nochange", small[1:half], lambda a: sync_account(a, "cron"), args.profile)
            bench_load.change_stock(url, big, 1, args.changes)
            timed("changed", small[half:], lambda a: sync_account(a, "cron"), args.profile)
            time.sleep(args.feed_seconds / scale + 1.0)
            timed("follow", small[half:], lambda a: sync_account(a, "follow"), args.profile)
            for worker_class in args.worker_class or []:
                in_worker(worker_class, redis_server.url, small, args.rounds)
            stats = control.stats()
            print(f"429s: {sum(stats['throttled'].values())}; sandbox calls {dict(stats['calls'])}")
    finally:
        if sandbox is not None:
            sandbox.terminate()
            sandbox.wait(timeout=15)
        redis_server.stop()


if __name__ == "__main__":
    main()
