"""Reports API 2021-06-30 for ``GET_MERCHANT_LISTINGS_ALL_DATA``: create, follow, download.

A report moves IN_QUEUE → IN_PROGRESS → DONE, each phase ``processing_delay / time_scale`` seconds (as
feeds). Its file is written when processing starts, on a thread, a chunk of listings at a time and straight
into a gzip file on disk, so a seller with a million listings never has the report in memory. The file is the
tab-delimited flat file Amazon documents (FACTS.md §i), GZIP-compressed as ``compressionAlgorithm`` says.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, request

from sandbox import get_store
from sandbox.listings import asin_of, dollars, promote_issues, status_of
from sandbox.sellers import SELLERS
from sandbox.spapi import _invalid, _not_found, operation, parse_datetime, presign
from sandbox.store import Document, Listing, Report, Store, utcnow

bp = Blueprint("reports_api", __name__)

REPORTS = "/reports/2021-06-30"
MERCHANT_LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
#: The columns of GET_MERCHANT_LISTINGS_ALL_DATA, in Amazon's order (inventory-reports-attributes).
COLUMNS = (
    "item-name", "item-description", "listing-id", "seller-sku", "price", "quantity", "open-date",
    "image-url", "item-is-marketplace", "product-id-type", "zshop-shipping-fee", "item-note",
    "item-condition",
    "zshop-category1", "zshop-browse-path", "zshop-storefront-feature", "asin1", "asin2", "asin3",
    "will-ship-internationally", "expedited-shipping", "zshop-boldface", "product-id",
    "bid-for-featured-placement", "add-delete", "pending-quantity", "fulfillment-channel",
    "merchant-shipping-group", "status",
)
REPORT_CONTENT_TYPE = "text/plain; charset=UTF-8"
#: Listings read per hold of the store's lock while a report is written.
CHUNK = 5_000
PACIFIC = ZoneInfo("America/Los_Angeles")
_CLEAN = str.maketrans({"\t": " ", "\n": " ", "\r": " "})


def _open_date(moment: datetime | None, cache: dict[datetime, str] | None = None) -> str:
    if moment is None:
        return ""
    if cache is not None and moment in cache:
        return cache[moment]
    text = moment.astimezone(PACIFIC).strftime("%Y-%m-%d %H:%M:%S %Z")  # "2026-11-29 22:37:31 PST"
    if cache is not None and len(cache) < 100_000:
        cache[moment] = text
    return text


def report_row(sku: str, listing: Listing, dates: dict[datetime, str] | None = None) -> str:
    """Return one line of the flat file for a listing."""
    asin = asin_of(sku, listing) or ""
    if listing.incomplete:
        status = "Incomplete"
    else:
        status = "Active" if "BUYABLE" in status_of(listing) else "Inactive"
    listing_id = f"{int.from_bytes(sku.encode()[:8].ljust(8, b'0'), 'big') % 10**10:010d}"
    values = (
        (listing.item_name or "").translate(_CLEAN), "", "1130" + listing_id, sku.translate(_CLEAN),
        "" if listing.price_cents is None else dollars(listing.price_cents),
        "" if listing.quantity is None else str(listing.quantity), _open_date(listing.created_at, dates),
        "", "y",
        "1" if asin else "", "", "", "11", "", "", "", asin, "", "", "", "", "", asin, "", "", "0", "DEFAULT",
        "Migrated Template", status,
    )
    return "\t".join(values) + "\n"


def write_report(store: Store, report: Report, generation: int) -> None:
    """Write the report's file (gzip, streamed) and attach it to the report as its document."""
    with store.lock:
        skus = list(store.listings.get(report.seller_id, {}))
    handle, path = tempfile.mkstemp(prefix=f"sandbox-report-{report.id}-", suffix=".txt.gz")
    rows = 0
    dates: dict[datetime, str] = {}  # open-date strings: bulk-seeded listings share a few timestamps
    with os.fdopen(handle, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6) as out:
        out.write(("\t".join(COLUMNS) + "\n").encode())
        for start in range(0, len(skus), CHUNK):
            with store.lock:
                if store.generation != generation:
                    break
                listings = store.listings.get(report.seller_id, {})
                lines = [report_row(sku, item, dates) for sku in skus[start:start + CHUNK]
                         if (item := listings.get(sku)) is not None]
            rows += len(lines)
            out.write("".join(lines).encode("utf-8"))
    with store.lock:
        if store.generation != generation:
            os.unlink(path)
            return
        document = Document(f"amzn1.spdoc.1.4.na.{report.id}.T{int(time.time())}", report.seller_id,
                            REPORT_CONTENT_TYPE, "report", time.monotonic(), compressed=True, path=path)
        store.documents[document.id] = document
        report.document_id, report.rows, report.generating = document.id, rows, False


