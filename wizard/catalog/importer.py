"""Upserting products: CSV files from the browser and items from the JSON API share one validator and writer.

Rows are checked one by one (:class:`Validator`); bad rows are reported with their line (or index) and reason
and never written; good rows are merged with what the catalog holds (:func:`merge_with_existing`, for the
API's partial items) and upserted by SKU in chunks with ``INSERT ... ON CONFLICT(account_id, sku) DO UPDATE``.
Each chunk is one transaction, so a row is either fully written or not at all, even if the process dies.
On PostgreSQL a CSV chunk travels by ``COPY`` into a temporary table first (:func:`copy_rows`, several times
faster than ``executemany``: ``bench/bench_import_copy.py``). On SQLite a CSV chunk goes into a temporary
table, its known SKUs are upserted from there, and its new SKUs are inserted in one statement with the
histograms and the search index maintained once per chunk (:func:`bulk_rows`,
:mod:`wizard.models.catalog_bulk`) instead of by a trigger per row: 100,000 new rows in 7 s instead of 20 s
(``bench/bench_settings_catalog.py``).

A CSV import is stored first (a file under ``IMPORT_DIR``) and run by the ``import_catalog`` RQ job, which
reads the file as a stream: memory stays bounded whatever the file size. An interrupted import resumes where
its last committed chunk ended (RQ retries an abandoned job), or shows as interrupted with what was saved.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
    Text,
    case,
    exists,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection as DBConnection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from wizard.db import engine_for, session_scope, table_of
from wizard.models import catalog_search, catalog_stats
from wizard.models.base import utcnow
from wizard.models.catalog import SKU_MAX_LENGTH, TITLE_MAX_LENGTH, CatalogImport, Product
from wizard.models.catalog_bulk import BULK_TABLE
from wizard.rules import NumberError, parse_usd, parse_whole_number

log = logging.getLogger(__name__)

#: Rows per transaction: large enough for speed, small enough for a smooth progress bar.
CHUNK_ROWS = 5_000
#: Bad rows kept for display; the count covers them all.
MAX_REPORTED_ERRORS = 1_000
MAX_UNITS = 100_000_000
REQUIRED_COLUMNS = ("sku", "available", "price")
#: A running import that has not reported for this long was interrupted (its worker died for good).
STALE_AFTER_SECONDS = 600
#: Python's csv module refuses a field longer than this; such a line is a bad row, not a failed import.
MAX_FIELD_CHARS = csv.field_size_limit()
#: Bytes read from the stored file at a time.
READ_BYTES = 1024 * 1024
#: Rows written from which an import refreshes the statistics of `product` (:func:`analyze_catalog`).
ANALYZE_AFTER_ROWS = 10_000


@dataclass(frozen=True)
class Row:
    """One valid product, from a file line or a request index (``where``).

    ``title`` None keeps the stored title; ``available`` or ``price_cents`` None keeps the stored value.
    """

    sku: str
    title: str | None
    available: int | None
    price_cents: int | None
    where: int = 0


@dataclass(frozen=True)
class RowError:
    """One bad row: where it is (file line or request index), its SKU if readable, the field and why."""

    where: int
    sku: str | None
    field: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """Return the error for JSON (the CSV report uses "line")."""
        return {"line": self.where, "sku": self.sku, "field": self.field, "reason": self.reason}


class FileRefused(ValueError):
    """The whole file cannot be imported (not UTF-8, no header, a required column missing)."""


class ImportRefused(ValueError):
    """An import cannot start now (another one of the same account is running)."""


class ImportNotQueued(ImportRefused):
    """The file could not be stored or queued (a full disk, Redis down): nothing was imported."""


# ---- checking one value -------------------------------------------------------------------------

def _shown(raw: Any) -> str:
    return repr(str(raw)[:20])


def check_sku(raw: Any) -> str:
    """Return a cleaned SKU or raise ``ValueError`` saying what is wrong with it."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ValueError("The SKU is missing.")
    if not isinstance(raw, str):
        raise ValueError("The SKU must be text.")
    sku = raw.strip()
    if len(sku) > SKU_MAX_LENGTH:
        raise ValueError(f"The SKU is {len(sku)} characters long; Amazon allows at most {SKU_MAX_LENGTH}.")
    if any(ord(c) < 32 for c in sku):
        raise ValueError("The SKU contains control characters (tabs or line breaks).")
    return sku


