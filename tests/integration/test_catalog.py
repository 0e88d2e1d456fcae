"""The catalog page and CSV import through the Flask client."""

from __future__ import annotations

import contextlib
import io
import json
import re

from flask.testing import FlaskClient
from sqlmodel import Session, select

from tests.conftest import Merchant
from tests.fixtures.services import wait_until
from tests.helpers import csrf_token
from tests.integration.test_amazon_settings import add_products, text_of
from wizard.catalog.importer import ANALYZE_AFTER_ROWS, import_csv
from wizard.db import engine_for
from wizard.models import AmazonSettings, CatalogImport, Product

CATALOG = "/catalog/"
IMPORT = "/catalog/import"
RESULTS = "/catalog/results"


def upload(client: FlaskClient, content: str, filename: str = "products.csv"):  # type: ignore[no-untyped-def]
    token = csrf_token(client, CATALOG)
    return client.post(
        IMPORT,
        data={"csrf_token": token, "file": (io.BytesIO(content.encode()), filename)},
        content_type="multipart/form-data",
    )


def finished_import(db: Session, import_id: int, work_imports) -> CatalogImport:  # type: ignore[no-untyped-def]
    """Work the import queue (the job runs in an RQ worker), then return the finished import."""
    work_imports()

    def _done() -> CatalogImport | None:
        db.expire_all()
        job = db.get(CatalogImport, import_id)
        return job if job is not None and job.status != "running" else None

    return wait_until(_done, timeout=20, message="the import to finish")  # type: ignore[no-any-return]


def products(db: Session, account_id: int) -> dict[str, tuple[str, int, int]]:
    db.expire_all()
    rows = db.exec(select(Product).where(Product.account_id == account_id)).all()
    return {p.sku: (p.title, p.available, p.price_cents) for p in rows}


