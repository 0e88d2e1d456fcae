"""Benchmark the urgent lane (issue 11 §1): from the API call that zeroes a product to Amazon holding 0.

Prints figures; it is not a test. Run: ``.venv/bin/python bench/bench_urgent.py`` (about two minutes;
``--stockouts 50`` for a quicker look).

A sandbox process whose feed queue takes 30 minutes (``SANDBOX_PROCESSING_DELAY=900`` per phase at time
scale 1, real rate limits), so nothing can reach it through the feed path in time; two real ``rq worker``
processes as in the Procfile (``worker`` on the ``urgent``, ``sync`` and ``reconcile`` queues, and ``lane`` on
``urgent`` only, so a stock-out never waits behind a sync job polling a feed); the web app in this process
answering ``POST /api/v1/products`` with a bearer token. 2,000 products at 20 on Amazon; ``--stockouts``
of them (200) are set to 0 through the API, one every ``--interval`` seconds; a thread watches the sandbox and
records when each SKU shows 0. Reported: p50, p95 and max seconds (target p95 <= 60 s), against the feed
path's own floor in this sandbox (30 minutes of processing), as a ratio.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

SELLER = "A1PROSELLERUS01"
CATALOG = 2000
FEED_PROCESSING_S = 1800.0


def accept_all(database_url: str, account_id: int, quantity: int) -> None:
    """Record that Amazon accepted every product at ``quantity`` (a finished first sync)."""
    from sqlalchemy import text

    from wizard.db import engine_for

    with engine_for(database_url).begin() as conn:
        conn.execute(text(
            "INSERT INTO listing_state (account_id, sku, status, accepted_quantity, accepted_at, "
            "sent_quantity) SELECT account_id, sku, 'ACCEPTED', :q, '2026-01-01 00:00:00', :q FROM product"),
            {"q": quantity})
        conn.execute(text("INSERT INTO sync_run (account_id, trigger, status, changed_count, sent_count, "
                          "accepted_count, rejected_count, batches_total, batches_submitted, "
                          "batches_processed, created_at, polls) VALUES (:a, 'CRON', 'DONE', 0, 0, 0, 0, "
                          "0, 0, 0, '2026-01-01 00:00:00', 0)"), {"a": account_id})


def percentile(values: list[float], share: float) -> float:
    """Return the nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def main() -> None:
    """Run the measurement and print the figures."""
    import argparse

    from redis import Redis

    from bench.bench_sync import make_catalog
    from sandbox.models import models_dir
    from tests.fixtures.sandbox import SandboxControl, start_sandbox_subprocess
    from tests.fixtures.services import RedisServer, free_port
    from tests.fixtures.worker import connect, save_settings
    from wizard import create_app
    from wizard.catalog import api_tokens
    from wizard.db import session_scope
    from wizard.models import Role, User

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stockouts", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args()
    os.environ.setdefault("AMAZON_MODELS_DIR", str(models_dir()))
    os.environ.setdefault("APP_ENV", "development")
    workdir = Path(tempfile.mkdtemp(prefix="bench-urgent-"))
    redis_server = RedisServer(free_port(), workdir)
    redis_server.start()
    port = free_port()
    sandbox = start_sandbox_subprocess(port, {"SANDBOX_TIME_SCALE": "1",
                                              "SANDBOX_PROCESSING_DELAY": str(FEED_PROCESSING_S / 2)})
    workers: list[subprocess.Popen[bytes]] = []
    try:
        control = SandboxControl(f"http://localhost:{port}")
        database_url = f"sqlite:///{workdir / 'urgent.sqlite'}"
        account_id = make_catalog(database_url, CATALOG)
        control.generate_listings(SELLER, CATALOG, prefix="BENCH-", quantity=20)
        from sqlalchemy import text

        from wizard.db import engine_for

        with engine_for(database_url).begin() as conn:
            conn.execute(text("UPDATE product SET available = 20"))
        accept_all(database_url, account_id, 20)
        with session_scope(database_url) as session:
            connect(session, account_id, control.grant(SELLER))
            save_settings(session, account_id)
            admin = User(account_id=account_id, email="bench@example.com", name="Bench", password_hash="!",  # noqa: S106 - nobody signs in
                         role=Role.ADMIN)
            session.add(admin)
            session.commit()
            _, token = api_tokens.create_token(session, account_id=account_id, name="Bench", user_id=admin.id)
        env = {"DATABASE_URL": database_url, "REDIS_URL": redis_server.url, "APP_ENV": "development",
               "AMAZON_LWA_TOKEN_URL": control.url + "/auth/o2/token", "AMAZON_SPAPI_ENDPOINT": control.url,
               "AMAZON_SELLER_CENTRAL_URL": control.url, "RECONCILE_BEFORE_SYNC": "0",
               "CHECK_BEFORE_FIRST_SYNC": "0", "AMAZON_MODELS_DIR": os.environ["AMAZON_MODELS_DIR"]}
        rq = str(Path(sys.executable).with_name("rq"))
        log = (workdir / "worker.log").open("ab")
        for queues in (["--with-scheduler", "urgent", "sync", "reconcile"], ["urgent"]):
            workers.append(subprocess.Popen([rq, "worker", "--url", redis_server.url, *queues], cwd=REPO_ROOT,
                                            env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT))
        app = create_app({"DATABASE_URL": database_url, "REDIS_URL": redis_server.url, "TESTING": True,
                          "AMAZON_LWA_TOKEN_URL": env["AMAZON_LWA_TOKEN_URL"],
                          "AMAZON_SPAPI_ENDPOINT": control.url, "SECRET_KEY": "bench-secret-key-" + "x" * 32})
        client = app.test_client()
        skus = [f"BENCH-{i:08d}" for i in range(0, CATALOG, CATALOG // args.stockouts)][:args.stockouts]
        started: dict[str, float] = {}
        seen: dict[str, float] = {}
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                listings = control.listings(SELLER)
                now = time.perf_counter()
                for sku in list(started):
                    if sku not in seen and listings[sku]["quantity"] == 0:
                        seen[sku] = now
                if len(seen) == len(skus):
                    return
                time.sleep(0.25)  # the listing dump is 2,000 items: keep the sandbox for the lane

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        begun = time.perf_counter()
        for sku in skus:
            started[sku] = time.perf_counter()
            response = client.post("/api/v1/products", json={"products": [{"sku": sku, "available": 0}]},
                                   headers={"Authorization": f"Bearer {token}"})
            if response.status_code != 200:
                raise SystemExit(f"the API answered {response.status_code}: "
                                 f"{response.get_data(as_text=True)}")
            time.sleep(max(0.0, begun + args.interval * (len(started)) - time.perf_counter()))
        watcher.join(timeout=600)
        done.set()
        delays = [seen[s] - started[s] for s in skus if s in seen]
        stats: dict[str, Any] = control.stats()
        throttled = sum(stats["throttled"].values())
        print(f"{len(skus)} stock-outs through POST /api/v1/products, one every {args.interval} s; "
              f"{len(delays)} reached the sandbox (feed queue: {FEED_PROCESSING_S / 60:.0f} min)")
        if delays:
            p50, p95, worst = statistics.median(delays), percentile(delays, 0.95), max(delays)
            print(f"  seconds from the API call to Amazon holding 0: p50 {p50:.2f}, p95 {p95:.2f}, "
                  f"max {worst:.2f}  (target p95 <= 60 s)")
            print(f"  against the feed path's floor here ({FEED_PROCESSING_S:.0f} s of processing): "
                  f"p95 is {p95 / FEED_PROCESSING_S:.4f}x of it ({FEED_PROCESSING_S / p95:.0f} times sooner)")
        print(f"  sandbox: {stats['calls'].get('patchListingsItem', 0)} patchListingsItem calls, "
              f"{len(stats['feeds'])} feeds, {throttled} throttled (429) answers {dict(stats['throttled'])}")
        Redis.from_url(redis_server.url).close()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()  # a sync job can be polling a 30-minute feed
                worker.wait(timeout=10)
        sandbox.terminate()
        sandbox.wait(timeout=10)
        redis_server.stop()


if __name__ == "__main__":
    main()