def advance(store: Store, report: Report) -> None:
    """Move a report along its phases as time passes (the caller holds the lock)."""
    if report.status in ("DONE", "CANCELLED", "FATAL"):
        return
    elapsed = (time.monotonic() - report.created) * store.time_scale
    if store.paused:
        return
    if report.status == "IN_QUEUE" and elapsed >= store.processing_delay:
        report.status, report.started_at, report.generating = "IN_PROGRESS", utcnow(), True
        promote_issues(store)
        threading.Thread(target=write_report, args=(store, report, store.generation),
                         name=f"sandbox-report-{report.id}", daemon=True).start()
    if report.status == "IN_PROGRESS" and elapsed >= 2 * store.processing_delay and report.document_id:
        report.status, report.ended_at = "DONE", utcnow()


def _report(store: Store, seller_id: str, report_id: str) -> Report | None:
    report = store.reports.get(report_id)
    return report if report is not None and report.seller_id == seller_id else None


@bp.post(f"{REPORTS}/reports")
@operation("createReport")
def create_report(seller_id: str, body: dict[str, Any]) -> tuple[int, Any]:
    """Queue a report (the sandbox produces GET_MERCHANT_LISTINGS_ALL_DATA)."""
    store = get_store()
    if body["reportType"] != MERCHANT_LISTINGS:
        store.violation("createReport", f"reportType {body['reportType']} is not produced by the sandbox")
        return 400, _invalid("Invalid reportType.", f"The sandbox produces {MERCHANT_LISTINGS} only.")
    participating = {m["id"] for m in SELLERS[seller_id].marketplaces}
    foreign = [m for m in body["marketplaceIds"] if m not in participating]
    if foreign:
        return 400, _invalid("Invalid marketplaceIds.",
                             f"The seller does not participate in {', '.join(foreign)}.")
    for name in ("dataStartTime", "dataEndTime"):
        if name in body and parse_datetime(str(body[name])) is None:
            store.violation("createReport", f"{name} {body[name]!r} is not an ISO 8601 date-time")
            return 400, _invalid(f"Invalid {name}.")
    with store.lock:
        report = Report(store.new_report_id(), seller_id, body["reportType"], list(body["marketplaceIds"]),
                        utcnow(), time.monotonic())
        store.reports[report.id] = report
    return 202, {"reportId": report.id}


@bp.get(f"{REPORTS}/reports/<reportId>")
@operation("getReport")
def get_report(seller_id: str, body: Any, reportId: str) -> tuple[int, Any]:  # noqa: N803
    """Return a report's processing state (and its document ID once DONE)."""
    store = get_store()
    with store.lock:
        report = _report(store, seller_id, reportId)
        if report is None:
            return 404, _not_found(f"Report {reportId} was not found.")
        advance(store, report)
        return 200, report.as_model()


@bp.get(f"{REPORTS}/reports")
@operation("getReports")
def get_reports(seller_id: str, body: Any) -> tuple[int, Any]:
    """List the seller's reports, newest first, filtered by type and status (one page)."""
    store = get_store()
    types = set(request.args.get("reportTypes", "").split(",")) - {""}
    statuses = set(request.args.get("processingStatuses", "").split(",")) - {""}
    size = int(request.args.get("pageSize") or 10)
    with store.lock:
        found = []
        for report in reversed(store.reports.values()):
            if report.seller_id != seller_id:
                continue
            advance(store, report)
            if (not types or report.report_type in types) and (not statuses or report.status in statuses):
                found.append(report.as_model())
        return 200, {"reports": found[:size]}


@bp.delete(f"{REPORTS}/reports/<reportId>")
@operation("cancelReport")
def cancel_report(seller_id: str, body: Any, reportId: str) -> tuple[int, Any]:  # noqa: N803
    """Cancel a report that is still IN_QUEUE."""
    store = get_store()
    with store.lock:
        report = _report(store, seller_id, reportId)
        if report is None:
            return 404, _not_found(f"Report {reportId} was not found.")
        advance(store, report)
        if report.status != "IN_QUEUE":
            return 400, _invalid(f"Report {reportId} cannot be cancelled: its processingStatus is "
                                 f"{report.status}.")
        report.status, report.ended_at = "CANCELLED", utcnow()
    return 200, None


@bp.get(f"{REPORTS}/documents/<reportDocumentId>")
@operation("getReportDocument")
def get_report_document(seller_id: str, body: Any, reportDocumentId: str) -> tuple[int, Any]:  # noqa: N803
    """Return a presigned URL for a report file; the file is GZIP, as ``compressionAlgorithm`` says."""
    store = get_store()
    with store.lock:
        document = store.documents.get(reportDocumentId)
        if document is None or document.seller_id != seller_id or document.kind != "report":
            return 404, _not_found(f"Report document {reportDocumentId} was not found.")
    encoding = request.args.get("enableContentEncodingUrlHeader") == "true"
    return 200, {"reportDocumentId": reportDocumentId, "compressionAlgorithm": "GZIP",
                 "url": presign("download", reportDocumentId, gzip_header=encoding)}


def file_chunks(path: str, size: int = 256 * 1024) -> Iterator[bytes]:
    """Yield a file's bytes a chunk at a time (the fake S3 streams report files)."""
    with open(path, "rb") as handle:
        while chunk := handle.read(size):
            yield chunk