def check_available(raw: Any) -> int:
    """Return a whole number of units ≥ 0 (text or a JSON integer) or raise ``ValueError``."""
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ValueError("Units available must be a whole number, like 12.")
    try:
        return parse_whole_number(str(raw), maximum=MAX_UNITS)
    except NumberError as exc:
        if exc.kind == "missing":
            raise ValueError("Units available is missing.") from None
        if exc.kind == "negative":
            raise ValueError(f"Units available can't be negative (got {_shown(raw)}); use 0 for out of "
                             "stock.") from None
        if exc.kind == "too_large":
            raise ValueError(f"Units available is larger than {MAX_UNITS:,}; check the number.") from None
        raise ValueError(f"Units available must be a whole number, like 12 (got {_shown(raw)}).") from None


def check_price(raw: Any) -> int:
    """Return a price in cents from US dollars ("19.99" or 19.99) or raise ``ValueError``."""
    if isinstance(raw, bool) or raw is None:
        raise ValueError("The price must be in US dollars, like 19.99.")
    if isinstance(raw, int | float):
        raw = repr(raw)
    if not isinstance(raw, str):
        raise ValueError("The price must be in US dollars, like 19.99.")
    try:
        return parse_usd(raw)
    except NumberError as exc:
        if exc.kind == "missing":
            raise ValueError("The price is missing.") from None
        message = "The price can't be negative." if exc.kind == "negative" else str(exc)
        raise ValueError(f"{message} (got {_shown(raw)})") from None


