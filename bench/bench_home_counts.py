"""Benchmark the home page at 3,000 and 100,000 products against a bare Flask hello-world, in one run.

    .venv/bin/python bench/bench_home_counts.py [--sizes 3000,100000] [--requests 400]

Issue 10 §3's "honest home page" shows what Amazon holds (in stock, drifted, rejected, not on Amazon, Amazon
only, with issues). Those figures are stored per account (``amazon_listing_count``) and recomputed by the
workers (``wizard.reconcile.status.refresh``), so the page reads one row whatever the catalog's size. For each
size this builds a database with ``bench_web.build`` (the product's own CSV import, settings, a connected
seller, a listing state per SKU), adds what a full sweep would have stored (a listing per SKU, every tenth
missing on Amazon, every seventh with an issue, 500 Amazon-only listings) and runs the worker's refresh
once. It counts the SQL statements of one home page view and times 200 views in-process (median, against
the hello-world's through the same Flask test client: steadier on a shared machine), then measures ``/``
and the hello-world with ``ab -c 8`` under the Procfile's gunicorn settings (the hello-world right before
the page) and prints their p95s and ratio. The last lines compare the sizes: the home page's ratio at the
largest size over its ratio at the smallest (about 1: it does not grow with the catalog), and what the
figures cost to compute in the worker (what every page view paid before they were stored).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

from bench_web import (  # noqa: E402
    CONCURRENCY,
    EMAIL,
    PASSWORD,
    ab,
    build,
    free_port,
    serving,
)

AMAZON_ONLY = 500


def add_amazon_listings(database_url: str) -> None:
    """Store what a full sweep would have: a listing per SKU (some missing, some with issues), Amazon-only."""
    from sqlalchemy import case, func, insert, literal, select

    from wizard.db import session_scope, table_of
    from wizard.models import AmazonListing, Product
    from wizard.models.base import utcnow

    listing, product = table_of(AmazonListing), table_of(Product)
    now = utcnow()
    number = func.row_number().over(order_by=product.c.id)
    with session_scope(database_url) as session:
        numbered = select(product.c.account_id, product.c.sku, product.c.available, product.c.price_cents,
                          number.label("n")).subquery()
        missing = (numbered.c.n % 10) == 0
        with_issue = (numbered.c.n % 7) == 0
        session.execute(insert(listing).from_select(
            ["account_id", "sku", "on_amazon", "quantity", "price_cents", "status", "buyable", "issues_json",
             "error_count", "warning_count", "read_at", "source"],
            select(numbered.c.account_id, numbered.c.sku, ~missing,
                   case((missing, None), else_=numbered.c.available),
                   case((missing, None), else_=numbered.c.price_cents),
                   case((missing, literal("")), else_=literal("BUYABLE,DISCOVERABLE")), ~missing,
                   case((with_issue & ~missing, literal(
                       '[{"code": "90220", "severity": "ERROR", "message": "Missing", "attribute": null}]')),
                       else_=literal("[]")),
                   case((with_issue & ~missing, 1), else_=0), literal(0), literal(now), literal("report"))))
        account_id = session.scalar(select(product.c.account_id).limit(1))
        session.execute(insert(listing), [
            {"account_id": account_id, "sku": f"AMZ-ONLY-{i:05d}", "on_amazon": True, "quantity": i % 3,
             "price_cents": 999, "status": "BUYABLE", "buyable": True, "issues_json": "[]",
             "error_count": 0, "warning_count": 0, "read_at": now, "source": "report"}
            for i in range(AMAZON_ONLY)])
        session.commit()


def refresh(database_url: str) -> tuple[float, dict[str, int]]:
    """Run the worker's refresh of the stored figures; return its seconds and the figures stored."""
    from dataclasses import asdict

    from sqlalchemy import select

    from wizard.db import engine_for, session_scope, table_of
    from wizard.models import Product
    from wizard.reconcile import status

    with session_scope(database_url) as session:
        account_id = int(session.scalar(select(table_of(Product).c.account_id).limit(1)) or 0)
    started = time.perf_counter()
    status.refresh(database_url, account_id)
    seconds = time.perf_counter() - started
    with engine_for(database_url).connect() as connection:
        figures = asdict(status.compute_counts(connection, account_id))
    figures.pop("read_at")
    return seconds, figures


#: In-process views timed per size (median), the product's home page and the hello-world alike.
IN_PROCESS_VIEWS = 200


