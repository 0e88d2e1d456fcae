"""Benchmark the web pages against a bare Flask hello-world under the same gunicorn settings; print the table.

    .venv/bin/python bench/bench_web.py [--products 100000] [--million] [--requests 400] [--pages LABELS]
                                        [--postgresql | --database-url URL]

One command (``make bench-web``, SQLite then PostgreSQL): it builds a database (SQLite in a temporary folder;
with ``--postgresql`` a fresh database per size in a throwaway PostgreSQL cluster it starts and stops, as the
tests do; or the empty database ``--database-url`` names), creates a merchant, loads the catalog through the
product's own CSV import, saves settings and connects a seller, then starts two gunicorn servers on free
loopback ports with the Procfile's settings (2 workers, 4 threads): the product, and ``bench/hello_app.py``.
It signs in and measures each page with ``ab -c 8`` (Debian's ``apache2-utils``), the hello-world right
before each page, and prints the p95 of both and their ratio. Targets (issue 12): at 100,000 products
home/settings/sync ≤ 3×, catalog search + filter ≤ 5×, settings preview ≤ 5×; at 1,000,000 products 5×, 8×,
8×.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

GUNICORN_SETTINGS = ["--no-control-socket", "--workers", "2", "--threads", "4"]
CONCURRENCY = 8
EMAIL = "bench@example.com"
PASSWORD = "bench-password"  # noqa: S105 - a throwaway account in a throwaway database
SEED = 12
WORDS = ["tent", "lantern", "mug", "pack", "stove", "rope", "lamp", "boots", "jacket", "bottle", "chair",
         "knife", "map", "tarp", "compass", "cooler"]
STOCKS = [0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 35, 50, 80, 120, 200, 500]


@dataclass(frozen=True)
class Target:
    """One measured request: a label, a path, and how to send it."""

    label: str
    path: str
    goal_100k: float
    goal_1m: float
    post: str | None = None
    htmx_target: str | None = None


TARGETS = [
    Target("home", "/", 3, 5),
    Target("settings", "/settings/amazon/", 3, 5),
    Target("sync page", "/sync/", 3, 5),
    Target("catalog search + filter", "/catalog/results?q=lantern&outcome=in_stock", 5, 8,
           htmx_target="catalog-results"),
    Target("settings preview (htmx POST)", "/settings/amazon/preview", 5, 8,
           post="inventory_buffer=6&inventory_ceiling=40&min_price=12.50"),
]


def free_port() -> int:
    """Return a free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def catalog_csv(count: int) -> bytes:
    """Return a CSV file of ``count`` products: a spread of stock levels and prices, titles with words."""
    rnd = random.Random(SEED)
    lines = ["sku,title,available,price"]
    for i in range(count):
        title = f"Product {i} {rnd.choice(WORDS)} {rnd.choice(WORDS)}"
        lines.append(f"BENCH-{i:08d},{title},{rnd.choice(STOCKS)},{rnd.randint(100, 30_000) / 100:.2f}")
    return ("\n".join(lines) + "\n").encode()


def build(database_url: str, products: int) -> None:
    """Migrate, create the merchant, import the catalog, connect a seller and save settings."""
    from sqlalchemy import text
    from sqlmodel import select

    from wizard.accounts.service import create_account_with_admin
    from wizard.catalog.importer import import_csv, text_lines
    from wizard.config import from_environment
    from wizard.crypto import TokenCipher
    from wizard.db import engine_for, session_scope
    from wizard.db import is_postgresql as url_is_postgresql
    from wizard.migrate import upgrade
    from wizard.models import Connection, ConnectionStatus, User
    from wizard.models.base import utcnow
    from wizard.rules import Rules
    from wizard.settings.service import apply_rules

    upgrade(database_url)
    with session_scope(database_url) as session:
        account = create_account_with_admin(session, name="Bench Outdoor", email=EMAIL, user_name="Bench",
                                            password=PASSWORD)
        assert account.id is not None
        account_id = account.id
    started = time.perf_counter()
    progress = import_csv(database_url, account_id, text_lines(io.BytesIO(catalog_csv(products))))
    assert progress.written == products, progress
    print(f"imported {products:,} products through the CSV import in {time.perf_counter() - started:.1f} s")
    with session_scope(database_url) as session:
        cipher = TokenCipher(from_environment()["TOKEN_ENCRYPTION_KEYS"])
        now = utcnow()
        session.add(Connection(account_id=account_id, status=ConnectionStatus.CONNECTED,
                               selling_partner_id="A1PROSELLERUS01",
                               refresh_token_encrypted=cipher.encrypt("Atzr|bench"), authorized_at=now,
                               verified_at=now, selling_plan="PROFESSIONAL", us_participating=True))
        account = session.get(type(account), account_id)
        assert account is not None
        account.prerequisites_acknowledged_at = now
        session.add(account)
        session.commit()
        user = session.exec(select(User)).first()
        assert user is not None
        rules = Rules(inventory_buffer=3, inventory_ceiling=100, min_price_cents=500)
        apply_rules(session, account_id, rules, user_id=user.id)
        # As after a first sync that Amazon accepted: a listing state per SKU (the home page counts them).
        session.execute(text(
            "INSERT INTO listing_state (account_id, sku, status, accepted_quantity, accepted_price_cents) "
            "SELECT account_id, sku, 'ACCEPTED', available, price_cents FROM product WHERE account_id = :a"),
            {"a": account_id})
        session.commit()
    if url_is_postgresql(database_url):
        # As autovacuum does within a minute or so of a bulk load: without statistics PostgreSQL plans the
        # catalog page as "every trigram match, then sort" (80 ms) instead of walking the SKU index (0.5 ms).
        with engine_for(database_url).connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))