def check_title(raw: Any) -> str | None:
    """Return the title (None keeps the stored one) or raise ``ValueError``."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValueError("The title must be text.")
    title = raw.strip()
    if len(title) > TITLE_MAX_LENGTH:
        raise ValueError(f"The title is {len(title)} characters long; at most {TITLE_MAX_LENGTH} fit.")
    return title or None


# ---- checking one item: CSV rows and API items alike --------------------------------------------

class Validator:
    """Check items one by one, remembering the SKUs seen: the one validator of CSV rows and API items.

    ``partial`` allows an item without ``available`` or ``price`` (the API: the stored value is kept);
    ``duplicate(where)`` words the error for a SKU seen before at ``where``.
    """

    def __init__(self, *, partial: bool, duplicate: Callable[[int], str]) -> None:
        self.partial = partial
        self.duplicate = duplicate
        self.seen: dict[str, int] = {}

    def check(self, where: int, item: Mapping[str, Any]) -> Row | RowError:
        """Return the valid ``Row`` for ``item``, or the ``RowError`` naming its first bad field."""
        raw_sku = item.get("sku")
        try:
            sku = check_sku(raw_sku)
        except ValueError as exc:
            readable = raw_sku.strip()[:SKU_MAX_LENGTH] or None if isinstance(raw_sku, str) else None
            return RowError(where, readable, "sku", str(exc))
        if sku in self.seen:
            return RowError(where, sku, "sku", self.duplicate(self.seen[sku]))
        self.seen[sku] = where
        field_name = "available"
        try:
            available = check_available(item["available"]) if self._present(item, "available") else None
            field_name = "price"
            price = check_price(item["price"]) if self._present(item, "price") else None
            field_name = "title"
            title = check_title(item.get("title"))
        except ValueError as exc:
            return RowError(where, sku, field_name, str(exc))
        if available is None and price is None:
            return RowError(where, sku, None, "Send available, price, or both.")
        return Row(sku, title, available, price, where)

    def _present(self, item: Mapping[str, Any], name: str) -> bool:
        return name in item or not self.partial


# ---- merging with what exists, and writing ------------------------------------------------------

@dataclass
class Merged:
    """Complete rows ready to write, the items that could not be completed, and how many SKUs are new."""

    rows: list[Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    updated: int = 0


def existing_values(connection: DBConnection, account_id: int, skus: list[str]) -> dict[str, tuple[int, int]]:
    """Return ``sku -> (available, price_cents)`` for the SKUs already in the catalog."""
    found: dict[str, tuple[int, int]] = {}
    for start in range(0, len(skus), 500):
        part = skus[start:start + 500]
        result = connection.execute(
            select(col(Product.sku), col(Product.available), col(Product.price_cents))
            .where(col(Product.account_id) == account_id, col(Product.sku).in_(part)))
        found.update({sku: (available, price) for sku, available, price in result})
    return found


def merge_with_existing(connection: DBConnection, account_id: int, rows: list[Row], *,
                        count: bool = False) -> Merged:
    """Complete partial rows with the stored values; a new SKU needs both ``available`` and ``price``.

    ``count`` also tells new SKUs from updated ones (the API reports both), which costs a lookup of every SKU;
    without it only partial rows are looked up, so a CSV import of complete rows reads nothing.
    """
    wanted = [row.sku for row in rows if count or row.available is None or row.price_cents is None]
    existing = existing_values(connection, account_id, wanted) if wanted else {}
    merged = Merged()
    for row in rows:
        known = existing.get(row.sku)
        if known is None and (row.available is None or row.price_cents is None):
            missing = "available" if row.available is None else "price"
            merged.errors.append(RowError(row.where, row.sku, missing,
                                          f"A new SKU needs {missing}; send it too."))
            continue
        if known is not None:
            merged.updated += 1
            row = Row(row.sku, row.title, known[0] if row.available is None else row.available,
                      known[1] if row.price_cents is None else row.price_cents, row.where)
        else:
            merged.created += 1
        merged.rows.append(row)
    return merged


def _upsert(connection: DBConnection) -> Any:
    """Return ``INSERT ... ON CONFLICT (account_id, sku) DO UPDATE`` for the connection's database."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return _on_conflict_update(dialect.insert(table_of(Product)))


def _on_conflict_update(statement: Any) -> Any:
    """Add the one rule of an upsert by SKU to ``statement`` (rows, or a ``SELECT``)."""
    table = table_of(Product)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[table.c.account_id, table.c.sku],
        set_={
            # An empty title in the batch (the item had none) keeps the stored one.
            "title": _coalesce_title(table.c.title, excluded.title),
            "available": excluded.available,
            "price_cents": excluded.price_cents,
            "updated_at": excluded.updated_at,
        },
    )


def _coalesce_title(stored: Any, incoming: Any) -> Any:
    return case((incoming == "", stored), else_=incoming)


def write_rows(connection: DBConnection, account_id: int, rows: list[Row]) -> int:
    """Upsert complete rows (available and price known) in the caller's transaction; return how many."""
    if not rows:
        return 0
    now = utcnow()
    connection.execute(_upsert(connection), [
        {"account_id": account_id, "sku": row.sku, "title": row.title or "", "available": row.available,
         "price_cents": row.price_cents, "updated_at": now}
        for row in rows
    ])
    return len(rows)


