"""Upserting products: CSV files from the browser and items from the JSON API share one validator and writer.

Rows are checked one by one; bad rows are reported with their line (or index) and reason and never written;
good rows are upserted by SKU in chunks with ``INSERT ... ON CONFLICT(account_id, sku) DO UPDATE``. Each chunk
is one transaction, so a row is either fully written or not at all, even if the process dies mid-import.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from sqlalchemy import text
from sqlalchemy.engine import Connection as DBConnection
from sqlmodel import Session

from wizard.db import engine_for, session_scope
from wizard.models.base import utcnow
from wizard.models.catalog import SKU_MAX_LENGTH, TITLE_MAX_LENGTH, CatalogImport
from wizard.rules import parse_usd
from wizard.tasks import schedule_sync_soon

log = logging.getLogger(__name__)

#: Rows per transaction: large enough for speed, small enough for a smooth progress bar.
CHUNK_ROWS = 5_000
#: Bad rows kept for display; the count covers them all.
MAX_REPORTED_ERRORS = 1_000
MAX_UNITS = 100_000_000
REQUIRED_COLUMNS = ("sku", "available", "price")
#: An import whose thread has not reported for this long was interrupted (the web process restarted).
STALE_AFTER_SECONDS = 120


@dataclass(frozen=True)
class Row:
    """One valid product row; ``title`` None keeps the stored title, ``price_cents`` None keeps the price."""

    sku: str
    title: str | None
    available: int | None
    price_cents: int | None


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
    """Return a whole number of units ≥ 0 or raise ``ValueError``."""
    if isinstance(raw, bool):
        raise ValueError("Units available must be a whole number, like 12.")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        value = int(raw.strip())
    elif isinstance(raw, str) and not raw.strip():
        raise ValueError("Units available is missing.")
    else:
        raise ValueError(f"Units available must be a whole number, like 12 (got {str(raw)[:20]!r}).")
    if value < 0:
        raise ValueError(f"Units available can't be negative (got {value}); use 0 for out of stock.")
    if value > MAX_UNITS:
        raise ValueError(f"Units available is larger than {MAX_UNITS:,}; check the number.")
    return value


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
    except ValueError as exc:
        message = str(exc)
        if "negative" in message:
            message = "The price can't be negative."
        elif not raw.strip():
            message = "The price is missing."
        raise ValueError(f"{message} (got {raw[:20]!r})" if raw.strip() else message) from None


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


# ---- writing --------------------------------------------------------------------------------

_UPSERT = text(
    "INSERT INTO product (account_id, sku, title, available, price_cents, updated_at) "
    "VALUES (:account_id, :sku, COALESCE(:title, ''), :available, :price_cents, :now) "
    "ON CONFLICT (account_id, sku) DO UPDATE SET "
    "title = COALESCE(:title, product.title), "
    "available = excluded.available, price_cents = excluded.price_cents, updated_at = excluded.updated_at"
)


def write_rows(connection: DBConnection, account_id: int, rows: list[Row]) -> int:
    """Upsert complete rows (available and price known) in the caller's transaction; return how many."""
    if not rows:
        return 0
    now = utcnow()
    connection.execute(_UPSERT, [
        {"account_id": account_id, "sku": row.sku, "title": row.title, "available": row.available,
         "price_cents": row.price_cents, "now": now}
        for row in rows
    ])
    return len(rows)


def existing_values(connection: DBConnection, account_id: int, skus: list[str]) -> dict[str, tuple[int, int]]:
    """Return ``sku -> (available, price_cents)`` for the SKUs already in the catalog."""
    found: dict[str, tuple[int, int]] = {}
    for start in range(0, len(skus), 500):
        part = skus[start:start + 500]
        marks = ", ".join(f":s{i}" for i in range(len(part)))
        params: dict[str, Any] = {f"s{i}": sku for i, sku in enumerate(part)}
        params["account_id"] = account_id
        result = connection.execute(
            text(f"SELECT sku, available, price_cents FROM product WHERE account_id = :account_id "  # noqa: S608
                 f"AND sku IN ({marks})"), params)
        found.update({sku: (available, price) for sku, available, price in result})
    return found


# ---- CSV ------------------------------------------------------------------------------------

