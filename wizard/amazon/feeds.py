"""The Feeds API 2021-06-30: create and upload a feed document, submit it, follow it, read its report.

Plain values in, typed results out; every HTTP exchange goes through ``AmazonClient`` (SP-API calls with
rate limiting, token refresh and retries) or its ``transfer`` (presigned document URLs, which take no access
token).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from wizard.amazon.errors import AmazonRequestError

if TYPE_CHECKING:
    from wizard.amazon.client import AmazonClient, SellerAuth

FEEDS = "/feeds/2021-06-30"
#: The largest processing report we read, decompressed. A JSON_LISTINGS_FEED report of 25,000 messages is a
#: few MiB; anything near this is not a report we can use, and reading on would only exhaust memory.
MAX_REPORT_BYTES = 200 * 1024 * 1024
#: How much of a download is read (and inflated) at a time.
_CHUNK = 256 * 1024
#: Terminal processing statuses: Amazon will not change the feed any more.
TERMINAL_STATUSES = frozenset({"DONE", "CANCELLED", "FATAL"})


@dataclass(frozen=True)
class FeedDocumentUpload:
    """Where to upload a feed document (the URL expires after 5 minutes)."""

    feed_document_id: str
    url: str


@dataclass(frozen=True)
class Feed:
    """A feed's processing state."""

    feed_id: str
    feed_type: str
    processing_status: str
    created_time: datetime | None
    result_feed_document_id: str | None

    @property
    def finished(self) -> bool:
        """Return whether Amazon is done with the feed (DONE, CANCELLED or FATAL)."""
        return self.processing_status in TERMINAL_STATUSES


@dataclass(frozen=True)
class FeedDocument:
    """Where to download a document, and whether it is gzipped."""

    feed_document_id: str
    url: str
    compression_algorithm: str | None


@dataclass(frozen=True)
class ReportIssue:
    """One issue of a processing report."""

    message_id: int | None
    sku: str | None
    code: str
    severity: str
    message: str


@dataclass(frozen=True)
class ProcessingReport:
    """A JSON_LISTINGS_FEED processing report, reduced to what the sync uses."""

    issues: list[ReportIssue]
    summary: dict[str, Any]

    def rejected(self) -> dict[int, ReportIssue]:
        """Return the first ERROR issue of each rejected message, by ``messageId``."""
        found: dict[int, ReportIssue] = {}
        for issue in self.issues:
            if issue.severity == "ERROR" and issue.message_id is not None:
                found.setdefault(issue.message_id, issue)
        return found