#: Where :func:`copy_rows` copies a chunk: a temporary table, private to the transaction, in its own metadata
#: (``create_all`` must never see it). ``line`` keeps the file's order, so new SKUs get ids in that order.
_INCOMING = Table("incoming_product", MetaData(), Column("line", Integer), Column("sku", Text),
                  Column("title", Text), Column("available", Integer), Column("price_cents", Integer),
                  prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
_INCOMING_COLUMNS = ", ".join(column.name for column in _INCOMING.columns)


def copy_rows(connection: DBConnection, account_id: int, rows: list[Row]) -> int:
    """Upsert complete rows on PostgreSQL: ``COPY`` into a temporary table, then one upsert from it.

    The same rows end up stored as with :func:`write_rows` (the same ``ON CONFLICT`` rule), in the caller's
    transaction. The temporary table is dropped before returning, so a transaction may call this again.
    """
    if not rows:
        return 0
    _INCOMING.create(connection)
    raw = connection.connection.driver_connection  # psycopg 3: the same connection, the same transaction
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(
            f"COPY {_INCOMING.name} ({_INCOMING_COLUMNS}) FROM STDIN") as copy:
        for line, row in enumerate(rows):
            copy.write_row((line, row.sku, row.title or "", row.available, row.price_cents))
    incoming = _INCOMING.c
    source = (select(literal(account_id), incoming.sku, incoming.title, incoming.available,
                     incoming.price_cents, literal(utcnow()))
              .order_by(incoming.line))
    columns = ["account_id", "sku", "title", "available", "price_cents", "updated_at"]
    connection.execute(_on_conflict_update(postgresql.insert(table_of(Product)).from_select(columns, source)))
    _INCOMING.drop(connection)
    return len(rows)


#: The new rows of a bulk insert: those past the largest id before it (SQLite gives a new row the largest id
#: plus one, and nobody else writes meanwhile); ``:a`` is redundant but keeps the histograms' upserts exact.
_NEW_ROWS = "account_id = :a AND id > :before"


def bulk_rows(connection: DBConnection, account_id: int, rows: list[Row]) -> int:
    """Upsert complete rows on SQLite, maintaining the derived tables of new SKUs once for the chunk.

    The rows go into a temporary table; the SKUs the catalog holds are upserted from it (the same
    ``ON CONFLICT`` rule as :func:`write_rows`; the update triggers keep the histograms and the index); the
    new ones are inserted in file order (so their ids are :func:`write_rows`'s) with the insert triggers
    stepping aside, and added to the histograms and the index by one statement each
    (:mod:`wizard.models.catalog_bulk` says why this is sound). All in the caller's transaction.
    """
    if not rows:
        return 0
    _INCOMING.create(connection, checkfirst=True)  # may survive a rollback: SQLite creates it outside one
    connection.execute(_INCOMING.delete())
    connection.exec_driver_sql(
        f"INSERT INTO {_INCOMING.name} ({_INCOMING_COLUMNS}) VALUES (?, ?, ?, ?, ?)",  # noqa: S608 - constants
        [(line, row.sku, row.title or "", row.available, row.price_cents) for line, row in enumerate(rows)])
    product, incoming = table_of(Product), _INCOMING.c
    known = exists().where(product.c.account_id == account_id, product.c.sku == incoming.sku)
    columns = ["account_id", "sku", "title", "available", "price_cents", "updated_at"]
    source = select(literal(account_id), incoming.sku, incoming.title, incoming.available,
                    incoming.price_cents, literal(utcnow())).order_by(incoming.line)
    # The first write takes SQLite's write lock: what is known and the largest id stay true to the commit.
    connection.execute(_on_conflict_update(sqlite.insert(product).from_select(columns, source.where(known))))
    connection.execute(BULK_TABLE.insert().values(account_id=account_id))
    before = connection.execute(select(func.coalesce(func.max(product.c.id), 0))).scalar_one()
    added = connection.execute(product.insert().from_select(columns, source.where(~known))).rowcount
    bounds = {"a": account_id, "before": before}
    counted = connection.execute(select(func.count()).where(product.c.account_id == account_id,
                                                            product.c.id > before)).scalar_one()
    if counted != added:  # the ids ran out (2**63), so SQLite picked some at random: the set is unknown
        raise RuntimeError("the new products did not get the ids past the largest one")
    for statement in catalog_stats.add_sql(_NEW_ROWS):
        connection.execute(text(statement), bounds)
    connection.execute(text(catalog_search.index_sql(_NEW_ROWS)), bounds)
    connection.execute(BULK_TABLE.delete().where(BULK_TABLE.c.account_id == account_id))
    _INCOMING.drop(connection)
    return len(rows)


def analyze_catalog(connection: DBConnection) -> None:
    """Refresh PostgreSQL's statistics of ``product`` after a large import (nothing on SQLite).

    Until autovacuum gets to it (minutes later, or never for a table that grew by less than its threshold),
    the query planner plans the catalog search for the table as it was before the import: about 80 ms more per
    search of a 1M-product catalog. SQLite keeps no statistics unless asked, and its plans are chosen without
    them everywhere else, so it is left as it is.
    """
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"ANALYZE {table_of(Product).name}")