def start_gunicorn(app: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start gunicorn with the Procfile's settings on ``127.0.0.1:port``; wait until it answers."""
    command = [str(Path(sys.executable).with_name("gunicorn")), *GUNICORN_SETTINGS,
               "--bind", f"127.0.0.1:{port}", "--pythonpath", str(REPO_ROOT / "bench"), app]
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn {app} exited; see {log}")
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=10, allow_redirects=False)
            return process
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn {app} did not answer within 60 s; see {log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a gunicorn master (it stops its workers)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def sign_in(base: str) -> tuple[str, str]:
    """Sign in through the form; return the session cookie and the CSRF token the pages give htmx."""
    http = requests.Session()
    page = http.get(base + "/sign-in", timeout=30)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert token, "no CSRF token on the sign-in page"
    answer = http.post(base + "/sign-in", data={"csrf_token": token.group(1), "email": EMAIL,
                                                "password": PASSWORD}, timeout=30, allow_redirects=False)
    assert answer.status_code == 302, answer.status_code
    settings = http.get(base + "/settings/amazon/", timeout=60)
    assert settings.status_code == 200, settings.status_code
    header = re.search(r'"X-CSRFToken": "([^"]+)"', settings.text)
    assert header, "no CSRF token in <body hx-headers>"
    return http.cookies["session"], header.group(1)


def ab(url: str, requests_count: int, workdir: Path, *, cookie: str | None = None, csrf: str | None = None,
       target: Target | None = None) -> float:
    """Run ``ab -c 8`` against ``url``; return the p95 in milliseconds (every answer must be 2xx)."""
    out = workdir / "ab.csv"
    command = ["ab", "-q", "-n", str(requests_count), "-c", str(CONCURRENCY), "-e", str(out)]
    if cookie:
        command += ["-C", f"session={cookie}"]
    if target is not None and (target.post is not None or target.htmx_target):
        command += ["-H", "HX-Request: true"]
    if target is not None and target.htmx_target:
        command += ["-H", f"HX-Target: {target.htmx_target}"]
    if target is not None and target.post is not None:
        body = workdir / "body.txt"
        body.write_text(target.post)
        command += ["-p", str(body), "-T", "application/x-www-form-urlencoded", "-H", f"X-CSRFToken: {csrf}"]
    result = subprocess.run([*command, url], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"ab failed for {url}: {result.stderr or result.stdout}")
    non_2xx = re.search(r"Non-2xx responses:\s+(\d+)", result.stdout)
    if non_2xx:
        raise SystemExit(f"{url}: {non_2xx.group(1)} answers were not 2xx")
    with out.open() as handle:
        rows = {int(float(row[0])): float(row[1]) for row in csv.reader(handle) if row[0][:1].isdigit()}
    return rows[95]


def measure(products: int, database_url: str | None, requests_count: int, workdir: Path,
            targets: list[Target]) -> None:
    """Build one database of ``products`` products and print the table for it."""
    from tests.fixtures.services import RedisServer

    url = database_url or f"sqlite:///{workdir / f'web-{products}.sqlite'}"
    build(url, products)
    redis = RedisServer(free_port(), workdir)  # sign-in throttling and sessions need a real Redis
    redis.start()
    try:
        with serving(url, redis.url, workdir) as (base, hello_url, cookie, csrf):
            _print_table(products, requests_count, workdir, targets, base, hello_url, cookie, csrf)
    finally:
        redis.stop()


@contextmanager
def serving(url: str, redis_url: str, workdir: Path) -> Iterator[tuple[str, str, str, str]]:
    """Serve the product on ``url`` and the hello-world on free ports, sign in, and stop both at the end.

    Yields the product's base URL, the hello-world's URL, and the signed-in session's cookie and CSRF token.
    """
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "APP_ENV": "development"}
    product_port, hello_port = free_port(), free_port()
    product = start_gunicorn("wizard:create_app()", product_port, env, workdir / "product.log")
    hello = None
    try:
        hello = start_gunicorn("hello_app:app", hello_port, env, workdir / "hello.log")
        base = f"http://127.0.0.1:{product_port}"
        cookie, csrf = sign_in(base)
        yield base, f"http://127.0.0.1:{hello_port}/", cookie, csrf
    finally:
        stop(product)
        if hello is not None:
            stop(hello)