def test_a_csv_import_keeps_good_rows_and_reports_each_bad_row_with_its_line_and_reason(
    client, signed_in_as, merchant: Merchant, db, work_imports
) -> None:
    signed_in_as("manager")
    content = (
        "sku,title,available,price\n"
        "TENT-2P,Two-person tent,12,149.00\n"  # line 2
        ",Nameless,3,9.99\n"  # 3: missing SKU
        "LAMP-1,Lantern,-4,19.99\n"  # 4: negative quantity
        "LAMP-2,Lantern,lots,19.99\n"  # 5: not a number
        "LAMP-3,Lantern,4,19.999\n"  # 6: bad price
        "TENT-2P,Same SKU again,1,1.00\n"  # 7: duplicate of line 2
        f"{'X' * 41},Too long,1,1.00\n"  # 8: SKU too long
        'MUG-1,"Mug, enamel",0,8.5\n'  # 9: good, quoted comma, price without cents
    )
    response = upload(client, content)
    assert response.status_code == 302
    import_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    job = finished_import(db, import_id, work_imports)
    assert (job.status, job.written_rows, job.error_count) == ("done", 2, 6)
    assert products(db, merchant.account.id) == {
        "TENT-2P": ("Two-person tent", 12, 14900),
        "MUG-1": ("Mug, enamel", 0, 850),
    }
    errors = {e["line"]: e["reason"] for e in json.loads(job.errors_json)}
    assert errors[3] == "The SKU is missing."
    assert "can't be negative" in errors[4]
    assert "whole number" in errors[5]
    assert "at most 2 decimal places" in errors[6]
    assert errors[7] == "This SKU is already on line 2; only that line is imported."
    assert "Amazon allows at most 40" in errors[8]
    page = text_of(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Import finished: 2 products saved, 6 rows skipped" in page
    assert "4 LAMP-1 Units available can't be negative" in page


def test_importing_again_updates_rows_by_sku_and_never_doubles_them(
    client, signed_in_as, merchant, db, work_imports
) -> None:
    signed_in_as("admin")
    add_products(db, merchant.account.id, [("TENT-2P", 1, 100)])
    response = upload(client, "SKU,Available,Price\nTENT-2P,7,120.50\nNEW-1,2,3\n")
    job = finished_import(db, int(response.headers["Location"].rstrip("/").split("/")[-1]), work_imports)
    assert job.written_rows == 2
    assert products(db, merchant.account.id) == {
        "TENT-2P": ("Product TENT-2P", 7, 12050),
        "NEW-1": ("", 2, 300),
    }


def test_a_file_without_the_required_columns_is_refused_with_the_expected_header(
    client, signed_in_as, merchant, db, work_imports
) -> None:
    signed_in_as("admin")
    response = upload(client, "code,qty\nA,1\n")
    job = finished_import(db, int(response.headers["Location"].rstrip("/").split("/")[-1]), work_imports)
    assert job.status == "failed"
    assert "missing the columns sku, available, price" in (job.message or "")
    assert products(db, merchant.account.id) == {}
    page = text_of(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "The file was not imported" in page and "sku,title,available,price" in page


def test_a_file_that_is_not_utf8_is_refused_with_a_tip(
    client, signed_in_as, merchant, db, work_imports
) -> None:
    signed_in_as("admin")
    token = csrf_token(client, CATALOG)
    response = client.post(
        IMPORT,
        data={
            "csrf_token": token,
            "file": (io.BytesIO("sku,available,price\nCAFÉ,1,2\n".encode("latin-1")), "latin.csv"),
        },
        content_type="multipart/form-data",
    )
    job = finished_import(db, int(response.headers["Location"].rstrip("/").split("/")[-1]), work_imports)
    assert job.status == "failed" and "CSV UTF-8" in (job.message or "")


def test_importing_without_a_file_says_so_and_keeps_the_page(client, signed_in_as) -> None:
    signed_in_as("admin")
    token = csrf_token(client, CATALOG)
    response = client.post(IMPORT, data={"csrf_token": token}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose a CSV file to import." in text_of(response.get_data(as_text=True))


def test_staff_cannot_import_and_do_not_see_the_import_form(client, signed_in_as) -> None:
    signed_in_as("staff")
    html = client.get(CATALOG).get_data(as_text=True)
    assert "csv-file" not in html and "/catalog/import" not in html
    token = csrf_token(client, CATALOG)
    response = client.post(
        IMPORT,
        data={"csrf_token": token, "file": (io.BytesIO(b"sku,available,price\n"), "a.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403


def test_the_progress_fragment_polls_itself_while_the_import_runs_and_stops_when_done(
    client, signed_in_as, merchant, db
) -> None:
    signed_in_as("admin")
    running = CatalogImport(
        account_id=merchant.account.id, filename="big.csv", total_rows=100_000, processed_rows=25_000
    )
    done = CatalogImport(
        account_id=merchant.account.id,
        filename="big.csv",
        total_rows=10,
        processed_rows=10,
        written_rows=10,
        status="done",
    )
    db.add_all([running, done])
    db.commit()
    fragment = client.get(f"/catalog/import/{running.id}", headers={"HX-Request": "true"}).get_data(
        as_text=True
    )
    assert 'hx-trigger="load delay:1s"' in fragment and "<html" not in fragment
    assert re.search(r'<progress[^>]*max="100" value="25"', fragment)
    assert "25,000 of about 100,000 rows" in text_of(fragment)
    finished = client.get(f"/catalog/import/{done.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in finished and "Import finished: 10 products saved" in text_of(finished)


def test_a_crash_mid_import_leaves_only_whole_rows(database_url, merchant, db) -> None:
    lines = ["sku,title,available,price"] + [
        f"SKU-{i:04d},Product {i},{i},1.{i % 100:02d}" for i in range(25)
    ]
    seen: list[int] = []

    def crash_after_two_chunks(progress) -> None:  # type: ignore[no-untyped-def]
        seen.append(progress.written)
        if len(seen) == 2:
            raise KeyboardInterrupt  # the process dies between chunks

    with contextlib.suppress(KeyboardInterrupt):
        import_csv(
            database_url,
            merchant.account.id,
            "\n".join(lines).splitlines(keepends=True),
            chunk_rows=10,
            on_chunk=crash_after_two_chunks,
        )
    stored = products(db, merchant.account.id)
    assert len(stored) == 20
    for i in range(20):
        assert stored[f"SKU-{i:04d}"] == (f"Product {i}", i, 100 + i % 100)


def catalog_statistics(database_url: str) -> tuple[object, float] | None:
    """Return PostgreSQL's ``(last_analyze, reltuples)`` of ``product``; None on SQLite (it keeps none)."""
    with engine_for(database_url).connect() as connection:
        if connection.dialect.name == "sqlite":
            assert connection.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").scalar_one() == 0
            return None
        row = connection.exec_driver_sql(
            "SELECT s.last_analyze, c.reltuples FROM pg_stat_user_tables s "
            "JOIN pg_class c ON c.oid = s.relid WHERE s.relname = 'product'").one()
        return row[0], float(row[1])


def test_a_large_import_refreshes_the_catalog_statistics_on_postgresql(database_url, merchant) -> None:
    def csv_lines(count: int, start: int = 0) -> list[str]:
        return ["sku,title,available,price\n"] + [f"SKU-{i:06d},Product {i},{i % 40},2.{i % 100:02d}\n"
                                                   for i in range(start, start + count)]

    import_csv(database_url, merchant.account.id, csv_lines(10))
    small = catalog_statistics(database_url)
    import_csv(database_url, merchant.account.id, csv_lines(ANALYZE_AFTER_ROWS, start=10))
    large = catalog_statistics(database_url)

    if small is None or large is None:  # SQLite: its planner keeps its defaults, no statistics table appears
        assert small is None and large is None
        return
    assert small[0] is None  # a small import leaves the statistics to autovacuum
    last_analyze, reltuples = large
    assert last_analyze is not None  # set by ANALYZE only, never by autovacuum (that is last_autoanalyze)
    assert reltuples == ANALYZE_AFTER_ROWS + 10


def test_the_catalog_explains_each_number_and_filters_by_outcome_in_sql(
    client, signed_in_as, merchant, db
) -> None:
    db.add(
        AmazonSettings(
            account_id=merchant.account.id, inventory_buffer=6, inventory_ceiling=4, min_price_cents=500
        )
    )
    db.commit()
    add_products(
        db,
        merchant.account.id,
        [("GATED", 5, 1999), ("CAPPED", 6, 1999), ("CHEAP", 50, 499), ("EMPTY", 0, 1999), ("EXACT", 4, 1999)],
    )
    signed_in_as("staff")
    text = text_of(client.get(CATALOG).get_data(as_text=True))
    assert "5 products" in text
    assert "5 available, below the buffer of 6 → 0" in text
    assert "6 available, buffer of 6 met, capped by the ceiling of 4 → 4" in text

    def skus(outcome: str) -> set[str]:
        html = client.get(RESULTS, query_string={"outcome": outcome}, headers={"HX-Request": "true"})
        cells = r'<td class="sku"[^>]*><span><code>([^<]+)</code>'
        return set(re.findall(cells, html.get_data(as_text=True)))

    assert skus("in_stock") == {"CAPPED"}  # in stock on Amazon: any quantity shown, capped included
    assert skus("all_units") == set()
    assert skus("below_buffer") == {"GATED", "EXACT"}
    assert skus("capped") == {"CAPPED"}
    assert skus("below_price_threshold") == {"CHEAP"}
    assert skus("out_of_stock") == {"EMPTY"}


def test_active_search_returns_only_the_results_fragment(client, signed_in_as, merchant, db) -> None:
    add_products(db, merchant.account.id, [("TENT-2P", 5, 1999), ("LAMP-1", 6, 1999), ("100%_WOOL", 1, 100)])
    signed_in_as("staff")
    response = client.get(RESULTS, query_string={"q": "tent"}, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="catalog-results"')
    assert "TENT-2P" in html and "LAMP-1" not in html
    assert response.headers["HX-Push-Url"] == "/catalog/?q=tent"  # the address bar shows a full page
    assert "HX-Request" in response.headers["Vary"]
    plain = client.get(RESULTS, query_string={"q": "tent"})  # a bookmarked fragment URL
    assert plain.status_code == 302 and plain.headers["Location"] == "/catalog/?q=tent"
    page = client.get(CATALOG, query_string={"q": "tent"}).get_data(as_text=True)
    assert "<html" in page and "TENT-2P" in page and "LAMP-1" not in page
    wildcard = client.get(CATALOG, query_string={"q": "0%_"}).get_data(as_text=True)
    assert "100%_WOOL" in wildcard and "TENT-2P" not in wildcard


def test_the_catalog_is_paginated_fifty_per_page(client, signed_in_as, merchant, db) -> None:
    add_products(db, merchant.account.id, [(f"SKU-{i:03d}", i, 1000) for i in range(120)])
    signed_in_as("admin")
    first = client.get(CATALOG).get_data(as_text=True)
    second = client.get(_next_url(first)).get_data(as_text=True)
    last = client.get(_next_url(second)).get_data(as_text=True)
    assert len(re.findall(r'<td class="sku"', first)) == 50 and "120 products" in text_of(first)
    assert "SKU-049" in first and "SKU-050" in second and "SKU-099" in second
    assert len(re.findall(r'<td class="sku"', last)) == 20 and "SKU-119" in last and 'rel="next"' not in last
    back = client.get(_link(last, "prev")).get_data(as_text=True)
    assert re.findall(r"SKU-\d{3}", back) == re.findall(r"SKU-\d{3}", second)


def _link(html: str, rel: str) -> str:
    found = re.search(rf'href="([^"]+)"[^>]*rel="{rel}"', html)
    assert found, f"no {rel} link"
    return found.group(1).replace("&amp;", "&")


def _next_url(html: str) -> str:
    return _link(html, "next")


def test_a_search_counts_up_to_a_cap_and_says_more(client, signed_in_as, merchant, db) -> None:
    add_products(db, merchant.account.id, [(f"LAMP-{i:04d}", i, 1000) for i in range(1_001)]
                 + [(f"TENT-{i:04d}", i, 1000) for i in range(5)])
    signed_in_as("admin")
    many = text_of(client.get(CATALOG, query_string={"q": "lamp"}).get_data(as_text=True))
    few = text_of(client.get(CATALOG, query_string={"q": "tent"}).get_data(as_text=True))
    assert "More than 1,000 products matching “lamp”" in many
    assert "5 products matching “tent”" in few and "More than" not in few


def test_the_demo_data_loads_a_realistic_catalog_once(app, db) -> None:
    from wizard import demo
    from wizard.models import Account

    demo.load(db, app.config)
    demo.load(db, app.config)
    account = db.exec(select(Account).where(Account.name == demo.DEMO_ACCOUNT)).one()
    catalog = db.exec(select(Product).where(Product.account_id == account.id)).all()
    assert len(catalog) == 3_000
    assert {p.available for p in catalog} >= {0, 1, 10, 200}
    assert min(p.price_cents for p in catalog) >= 100 and max(p.price_cents for p in catalog) <= 30_000


def import_id_of(response) -> int:  # type: ignore[no-untyped-def]
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def test_a_csv_import_is_stored_and_run_by_an_rq_worker_so_it_survives_a_web_restart(
    app_config, client, signed_in_as, merchant, db, sync_env, tmp_path, worker_processes
) -> None:
    from tests.conftest import sign_in
    from tests.fixtures.worker import start_worker
    from wizard import create_app

    signed_in_as("admin")
    response = upload(client, "sku,title,available,price\nTENT-2P,Tent,3,149.00\nLAMP-1,Lamp,0,9.50\n")
    import_id = import_id_of(response)
    stored = tmp_path / "imports" / f"import-{import_id}.csv"
    # The web process only stored the file and queued the job: nothing is imported before a worker runs.
    assert stored.read_text().startswith("sku,title,available,price")
    db.expire_all()
    job = db.get(CatalogImport, import_id)
    assert job is not None and (job.status, job.processed_rows, job.total_rows) == ("running", 0, 2)
    assert products(db, merchant.account.id) == {}

    # "Restart" the web: a new app and a new browser session; the import is in Redis and on disk, not here.
    restarted = create_app(app_config).test_client()
    sign_in(restarted, merchant.user("admin"))
    worker_processes.append(start_worker(sync_env, log=tmp_path / "importer.log", queues=("imports",)))

    def _done() -> CatalogImport | None:
        db.expire_all()
        found = db.get(CatalogImport, import_id)
        return found if found is not None and found.status != "running" else None

    finished = wait_until(_done, timeout=60, message="the rq worker to run the import")
    assert (finished.status, finished.written_rows) == ("done", 2)
    assert products(db, merchant.account.id) == {"TENT-2P": ("Tent", 3, 14900), "LAMP-1": ("Lamp", 0, 950)}
    assert not stored.exists()
    page = text_of(restarted.get(f"/catalog/import/{import_id}").get_data(as_text=True))
    assert "Import finished: 2 products saved" in page


def test_a_second_import_is_refused_while_one_runs_and_allowed_after_it(
    client, signed_in_as, merchant, db, work_imports
) -> None:
    signed_in_as("admin")
    first = import_id_of(upload(client, "sku,available,price\nA,1,1.00\n"))
    second = upload(client, "sku,available,price\nB,2,2.00\n")
    assert second.status_code == 409
    assert "Another import of your catalog is still running" in text_of(second.get_data(as_text=True))
    db.expire_all()
    assert [j.id for j in db.exec(select(CatalogImport)).all()] == [first]
    work_imports()
    third = import_id_of(upload(client, "sku,available,price\nB,2,2.00\n"))
    job = finished_import(db, third, work_imports)
    assert job.status == "done"
    assert products(db, merchant.account.id) == {"A": ("", 1, 100), "B": ("", 2, 200)}


def test_an_import_stopped_long_ago_no_longer_blocks_the_next_one_and_shows_as_interrupted(
    client, signed_in_as, merchant, db, work_imports
) -> None:
    from datetime import timedelta

    from wizard.models.base import utcnow

    signed_in_as("admin")
    lost = CatalogImport(account_id=merchant.account.id, filename="lost.csv", total_rows=10, processed_rows=5,
                         written_rows=5, updated_at=utcnow() - timedelta(hours=1))
    db.add(lost)
    db.commit()
    page = text_of(client.get(f"/catalog/import/{lost.id}").get_data(as_text=True))
    assert "The import was interrupted" in page and "5 rows were saved in full" in page
    job = finished_import(db, import_id_of(upload(client, "sku,available,price\nA,1,1.00\n")), work_imports)
    assert job.status == "done"
    db.refresh(lost)
    assert lost.status == "failed" and "interrupted" in (lost.message or "")


def test_an_interrupted_import_resumes_after_its_last_committed_chunk(
    app, merchant, db, work_imports, redis_url
) -> None:
    from redis import Redis

    from jobs.queue import enqueue_import
    from wizard.catalog.importer import upload_path

    lines = ["sku,title,available,price"] + [f"SKU-{i:02d},Product {i},{i},1.00" for i in range(25)]
    job = CatalogImport(account_id=merchant.account.id, filename="p.csv", total_rows=25, processed_rows=10,
                        written_rows=9, error_count=1,
                        errors_json=json.dumps([{"line": 4, "sku": "SKU-02", "field": "price",
                                                 "reason": "x"}]))
    db.add(job)
    db.commit()
    assert job.id is not None
    path = upload_path(app.config["IMPORT_DIR"], job.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    # What the crashed run had committed, since changed through the API: resuming must not overwrite it.
    add_products(db, merchant.account.id, [(f"SKU-{i:02d}", 99, 999) for i in range(10) if i != 2])
    redis = Redis.from_url(redis_url)
    try:
        enqueue_import(job.id, connection=redis)
    finally:
        redis.close()
    done = finished_import(db, job.id, work_imports)
    assert (done.status, done.processed_rows, done.written_rows, done.error_count) == ("done", 25, 24, 1)
    stored = products(db, merchant.account.id)
    assert stored["SKU-00"][1:] == (99, 999) and stored["SKU-10"] == ("Product 10", 10, 100)
    assert len(stored) == 24 and "SKU-02" not in stored


def test_the_catalog_page_runs_the_same_number_of_queries_for_one_row_or_a_full_page(
    app, client, signed_in_as, merchant, db
) -> None:
    from sqlalchemy import event

    from wizard.db import engine_for
    from wizard.models import ListingState, ListingStatus
    from wizard.models.base import utcnow

    signed_in_as("staff")
    engine = engine_for(app.config["DATABASE_URL"])
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    def queries(query: str) -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            response = client.get(RESULTS, query_string={"q": query}, headers={"HX-Request": "true"})
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200
        return len(statements)

    many = [(f"MANY-{i:02d}", i, 100) for i in range(50)]
    add_products(db, merchant.account.id, [("ONE-1", 1, 100), *many])
    db.add_all([ListingState(account_id=merchant.account.id, sku=sku, status=ListingStatus.ACCEPTED,
                             sent_quantity=1, sent_at=utcnow()) for sku in ("ONE-1", "MANY-00", "MANY-01")])
    db.commit()
    one, full = queries("ONE-"), queries("MANY-")
    assert one == full, f"1 row: {one} queries, 50 rows: {full}"
    html = client.get(RESULTS, query_string={"q": "MANY-"}, headers={"HX-Request": "true"}).get_data(
        as_text=True)
    assert html.count("Accepted") == 2 and html.count("Not sent yet") == 48


def test_the_results_table_reads_its_products_as_plain_rows_not_orm_entities(
    client, signed_in_as, merchant, db
) -> None:
    """No statement over ``product`` goes through the ORM: its per-row loading cost a third of the page."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session as OrmSession

    add_products(db, merchant.account.id, [(f"LAMP-{i:02d}", i, 1999) for i in range(60)]
                 + [(f"TENT-{i:02d}", i, 1999) for i in range(3)])
    signed_in_as("staff")
    through_orm: list[str] = []

    def record(state) -> None:  # type: ignore[no-untyped-def]
        through_orm.append(" ".join(str(state.statement).split()))

    searches = [{"q": "lamp", "outcome": "in_stock"}, {"q": "lamp"}, {"q": "la"}, {"q": "tent"},
                {"outcome": "out_of_stock"}, {"outcome": "not_on_amazon"}, {"q": "lamp", "after": "LAMP-09"}]
    event.listen(OrmSession, "do_orm_execute", record)
    try:
        for search in searches:
            response = client.get(RESULTS, query_string=search, headers={"HX-Request": "true"})
            html = response.get_data(as_text=True)
            assert '<td class="sku"' in html or "No products match" in html
    finally:
        event.remove(OrmSession, "do_orm_execute", record)
    assert through_orm, "the listener saw the sign-in check"
    assert not [s for s in through_orm if re.search(r"\bFROM product\b|\bJOIN product\b", s)], through_orm


def test_the_results_table_names_the_rejected_filter_with_its_count_and_each_rows_last_sync(
    client, signed_in_as, merchant, db
) -> None:
    """The table alone counts the rejected SKUs only for that filter: its label and sync cells still show."""
    from wizard.models import ListingState, ListingStatus
    from wizard.models.base import utcnow

    add_products(db, merchant.account.id, [("LAMP-1", 5, 1999), ("LAMP-2", 5, 1999), ("TENT-1", 5, 1999)])
    now = utcnow()
    account_id = merchant.account.id
    db.add_all([
        ListingState(account_id=account_id, sku="LAMP-1", status=ListingStatus.REJECTED, sent_quantity=5,
                     sent_at=now, rejected_at=now, error_code="8541", error_message="The title is too long"),
        ListingState(account_id=account_id, sku="LAMP-2", status=ListingStatus.ACCEPTED, sent_quantity=5,
                     sent_at=now),
    ])
    db.commit()
    signed_in_as("staff")

    def table(outcome: str) -> str:
        return text_of(client.get(RESULTS, query_string={"q": "lamp", "outcome": outcome},
                                  headers={"HX-Request": "true"}).get_data(as_text=True))

    rejected = table("rejected")
    assert "1 product · Rejected by Amazon (1) matching “lamp”" in rejected
    assert "The title is too long" in rejected and "LAMP-2" not in rejected
    in_stock = table("in_stock")
    assert "2 products · Ecommerce will send as in stock matching “lamp”" in in_stock
    assert "Rejected" in in_stock and "Accepted" in in_stock and "TENT-1" not in in_stock


def test_the_catalog_page_and_its_results_table_are_marked_reads_only_and_open(
    app, client, signed_in_as, merchant, db
) -> None:
    """Both run without BEGIN/ROLLBACK on PostgreSQL; a write in either would raise."""
    add_products(db, merchant.account.id, [("LAMP-1", 5, 1999), ("TENT-1", 5, 1999)])
    signed_in_as("staff")
    search = {"q": "lamp", "outcome": "in_stock"}
    page = client.get(CATALOG, query_string=search)
    table = client.get(RESULTS, query_string=search, headers={"HX-Request": "true"})
    assert page.status_code == 200 and "LAMP-1" in page.get_data(as_text=True)
    assert table.status_code == 200 and "LAMP-1" in table.get_data(as_text=True)
    assert all(getattr(app.view_functions[name], "_reads_only", False)
               for name in ("catalog.index", "catalog.results"))


def test_a_search_under_rejected_by_amazon_lists_the_same_products_whichever_index_drives(
    client, signed_in_as, merchant, db, monkeypatch
) -> None:
    """Few rejected SKUs drive the search themselves; many, the text index: the pages and count agree."""
    from wizard.catalog import views
    from wizard.models import ListingState, ListingStatus
    from wizard.models.base import utcnow

    account_id = merchant.account.id
    add_products(db, account_id, [(f"LAMP-{i:03d}", 5, 1999) for i in range(120)]
                 + [(f"TENT-{i:03d}", 5, 1999) for i in range(10)])
    rejected = [f"LAMP-{i:03d}" for i in range(0, 120, 2)] + ["TENT-001"]
    now = utcnow()
    db.add_all([ListingState(account_id=account_id, sku=sku, status=ListingStatus.REJECTED, sent_quantity=5,
                             sent_at=now, rejected_at=now, error_code="8541") for sku in rejected])
    db.commit()
    signed_in_as("staff")

    def pages() -> tuple[list[str], str]:
        html = client.get(RESULTS, query_string={"q": "lamp", "outcome": "rejected"},
                          headers={"HX-Request": "true"}).get_data(as_text=True)
        count = text_of(html).split(" matching")[0]
        skus = re.findall(r'<td class="sku"[^>]*><span><code>([^<]+)</code>', html)
        while 'rel="next"' in html:
            html = client.get(_next_url(html)).get_data(as_text=True)
            skus += re.findall(r'<td class="sku"[^>]*><span><code>([^<]+)</code>', html)
        return skus, count

    driven_by_rejected = pages()
    monkeypatch.setattr(views, "NARROW_FILTER", 0)  # as with more rejected SKUs than that
    driven_by_text = pages()
    assert driven_by_rejected == driven_by_text
    assert driven_by_rejected[0] == rejected[:-1]  # every rejected lamp once, in SKU order; no tent
    assert "60 products · Rejected by Amazon (61)" in driven_by_rejected[1]