def write_chunk(connection: DBConnection, account_id: int, rows: list[Row]) -> int:
    """Upsert an import chunk the fastest way: ``COPY`` on PostgreSQL, :func:`bulk_rows` on SQLite."""
    if connection.dialect.name == "postgresql":
        return copy_rows(connection, account_id, rows)
    return bulk_rows(connection, account_id, rows)


# ---- CSV ------------------------------------------------------------------------------------

def _header(reader: Iterator[list[str]]) -> dict[str, int]:
    try:
        header = next(reader)
    except StopIteration:
        raise FileRefused(
            "The file is empty. The first line must be the header: sku,title,available,price") from None
    except csv.Error:
        raise FileRefused("The first line must be the header: sku,title,available,price") from None
    columns = {name.strip().lower(): index for index, name in enumerate(header)}
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise FileRefused(
            f"The header is missing the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}. "
            "The first line must be: sku,title,available,price (title is optional)."
        )
    return columns


def parse_csv(lines: Iterable[str]) -> Iterator[Row | RowError]:
    """Yield a ``Row`` or a ``RowError`` per data line; raise ``FileRefused`` for a bad header.

    A SKU repeated in the file is a bad row at its second and later lines: which of two values is right cannot
    be guessed, and the first one wins. A line the CSV reader cannot read (a field over ``MAX_FIELD_CHARS``)
    is a bad row too; the reader carries on at the next line.
    """
    reader = csv.reader(lines)
    columns = _header(reader)
    names = {name: columns[name] for name in (*REQUIRED_COLUMNS, "title") if name in columns}
    width = max(columns.values()) + 1
    validator = Validator(partial=False, duplicate=lambda line: (
        f"This SKU is already on line {line}; only that line is imported."))
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            reason = (f"A field on this line is longer than {MAX_FIELD_CHARS // 1024} KiB; check for a stray "
                      "quote mark." if "field larger" in str(exc) else f"This line is not valid CSV ({exc}).")
            yield RowError(reader.line_num, None, None, reason)
            continue
        if not any(v.strip() for v in values):
            continue
        if len(values) < width:
            values = values + [""] * (width - len(values))
        yield validator.check(reader.line_num, {name: values[index] for name, index in names.items()})


