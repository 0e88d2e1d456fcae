"""Benchmark the reconcile's local cost: one page of 20 items stored, a full sweep of a 1,000,000-row report.

Prints figures; it is not a test. Run: ``.venv/bin/python bench/bench_reconcile.py [rows]`` (default
1,000,000; several minutes on two cores). Targets (issue 10 §4): the full sweep costs ≤ 30 s of CPU beyond
the waiting and ≤ 250 MB RSS.

1. One page: ``wizard.reconcile.store.store_items`` for 20 items (drift check included, against a 20-SKU
   ``listing_state``), repeated; reference in the same run: a bare ``executemany`` INSERT OR REPLACE of the
   same 20 rows into a table of the same columns. The ratio is ours over the reference.
2. Full sweep, in a fresh process, through ``wizard.reconcile.runner.run_sweep`` exactly as the job runs it
   (SQLite, a real Redis for the token buckets, the sandbox at time scale 1000): createReport, getReport until
   DONE (waits are sleeps, not CPU), the document streamed, parsed and upserted in batches, then the unseen
   rows marked. CPU seconds of the process and its peak RSS. Reference in the same run: ``zlib`` over the
   same file, counting lines (the least any reader must do).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

SELLER = "A1PROSELLERUS01"

from bench.bench_listings_report import cpu_seconds, peak_rss_mb, run_script  # noqa: E402 - after the path set-up above


def _schema(database_url: str) -> int:
    """Create the schema and one account; return its id."""
    from sqlmodel import Session, SQLModel

    import wizard.models  # noqa: F401 - registers the tables
    from wizard.db import engine_for
    from wizard.models import Account

    engine = engine_for(database_url)
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        account = Account(name="Bench")
        session.add(account)
        session.commit()
        assert account.id is not None
        return account.id


def page_run(repeat: int = 500) -> dict[str, Any]:
    """Store one page of 20 items ``repeat`` times; the same rows through a bare executemany as reference."""
    from sqlalchemy import insert

    from wizard.amazon.listings import ListingIssue, ListingItem
    from wizard.db import session_scope
    from wizard.models.base import utcnow
    from wizard.models.sync import ListingState
    from wizard.reconcile.store import store_items

    workdir = Path(tempfile.mkdtemp(prefix="bench-reconcile-page-"))
    url = f"sqlite:///{workdir / 'page.sqlite'}"
    account_id = _schema(url)
    now = utcnow()
    with session_scope(url) as session:
        session.execute(insert(ListingState), [
            {"account_id": account_id, "sku": f"SKU-{n:05d}", "accepted_quantity": 3,
             "accepted_price_cents": 999, "accepted_at": now - timedelta(hours=1), "status": "ACCEPTED"}
            for n in range(20)])
        session.commit()
    items = [ListingItem(sku=f"SKU-{n:05d}", asin=f"B0{n:08d}", item_name=f"Product {n}",
                         status=("BUYABLE", "DISCOVERABLE"), last_updated=now, quantity=3 + n % 2,
                         price_cents=999, issues=(ListingIssue("90000900", "Invalid price", "ERROR",
                                                               ("purchasable_offer",)),) if n == 0 else ())
             for n in range(20)]
    with session_scope(url) as session:
        started = time.perf_counter()
        for _ in range(repeat):
            store_items(session, account_id, items)
            session.commit()
        ours = (time.perf_counter() - started) / repeat
    rows = [(account_id, i.sku, 1, i.asin, i.item_name, i.quantity, i.price_cents, "BUYABLE,DISCOVERABLE", 1,
             "[]", 0, 0, now.isoformat(), now.isoformat(), "search") for i in items]
    import sqlite3

    connection = sqlite3.connect(workdir / "reference.sqlite")
    connection.execute("create table t (account_id int, sku text, on_amazon int, asin text, item_name text, "
                       "quantity int, price_cents int, status text, buyable int, issues_json text, "
                       "error_count int, warning_count int, amazon_updated_at text, read_at text, "
                       "source text, primary key (account_id, sku))")
    started = time.perf_counter()
    for _ in range(repeat):
        connection.executemany("insert or replace into t values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        connection.commit()
    reference = (time.perf_counter() - started) / repeat
    connection.close()
    return {"ours_ms": round(ours * 1000, 2), "reference_ms": round(reference * 1000, 2),
            "ratio": round(ours / reference, 1)}


def sweep_run(sandbox_url: str, refresh_token: str, redis_url: str, workdir: str) -> dict[str, Any]:
    """Run the full sweep as the job does; return CPU, wall time, waiting and peak RSS."""
    from redis import Redis
    from sqlmodel import Session, func, select

    from tests.fixtures.worker import connect
    from wizard.config import from_environment
    from wizard.db import engine_for
    from wizard.models.reconcile import AmazonListing, ReconcileSweep
    from wizard.reconcile.runner import run_sweep

    url = f"sqlite:///{Path(workdir) / 'sweep.sqlite'}"
    account_id = _schema(url)
    with Session(engine_for(url), expire_on_commit=False) as session:
        connect(session, account_id, refresh_token, SELLER)
    config = {**from_environment(), "DATABASE_URL": url, "REDIS_URL": redis_url,
              "AMAZON_LWA_TOKEN_URL": sandbox_url + "/auth/o2/token", "AMAZON_SPAPI_ENDPOINT": sandbox_url,
              "RECONCILE_POLL_INITIAL": 0.2, "RECONCILE_POLL_MAX": 1.0}
    redis = Redis.from_url(redis_url)
    started, cpu, waited = time.perf_counter(), cpu_seconds(), 0.0
    while True:
        outcome = run_sweep(config, redis, account_id, "full")
        if outcome.follow_up_in is None:
            break
        pause = min(outcome.follow_up_in, 1.0)
        waited += pause
        time.sleep(pause)  # the job is re-enqueued meanwhile: no CPU, no worker held
    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    with Session(engine_for(url)) as session:
        stored = session.exec(select(func.count()).select_from(AmazonListing)).one()
        sweep = session.exec(select(ReconcileSweep)).one()
        report_id = sweep.report_id
    return {"status": outcome.status, "stored": stored, "report_id": report_id, "cpu_s": round(cpu, 1),
            "wall_s": round(wall, 1), "waiting_s": round(waited, 1), "peak_rss_mb": peak_rss_mb(),
            "calls": sweep.calls}


def reference_run(sandbox_url: str, refresh_token: str, report_id: str) -> dict[str, Any]:
    """Download the same report file and count its lines with zlib: the floor for any reader."""
    import zlib

    from bench.bench_listings_report import sandbox_client
    from wizard.amazon import SellerAuth

    amazon = sandbox_client(sandbox_url)
    seller = SellerAuth(SELLER, refresh_token)
    report = amazon.reports.get_report(seller, report_id)
    document = amazon.reports.get_report_document(seller, report.report_document_id or "")
    response = amazon.open_download("reference", document.url)
    cpu = cpu_seconds()
    inflate = zlib.decompressobj(wbits=31)
    lines = 0
    for chunk in response.iter_content(1 << 20):
        lines += inflate.decompress(chunk).count(b"\n")
    response.close()
    return {"lines": lines, "cpu_s": round(cpu_seconds() - cpu, 2)}


def _subprocess(*args: str) -> dict[str, Any]:
    return run_script(__file__, *args)


def main(rows: int) -> None:
    """Run both measurements and print the figures."""
    from sandbox.models import models_dir
    from tests.fixtures.sandbox import SandboxControl, start_sandbox_subprocess
    from tests.fixtures.services import RedisServer, free_port

    os.environ.setdefault("AMAZON_MODELS_DIR", str(models_dir()))
    os.environ.setdefault("APP_ENV", "development")  # a benchmark on this machine, development secrets
    page = _subprocess("--page")
    print(f"storing one page of 20 items (drift check included): {page['ours_ms']} ms; reference (bare "
          f"executemany of the same rows): {page['reference_ms']} ms; ratio {page['ratio']}")
    workdir = tempfile.mkdtemp(prefix="bench-reconcile-")
    redis_server = RedisServer(free_port(), Path(workdir))
    redis_server.start()
    port = free_port()
    sandbox = start_sandbox_subprocess(port, {"SANDBOX_TIME_SCALE": "1000",
                                              "SANDBOX_PROCESSING_DELAY": "0.5"})
    try:
        control = SandboxControl(f"http://localhost:{port}")
        control.register_app("http://127.0.0.1:5000")
        token = control.grant(SELLER)
        control.generate_listings(SELLER, rows, prefix="BENCH-", quantity=3, price="12.34")
        ours = _subprocess("--sweep", control.url, token, redis_server.url, workdir)
        reference = _subprocess("--reference", control.url, token, ours["report_id"])
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
        redis_server.stop()
    print(f"full sweep of a {rows:,}-row report: {ours['status']}, {ours['stored']:,} rows stored, "
          f"{ours['calls']} calls; CPU {ours['cpu_s']} s (target ≤ 30 s beyond the waiting, which costs "
          f"none: {ours['waiting_s']} s of it were sleeps); wall {ours['wall_s']} s; peak RSS "
          f"{ours['peak_rss_mb']} MB (target ≤ 250 MB)")
    print(f"reference (zlib + count lines of the same file): {reference['cpu_s']} s CPU; ratio "
          f"{ours['cpu_s'] / max(reference['cpu_s'], 1e-6):.1f}")


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--page":
        print(json.dumps(page_run()))
    elif len(sys.argv) == 6 and sys.argv[1] == "--sweep":
        print(json.dumps(sweep_run(*sys.argv[2:6])))
    elif len(sys.argv) == 5 and sys.argv[1] == "--reference":
        print(json.dumps(reference_run(*sys.argv[2:5])))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