def _median_ms(view: object, count: int = IN_PROCESS_VIEWS) -> float:
    import statistics

    times = []
    for _ in range(count):
        started = time.perf_counter()
        view()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def in_process(database_url: str, redis_url: str) -> tuple[int, float, float]:
    """Return the SQL statements of one home page view, and the median ms of a home page view and of a
    hello-world view, in this process through the Flask test client (no server, no concurrency: steadier
    than ``ab`` on a shared machine)."""
    from sqlalchemy import event

    from wizard import create_app
    from wizard.db import engine_for

    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": redis_url, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    assert client.post("/sign-in", data={"email": EMAIL, "password": PASSWORD}).status_code == 302
    statements: list[str] = []
    engine = engine_for(database_url)

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    client.get("/")
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get("/").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    from hello_app import app as hello_app

    hello = hello_app.test_client()
    hello_ms = _median_ms(lambda: hello.get("/"))
    home_ms = _median_ms(lambda: client.get("/"))
    return len(statements), home_ms, hello_ms


Result = tuple[float, float, float, int, float, float]


def measure(products: int, requests_count: int, workdir: Path) -> Result:
    """Build a database of ``products`` products; return (home p95, hello p95, refresh s, queries, home ms
    in-process, hello ms in-process)."""
    from tests.fixtures.services import RedisServer

    url = f"sqlite:///{workdir / f'home-{products}.sqlite'}"
    build(url, products)
    add_amazon_listings(url)
    seconds, figures = refresh(url)
    print(f"{products:,} products: the worker's refresh took {seconds * 1000:.0f} ms; stored {figures}")
    redis = RedisServer(free_port(), workdir)
    redis.start()
    queries, home_ms, hello_ms = in_process(url, redis.url)
    try:
        with serving(url, redis.url, workdir) as (base, hello_url, cookie, _):
            page = requests_get_text(base + "/", cookie)
            assert f"{figures['not_on_amazon']:,}" in page, "the home page does not show the stored figures"
            ab(base + "/", 2 * CONCURRENCY, workdir, cookie=cookie)  # warm up
            hello_p95 = ab(hello_url, requests_count, workdir)
            home_p95 = ab(base + "/", requests_count, workdir, cookie=cookie)
        return home_p95, hello_p95, seconds, queries, home_ms, hello_ms
    finally:
        redis.stop()

def requests_get_text(url: str, cookie: str) -> str:
    """Return the page at ``url`` for the signed-in session ``cookie``."""
    import requests

    answer = requests.get(url, cookies={"session": cookie}, timeout=60)
    answer.raise_for_status()
    return answer.text


def main() -> None:
    """Measure each size, print the table and the comparison between the smallest and the largest."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="3000,100000", help="comma-separated catalog sizes")
    parser.add_argument("--requests", type=int, default=400, help="requests per measurement")
    args = parser.parse_args()
    if shutil.which("ab") is None:
        raise SystemExit("ab is missing: apt-get install apache2-utils")
    from sandbox.models import models_dir

    os.environ.setdefault("AMAZON_MODELS_DIR", str(models_dir()))
    os.environ.setdefault("APP_ENV", "development")  # throwaway databases with the development secrets
    sizes = [int(size) for size in args.sizes.split(",")]
    results: dict[int, Result] = {}
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-home-") as tmp:
            results[size] = measure(size, args.requests, Path(tmp))
    print(f"\nhome page, gunicorn 2 workers × 4 threads, ab -c {CONCURRENCY} -n {args.requests} (p95 in ms)")
    print(f"{'products':>10}{'home':>9}{'hello':>9}{'ratio':>9}{'SQL/view':>10}{'refresh (worker)':>19}"
          f"{'in-process home / hello (median ms)':>38}")
    for size, (home, hello, seconds, queries, home_ms, hello_ms) in results.items():
        print(f"{size:>10,}{home:>9.1f}{hello:>9.1f}{home / hello:>8.1f}×{queries:>10}"
              f"{seconds * 1000:>16.0f} ms{home_ms:>17.2f} / {hello_ms:.3f} = {home_ms / hello_ms:.0f}×")
    small, large = min(results), max(results)
    growth = (results[large][0] / results[large][1]) / (results[small][0] / results[small][1])
    in_growth = (results[large][4] / results[large][5]) / (results[small][4] / results[small][5])
    print(f"home ratio at {large:,} over its ratio at {small:,}: {growth:.2f} with ab, {in_growth:.2f} "
          f"in-process (1.00 = no growth with the catalog); the worker's refresh grew "
          f"{results[large][2] / results[small][2]:.1f}×")


if __name__ == "__main__":
    main()