def check_utf8(path: Path) -> None:
    """Read the file as a stream and raise ``FileRefused`` if it is not UTF-8 (before anything is written)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as stream:
        while True:
            chunk = stream.read(READ_BYTES)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                raise FileRefused(
                    f"The file is not UTF-8 text (a problem near byte {offset + exc.start}). In your "
                    "spreadsheet, choose “CSV UTF-8” when you save it."
                ) from None
            if not chunk:
                return
            offset += len(chunk)


def text_lines(stream: IO[bytes]) -> Iterator[str]:
    """Yield the lines of a UTF-8 byte stream (a byte-order mark dropped), reading a piece at a time.

    ``newline=""`` keeps line ends as they are, as the csv module wants (quoted line breaks stay in fields).
    """
    with io.TextIOWrapper(stream, encoding="utf-8-sig", newline="") as text:
        yield from text


@dataclass
class Progress:
    """What an import has done so far (``processed`` counts data lines, good and bad)."""

    processed: int = 0
    written: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0


def import_csv(database_url: str, account_id: int, lines: Iterable[str], *, chunk_rows: int = CHUNK_ROWS,
               on_chunk: Callable[[Progress], None] | None = None,
               progress: Progress | None = None) -> Progress:
    """Import CSV ``lines`` into the account's catalog; call ``on_chunk(progress)`` after each chunk commits.

    ``progress`` from an interrupted run resumes it: its ``processed`` data lines are skipped (they were
    committed with the chunk that reported them), and its counts and errors go on from there.
    """
    progress = progress or Progress()
    skip = progress.processed
    written_before = progress.written
    engine = engine_for(database_url)
    pending: list[Row] = []

    def flush() -> None:
        with engine.begin() as connection:  # one transaction per chunk: whole rows or nothing
            progress.written += write_chunk(connection, account_id,
                                            merge_with_existing(connection, account_id, pending).rows)
        pending.clear()
        if on_chunk is not None:
            on_chunk(progress)

    seen = 0
    for item in parse_csv(lines):
        seen += 1
        if seen <= skip:
            continue
        progress.processed += 1
        if isinstance(item, RowError):
            progress.error_count += 1
            if len(progress.errors) < MAX_REPORTED_ERRORS:
                progress.errors.append(item)
        else:
            pending.append(item)
        if progress.processed % chunk_rows == 0:
            flush()
    flush()
    if progress.written - written_before >= ANALYZE_AFTER_ROWS:
        with engine.begin() as connection:
            analyze_catalog(connection)
    return progress


# ---- the stored upload and its job ------------------------------------------------------------

def upload_path(import_dir: str, import_id: int) -> Path:
    """Return where the upload of import ``import_id`` is stored."""
    return Path(import_dir) / f"import-{import_id}.csv"


def store_upload(stream: IO[bytes], path: Path) -> int:
    """Copy an upload to ``path`` in pieces; return how many data lines it has (for the progress bar).

    Quoted line breaks overcount, which only makes the bar finish early.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    newlines = 0
    last = b""
    with path.open("wb") as out:
        while chunk := stream.read(READ_BYTES):
            out.write(chunk)
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
    lines = newlines + (1 if last and last != b"\n" else 0)
    return max(lines - 1, 0)


def start_import(session: Session, import_dir: str, *, account_id: int, user_id: int | None, filename: str,
                 stream: IO[bytes], enqueue: Callable[[int], object]) -> CatalogImport:
    """Record an import, store its file, and hand it to ``enqueue`` (the RQ job); the page polls progress.

    Raise ``ImportRefused`` while another import of the account runs: a partial unique index allows one
    running import per account, so two requests at the same moment cannot both start one.
    """
    _expire_stale_imports(session, import_dir, account_id)
    job = CatalogImport(account_id=account_id, user_id=user_id, filename=filename[:255])
    session.add(job)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ImportRefused("Another import of your catalog is still running. Wait for it to finish (its "
                            "progress shows below), then import this file.") from None
    assert job.id is not None
    path = upload_path(import_dir, job.id)
    try:
        job.total_rows = store_upload(stream, path)
        session.add(job)
        session.commit()
        enqueue(job.id)
    except Exception as exc:
        # Without its file or its job the import would block the account's next one: close it.
        log.exception("could not queue catalog import %s", job.id)
        job.status, job.finished_at = "failed", utcnow()
        job.message = NOT_QUEUED
        session.add(job)
        session.commit()
        path.unlink(missing_ok=True)
        raise ImportNotQueued(NOT_QUEUED) from exc
    return job