def _print_table(products: int, requests_count: int, workdir: Path, targets: list[Target], base: str,
                 hello_url: str, cookie: str, csrf: str) -> None:
    """Measure each target against the hello-world right before it, and print a line each."""
    print(f"\n{products:,} products, gunicorn 2 workers × 4 threads, ab -c {CONCURRENCY} -n "
          f"{requests_count} (p95 in ms)")
    print(f"{'page':<32}{'product':>10}{'hello':>9}{'ratio':>9}{'target':>9}")
    for target in targets:
        full = base + target.path
        ab(full, 2 * CONCURRENCY, workdir, cookie=cookie, csrf=csrf, target=target)  # warm up
        hello_p95 = ab(hello_url, requests_count, workdir)
        page_p95 = ab(full, requests_count, workdir, cookie=cookie, csrf=csrf, target=target)
        goal = target.goal_100k if products <= 100_000 else target.goal_1m
        ratio = page_p95 / hello_p95
        verdict = "OK" if ratio <= goal else "MISSED"
        print(f"{target.label:<32}{page_p95:>10.1f}{hello_p95:>9.1f}{ratio:>8.1f}×{goal:>7.0f}× "
              f"{verdict}", flush=True)


def main() -> None:
    """Parse the arguments and run the measurement for each size."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="also measure at 1,000,000 products")
    parser.add_argument("--requests", type=int, default=400, help="requests per page (bounded)")
    parser.add_argument("--pages", default="", help="comma-separated page labels to measure (default: all)")
    parser.add_argument("--database-url", default=None,
                        help="an empty database to use instead of SQLite (e.g. postgresql+psycopg://…)")
    parser.add_argument("--postgresql", action="store_true",
                        help="start a throwaway PostgreSQL cluster (initdb + pg_ctl) and measure on it")
    args = parser.parse_args()
    if args.postgresql and args.database_url:
        raise SystemExit("--postgresql starts its own cluster: leave out --database-url")
    if shutil.which("ab") is None:
        raise SystemExit("ab is missing: apt-get install apache2-utils")
    from sandbox.models import models_dir

    os.environ.setdefault("AMAZON_MODELS_DIR", str(models_dir()))
    os.environ.setdefault("APP_ENV", "development")  # a throwaway database with the development secrets
    sizes = [args.products] + ([1_000_000] if args.million else [])
    if args.database_url and len(sizes) > 1:
        raise SystemExit("--database-url takes one size at a time (the database must start empty)")
    wanted = [label.strip() for label in args.pages.split(",") if label.strip()]
    targets = [t for t in TARGETS if not wanted or any(t.label.startswith(w) for w in wanted)]
    with postgresql_cluster(args.postgresql) as new_database:
        for size in sizes:
            with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
                url = new_database() if new_database else args.database_url
                print(f"\ndatabase: {'PostgreSQL' if url else 'SQLite'}")
                measure(size, url, args.requests, Path(tmp), targets)


@contextmanager
def postgresql_cluster(wanted: bool) -> Iterator[Callable[[], str] | None]:
    """Start a throwaway PostgreSQL cluster if ``wanted``; yield a function making an empty database in it."""
    if not wanted:
        yield None
        return
    from tests.fixtures.databases import PostgresCluster, postgresql_bindir

    cluster = PostgresCluster(postgresql_bindir())
    cluster.start()
    try:
        yield lambda: cluster.url(cluster.create_database())
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