def _header(reader: Iterator[list[str]]) -> dict[str, int]:
    try:
        header = next(reader)
    except StopIteration:
        raise FileRefused(
            "The file is empty. The first line must be the header: sku,title,available,price") from None
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
    be guessed, and the first one wins.
    """
    reader = csv.reader(lines)
    columns = _header(reader)
    i_sku, i_available, i_price = columns["sku"], columns["available"], columns["price"]
    i_title = columns.get("title")
    width = max(columns.values()) + 1
    seen: dict[str, int] = {}
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) < width:
            values = values + [""] * (width - len(values))
        raw_sku = values[i_sku]
        sku: str | None = raw_sku.strip() or None
        try:
            sku = check_sku(raw_sku)
        except ValueError as exc:
            yield RowError(line, sku, "sku", str(exc))
            continue
        if sku in seen:
            yield RowError(line, sku, "sku",
                           f"This SKU is already on line {seen[sku]}; only that line is imported.")
            continue
        seen[sku] = line
        try:
            field_name = "available"
            available = check_available(values[i_available])
            field_name = "price"
            price = check_price(values[i_price])
            field_name = "title"
            title = check_title(values[i_title]) if i_title is not None else None
        except ValueError as exc:
            yield RowError(line, sku, field_name, str(exc))
            continue
        yield Row(sku, title, available, price)


def count_data_lines(data: bytes) -> int:
    """Return the number of lines after the header (for the progress bar; quoted line breaks overcount)."""
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    return max(lines - 1, 0)


def decode(data: bytes) -> str:
    """Decode an uploaded file as UTF-8 (with or without a byte-order mark)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRefused(
            f"The file is not UTF-8 text (a problem near byte {exc.start}). In your spreadsheet, choose "
            "“CSV UTF-8” when you save it."
        ) from None


@dataclass
class Progress:
    """What an import has done so far."""

    processed: int = 0
    written: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0


def import_csv(database_url: str, account_id: int, data: bytes, *, chunk_rows: int = CHUNK_ROWS,
               on_chunk: Any = None) -> Progress:
    """Import ``data`` into the account's catalog; call ``on_chunk(progress)`` after each committed chunk."""
    content = decode(data)
    progress = Progress()
    engine = engine_for(database_url)
    pending: list[Row] = []

    def flush() -> None:
        with engine.begin() as connection:  # one transaction per chunk: whole rows or nothing
            progress.written += write_rows(connection, account_id, pending)
        pending.clear()
        if on_chunk is not None:
            on_chunk(progress)

    for item in parse_csv(io.StringIO(content, newline="")):
        progress.processed += 1
        if isinstance(item, RowError):
            progress.error_count += 1
            if len(progress.errors) < MAX_REPORTED_ERRORS:
                progress.errors.append(item)
            continue
        pending.append(item)
        if len(pending) >= chunk_rows:
            flush()
    flush()
    return progress


def run_import(database_url: str, import_id: int, data: bytes, app: Flask | None = None) -> None:
    """Run one recorded import to the end, reporting progress on its ``CatalogImport`` row.

    ``app`` gives the thread an app context, so scheduling the sync afterwards reads the app's configuration.
    """
    if app is not None:
        with app.app_context():
            return run_import(database_url, import_id, data)
    with session_scope(database_url) as session:
        job = session.get(CatalogImport, import_id)
        assert job is not None
        account_id = job.account_id

        def report(progress: Progress) -> None:
            _save_progress(session, job, progress)

        try:
            progress = import_csv(database_url, account_id, data, on_chunk=report)
        except FileRefused as exc:
            job.status, job.message = "failed", str(exc)
        except Exception:
            log.exception("catalog import %s failed", import_id)
            job.status = "failed"
            job.message = ("The import stopped because of an error on our side. Rows already imported are "
                           "saved in full; import the file again to finish (rows are matched by SKU, so "
                           "nothing doubles).")
        else:
            _save_progress(session, job, progress)
            job.status = "done"
            if progress.written:
                schedule_sync_soon(account_id)
        job.finished_at = job.updated_at = utcnow()
        session.add(job)
        session.commit()


def _save_progress(session: Session, job: CatalogImport, progress: Progress) -> None:
    job.processed_rows = progress.processed
    job.written_rows = progress.written
    job.error_count = progress.error_count
    job.errors_json = json.dumps([e.as_dict() for e in progress.errors])
    job.updated_at = utcnow()
    session.add(job)
    session.commit()


def start_import(session: Session, database_url: str, *, account_id: int, user_id: int | None, filename: str,
                 data: bytes) -> CatalogImport:
    """Record an import and run it on a background thread; the page polls its progress."""
    job = CatalogImport(account_id=account_id, user_id=user_id, filename=filename[:255],
                        total_rows=count_data_lines(data))
    session.add(job)
    session.commit()
    assert job.id is not None
    # Flask types ``current_app`` as the app itself, not the LocalProxy it is, which has this method.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    thread = threading.Thread(target=run_import, args=(database_url, job.id, data, app), daemon=True,
                              name=f"catalog-import-{job.id}")
    thread.start()
    return job


def is_stale(job: CatalogImport) -> bool:
    """Return whether a running import stopped reporting (its process was restarted)."""
    return job.status == "running" and (utcnow() - job.updated_at).total_seconds() > STALE_AFTER_SECONDS


__all__ = ["FileRefused", "Row", "RowError", "import_csv", "parse_csv", "run_import", "start_import"]