def _expire_stale_imports(session: Session, import_dir: str, account_id: int) -> None:
    """Mark the account's imports that stopped reporting long ago as failed (and drop their files)."""
    cutoff = utcnow() - timedelta(seconds=STALE_AFTER_SECONDS)
    stale = [job_id for (job_id,) in session.execute(
        select(col(CatalogImport.id))
        .where(col(CatalogImport.account_id) == account_id, col(CatalogImport.status) == "running",
               col(CatalogImport.updated_at) < cutoff))]
    if not stale:
        return
    session.execute(update(table_of(CatalogImport)).where(col(CatalogImport.id).in_(stale))
                    .values(status="failed", finished_at=utcnow(), message=INTERRUPTED))
    session.commit()
    for job_id in stale:
        upload_path(import_dir, job_id).unlink(missing_ok=True)


INTERRUPTED = ("The import was interrupted. Rows already imported are saved in full; import the file again "
               "to finish (rows are matched by SKU, so nothing doubles).")
NOT_QUEUED = ("The file could not be queued for import because of an error on our side. Nothing was "
              "imported; try again in a few minutes.")
OUR_ERROR = ("The import stopped because of an error on our side. Rows already imported are saved in full; "
             "import the file again to finish (rows are matched by SKU, so nothing doubles).")


def run_import(database_url: str, import_dir: str, import_id: int,
               on_done: Callable[[int], object] | None = None) -> None:
    """Run (or resume) one recorded import to the end, reporting progress on its ``CatalogImport`` row.

    ``on_done(account_id)`` runs when rows were written (the job schedules a sync). The stored file is
    deleted once the import finished either way.
    """
    with session_scope(database_url) as session:
        job = session.get(CatalogImport, import_id)
        if job is None or job.status != "running":
            return  # already finished (a retried job after the end, or an import marked interrupted)
        path = upload_path(import_dir, import_id)
        progress = Progress(processed=job.processed_rows, written=job.written_rows,
                            error_count=job.error_count,
                            errors=[RowError(e["line"], e.get("sku"), e.get("field"), e["reason"])
                                    for e in json.loads(job.errors_json or "[]")])
        try:
            if progress.processed == 0:
                check_utf8(path)
            with path.open("rb") as stream:
                progress = import_csv(database_url, job.account_id, text_lines(stream), progress=progress,
                                      on_chunk=lambda p: _save_progress(session, job, p))
        except FileRefused as exc:
            job.status, job.message = "failed", str(exc)
        except FileNotFoundError:
            log.error("catalog import %s: its file %s is gone", import_id, path)
            job.status, job.message = "failed", INTERRUPTED
        except Exception:
            log.exception("catalog import %s failed", import_id)
            job.status, job.message = "failed", OUR_ERROR
        else:
            _save_progress(session, job, progress)
            job.status = "done"
        job.finished_at = job.updated_at = utcnow()
        session.add(job)
        session.commit()
        path.unlink(missing_ok=True)
        if job.written_rows and on_done is not None:
            on_done(job.account_id)


def _save_progress(session: Session, job: CatalogImport, progress: Progress) -> None:
    job.processed_rows = progress.processed
    job.written_rows = progress.written
    job.error_count = progress.error_count
    job.errors_json = json.dumps([e.as_dict() for e in progress.errors])
    job.updated_at = utcnow()
    session.add(job)
    session.commit()


def is_stale(job: CatalogImport) -> bool:
    """Return whether a running import stopped reporting (its worker died and RQ gave up on it)."""
    return job.status == "running" and (utcnow() - job.updated_at).total_seconds() > STALE_AFTER_SECONDS


def import_dir_of(config: Mapping[str, Any]) -> str:
    """Return the configured directory of stored uploads, absolute (the web and the worker must agree)."""
    return os.path.abspath(str(config.get("IMPORT_DIR") or "var/imports"))


__all__ = ["FileRefused", "ImportRefused", "Row", "RowError", "Validator", "analyze_catalog", "bulk_rows",
           "copy_rows", "import_csv", "merge_with_existing", "parse_csv", "run_import", "start_import",
           "write_chunk", "write_rows"]