def _parse_time(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is None else parsed.astimezone(UTC).replace(tzinfo=None)


def _feed(body: dict[str, Any]) -> Feed:
    return Feed(
        feed_id=str(body["feedId"]),
        feed_type=str(body.get("feedType", "")),
        processing_status=str(body.get("processingStatus", "")),
        created_time=_parse_time(body.get("createdTime")),
        result_feed_document_id=body.get("resultFeedDocumentId"),
    )


class FeedsApi:
    """The Feeds API operations the sync needs."""

    def __init__(self, client: AmazonClient, *, max_report_bytes: int = MAX_REPORT_BYTES) -> None:
        self.client = client
        self.max_report_bytes = max_report_bytes

    def create_feed_document(self, seller: SellerAuth, content_type: str) -> FeedDocumentUpload:
        """Reserve a document and return its id and upload URL (``createFeedDocument``)."""
        body = self.client.call(seller, "createFeedDocument", "POST", f"{FEEDS}/documents",
                                json={"contentType": content_type}).json()
        return FeedDocumentUpload(feed_document_id=str(body["feedDocumentId"]), url=str(body["url"]))

    def upload(self, upload: FeedDocumentUpload, content: bytes, content_type: str) -> None:
        """Upload the document bytes with the same content type (no access token goes to the URL)."""
        self.client.transfer("uploadFeedDocument", "PUT", upload.url, data=content,
                             headers={"Content-Type": content_type})

    def create_feed(self, seller: SellerAuth, feed_document_id: str, *, feed_type: str,
                    marketplace_ids: list[str]) -> str:
        """Submit an uploaded document for processing and return the ``feedId`` (``createFeed``)."""
        body = self.client.call(seller, "createFeed", "POST", f"{FEEDS}/feeds", json={
            "feedType": feed_type, "marketplaceIds": marketplace_ids, "inputFeedDocumentId": feed_document_id,
        }).json()
        return str(body["feedId"])

    def get_feed(self, seller: SellerAuth, feed_id: str) -> Feed:
        """Return a feed's processing state (``getFeed``)."""
        return _feed(self.client.call(seller, "getFeed", "GET", f"{FEEDS}/feeds/{feed_id}").json())

    def get_feeds(self, seller: SellerAuth, *, feed_type: str, created_since: datetime) -> list[Feed]:
        """Return the feeds of ``feed_type`` created since ``created_since`` (``getFeeds``, all pages)."""
        params: dict[str, Any] = {"feedTypes": feed_type, "pageSize": 100,
                                  "createdSince": created_since.strftime("%Y-%m-%dT%H:%M:%SZ")}
        feeds: list[Feed] = []
        while True:
            body = self.client.call(seller, "getFeeds", "GET", f"{FEEDS}/feeds", params=params).json()
            feeds.extend(_feed(item) for item in body.get("feeds") or [])
            token = body.get("nextToken")
            if not token:
                return feeds
            params = {"nextToken": token}

    def get_feed_document(self, seller: SellerAuth, feed_document_id: str) -> FeedDocument:
        """Return where to download a document (``getFeedDocument``)."""
        body = self.client.call(seller, "getFeedDocument", "GET",
                                f"{FEEDS}/documents/{feed_document_id}").json()
        return FeedDocument(feed_document_id=str(body["feedDocumentId"]), url=str(body["url"]),
                            compression_algorithm=body.get("compressionAlgorithm"))

    def download(self, document: FeedDocument) -> bytes:
        """Download a document as a stream, un-gzipping it when compressed, up to ``max_report_bytes``.

        The body is read and inflated a chunk at a time, and the inflater is never asked for more than the
        room left under the cap, so a small gzip that would inflate to gigabytes stops at the cap with
        ``AmazonRequestError(code="report_too_large")``.
        """
        response = self.client.transfer("downloadFeedDocument", "GET", document.url, stream=True)
        out = bytearray()
        inflater: Any = None
        try:
            for chunk in response.iter_content(_CHUNK):
                if inflater is None:
                    gzipped = document.compression_algorithm == "GZIP" or chunk[:2] == b"\x1f\x8b"
                    # wbits 16 + MAX_WBITS: a gzip header and trailer around a deflate stream.
                    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else False
                if inflater is False:
                    out += chunk
                    self._check_size(len(out))
                    continue
                data = chunk
                while data:
                    room = self.max_report_bytes - len(out) + 1
                    out += inflater.decompress(data, room)
                    self._check_size(len(out))
                    data = inflater.unconsumed_tail
        except zlib.error:
            raise AmazonRequestError("The document is not valid gzip", code="invalid_report") from None
        finally:
            response.close()
        if inflater:
            out += inflater.flush()
            self._check_size(len(out))
        return bytes(out)

    def _check_size(self, size: int) -> None:
        if size > self.max_report_bytes:
            raise AmazonRequestError(f"The document is larger than {self.max_report_bytes:,} bytes once "
                                     "decompressed; refusing to read on", code="report_too_large")

    def processing_report(self, seller: SellerAuth, result_feed_document_id: str) -> ProcessingReport:
        """Fetch and parse a JSON_LISTINGS_FEED processing report."""
        raw = self.download(self.get_feed_document(seller, result_feed_document_id))
        try:
            body = json.loads(raw)
        except ValueError:
            raise AmazonRequestError("The processing report is not JSON", code="invalid_report") from None
        issues = []
        for item in body.get("issues") or []:
            message_id = item.get("messageId")
            issues.append(ReportIssue(
                message_id=int(message_id) if str(message_id).isdigit() else None,
                sku=item.get("sku"), code=str(item.get("code", "")),
                severity=str(item.get("severity", "ERROR")), message=str(item.get("message", "")),
            ))
        return ProcessingReport(issues=issues, summary=dict(body.get("summary") or {}))


__all__ = ["Feed", "FeedDocument", "FeedDocumentUpload", "FeedsApi", "ProcessingReport", "ReportIssue"]
