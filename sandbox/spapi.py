"""SP-API endpoints (Sellers API v1, Feeds API 2021-06-30) and the fake S3 behind presigned URLs.

Every operation goes through ``_handle``, which does what Amazon's front door does, in Amazon's order: the
access token (403), injected faults, the seller's usage plan (429), request validation against the model
(400/415), then the operation. Our own responses are validated against the model too.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, request
from jsonschema import Draft4Validator
from werkzeug.exceptions import HTTPException

from sandbox import get_models, get_store, public_url
from sandbox.models import Operation, errors_of, parse_parameter
from sandbox.processing import get_processor
from sandbox.sellers import SELLERS
from sandbox.store import PRESIGNED_URL_LIFETIME, Document, Feed, Store, utcnow

bp = Blueprint("spapi", __name__)
s3 = Blueprint("s3", __name__, url_prefix="/_s3")

JSON_LISTINGS_FEED = "JSON_LISTINGS_FEED"
#: "five feed submissions per five minutes" per seller for JSON_LISTINGS_FEED (changelog 2025-05-06).
JSON_LISTINGS_FEED_RATE = 1 / 60
JSON_LISTINGS_FEED_BURST = 5

#: The bucket owner for per-application limits (every seller's calls count).
APPLICATION = "*application*"
PREVIEW_APP_RATE = 20.0
PREVIEW_APP_BURST = 20

UNAUTHORIZED = {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                            "details": "The access token you provided is revoked, malformed or invalid."}]}
QUOTA_EXCEEDED = {"errors": [{"code": "QuotaExceeded",
                              "message": "You exceeded your quota for the requested resource."}]}
FAILURES = {
    500: {"errors": [{"code": "InternalFailure",
                      "message": "We encountered an internal error. Please try again."}]},
    503: {"errors": [{"code": "ServiceUnavailable",
                      "message": "Service temporarily unavailable. Please try again."}]},
}

SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
                      "Check your key and signing method.")

View = Callable[..., tuple[int, Any]]


def _invalid(message: str, details: str = "") -> dict[str, Any]:
    error = {"code": "InvalidInput", "message": message}
    if details:
        error["details"] = details
    return {"errors": [error]}


def _not_found(message: str) -> dict[str, Any]:
    return {"errors": [{"code": "NotFound", "message": message}]}


def operation(operation_id: str) -> Callable[[View], Callable[..., Response]]:
    """Serve ``operation_id`` with a view ``(seller_id, body, **path) -> (status, body)``."""

    def decorate(view: View) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapper(**path: Any) -> Response:
            return _handle(operation_id, view, path)

        return wrapper

    return decorate


def _handle(operation_id: str, view: View, path: dict[str, Any]) -> Response:
    store, op = get_store(), get_models().operations[operation_id]
    request_id = str(uuid.uuid4())
    store.count_call(operation_id)
    _check_headers(store, operation_id)
    token = request.headers.get("x-amz-access-token", "")
    seller_id = store.seller_for_access_token(token) if token else None
    if seller_id is None:
        return _respond(store, op, 403, UNAUTHORIZED, request_id, rate=None)
    if "sellerId" in path and path["sellerId"] != seller_id:
        # A Listings path names a seller: a token of another seller may not act for it (issue 8 relies on it).
        return _respond(store, op, 403, UNAUTHORIZED, request_id, rate=None)
    failure = store.take_fault(operation_id)
    if failure == 429:
        with store.lock:
            store.throttled[operation_id] += 1
        return _respond(store, op, 429, QUOTA_EXCEEDED, request_id, rate=None)
    if failure is not None:
        return _respond(store, op, failure, FAILURES.get(failure, FAILURES[500]), request_id, rate=None)
    bucket, rate, burst = _usage_plan(op)
    if not store.allow(seller_id, bucket, rate, burst) or not _application_allows(store, op):
        with store.lock:
            store.throttled[operation_id] += 1
        return _respond(store, op, 429, QUOTA_EXCEEDED, request_id, rate=None)
    with store.lock:
        scaled = rate * store.time_scale
    status_problem = _check_request(store, op)
    if status_problem is not None:
        status, problems = status_problem
        store.violation(operation_id, "; ".join(problems))
        return _respond(store, op, status, _invalid("Invalid request.", "; ".join(problems)), request_id,
                        rate=scaled)
    body = request.get_json(silent=True) if op.body is not None else None
    status, payload = view(seller_id, body, **path)
    lost = store.take_fault(operation_id, after=True)
    if lost is not None:  # the call took effect; its answer does not arrive
        return _respond(store, op, lost, FAILURES.get(lost, FAILURES[500]), request_id, rate=scaled)
    return _respond(store, op, status, payload, request_id, rate=scaled)


def _check_headers(store: Store, operation_id: str) -> None:
    agent = request.headers.get("User-Agent", "")
    if not agent or agent.startswith("python-requests/"):
        store.violation(operation_id, f"User-Agent {agent!r}: Amazon requires AppName/Version (Language=…)")
    elif len(agent) > 500:
        store.violation(operation_id, "User-Agent longer than 500 characters")
    if not request.headers.get("x-amz-access-token"):
        store.violation(operation_id, "x-amz-access-token header missing")


def _usage_plan(op: Operation) -> tuple[str, float, int]:
    """Return the bucket name, rate and burst for this call."""
    if op.operation_id == "createFeed":
        body = request.get_json(silent=True)
        if isinstance(body, dict) and body.get("feedType") == JSON_LISTINGS_FEED:
            return f"createFeed:{JSON_LISTINGS_FEED}", JSON_LISTINGS_FEED_RATE, JSON_LISTINGS_FEED_BURST
    return op.operation_id, op.rate, op.burst


def parse_datetime(raw: str) -> datetime | None:
    """Parse an ISO 8601 date-time with a zone (``Z`` or an offset); None when it is not one."""
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _application_allows(store: Store, op: Operation) -> bool:
    """Apply the per-application limits that sit above the per-seller plans.

    "Validation previews are limited to 20 rps per application" (FACTS.md §g), whichever seller they are for.
    """
    if op.operation_id == "patchListingsItem" and request.args.get("mode") == "VALIDATION_PREVIEW":
        return store.allow(APPLICATION, "patchListingsItem:VALIDATION_PREVIEW", PREVIEW_APP_RATE,
                           PREVIEW_APP_BURST)
    return True


def _check_request(store: Store, op: Operation) -> tuple[int, list[str]] | None:
    """Check query parameters and body against the model; return (status, problems) when invalid."""
    problems = []
    declared = {p.name: p for p in op.parameters if p.location == "query"}
    for name in request.args:
        if name not in declared:
            problems.append(f"query parameter {name!r} is not part of {op.operation_id}")
    for param in declared.values():
        raw = request.args.get(param.name)
        if raw is None:
            if param.required:
                problems.append(f"query parameter {param.name!r} is required")
            continue
        value = parse_parameter(param, raw)
        problems += [f"{param.name}: {m}" for m in errors_of(Draft4Validator(param.schema), value)]
        if param.schema.get("format") == "date-time" and parse_datetime(raw) is None:
            problems.append(f"{param.name}: {raw!r} is not an ISO 8601 date-time")
    if op.operation_id == "getFeeds" and ("feedTypes" in request.args) == ("nextToken" in request.args):
        problems.append("getFeeds needs either feedTypes or nextToken (and nextToken alone)")
    if op.body is None:
        if request.get_data():
            problems.append(f"{op.operation_id} takes no request body")
        return (400, problems) if problems else None
    if request.mimetype != "application/json":
        return 415, [f"Content-Type {request.content_type!r}; the SP-API expects application/json"]
    body = request.get_json(silent=True)
    if body is None:
        return 400, ["the request body is not valid JSON"]
    problems += [f"body {m}" for m in errors_of(op.body, body)]
    known = op.body.schema.get("properties", {})
    if isinstance(body, dict) and known:
        problems += [f"body property {k!r} is not in the model" for k in body if k not in known]
    return (400, problems) if problems else None


def _respond(store: Store, op: Operation, status: int, payload: Any, request_id: str,
             *, rate: float | None) -> Response:
    validator = op.responses.get(status)
    if status not in op.responses:
        store.violation(op.operation_id, f"sandbox bug: status {status} is not in the model")
    elif validator is not None:
        for message in errors_of(validator, payload):
            store.violation(op.operation_id, f"sandbox bug: response does not match the model: {message}")
    elif payload is not None:
        store.violation(op.operation_id, f"sandbox bug: status {status} has no body in the model")
    text = "" if payload is None else json.dumps(payload)
    response = Response(text, status=status, mimetype="application/json")
    response.headers["x-amzn-RequestId"] = request_id
    if rate is not None and status in op.rate_limit_statuses and status not in (401, 403, 429):
        response.headers["x-amzn-RateLimit-Limit"] = f"{rate:g}"
    return response


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def _unknown_operation(error: HTTPException) -> Response | HTTPException:
    """Answer unknown SP-API paths with 404 and record them: our code must only call real operations."""
    if not request.path.startswith(("/sellers/", "/feeds/", "/listings/", "/reports/")):
        return error
    get_store().violation("unknown", f"{request.method} {request.path} is not an operation of the sandbox")
    response = Response(json.dumps(_not_found("Resource not found.")), status=404,
                        mimetype="application/json")
    response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
    return response


# ---- Sellers API v1 --------------------------------------------------------------------------------


@bp.get("/sellers/v1/marketplaceParticipations")
@operation("getMarketplaceParticipations")
def marketplace_participations(seller_id: str, body: Any) -> tuple[int, Any]:
    """Return the marketplaces the seller participates in."""
    return 200, {"payload": SELLERS[seller_id].participations()}


@bp.get("/sellers/v1/account")
@operation("getAccount")
def account(seller_id: str, body: Any) -> tuple[int, Any]:
    """Return the seller's account: selling plan, business type, business and primary contact."""
    return 200, {"payload": SELLERS[seller_id].account()}


# ---- Feeds API 2021-06-30 --------------------------------------------------------------------------


@bp.post("/feeds/2021-06-30/documents")
@operation("createFeedDocument")
def create_feed_document(seller_id: str, body: dict[str, Any]) -> tuple[int, Any]:
    """Create an upload slot and return its presigned PUT URL (valid five minutes)."""
    store = get_store()
    document_id = f"amzn1.tortuga.4.na.{uuid.uuid4()}.T{secrets.token_hex(6).upper()}"
    with store.lock:
        store.documents[document_id] = Document(document_id, seller_id, body["contentType"], "input",
                                                time.monotonic())
    return 201, {"feedDocumentId": document_id, "url": presign("upload", document_id)}


@bp.post("/feeds/2021-06-30/feeds")
@operation("createFeed")
def create_feed(seller_id: str, body: dict[str, Any]) -> tuple[int, Any]:
    """Queue a feed for processing."""
    store = get_store()
    seller = SELLERS[seller_id]
    participating = {m["id"] for m in seller.marketplaces}
    foreign = [m for m in body["marketplaceIds"] if m not in participating]
    if foreign:
        store.violation("createFeed", f"seller {seller_id} does not participate in {foreign}")
        return 400, _invalid("Invalid marketplaceIds.",
                             f"The seller does not participate in {', '.join(foreign)}.")
    with store.lock:
        document = store.documents.get(body["inputFeedDocumentId"])
        if document is None or document.seller_id != seller_id or document.kind != "input":
            store.violation("createFeed", f"unknown inputFeedDocumentId {body['inputFeedDocumentId']!r}")
            return 400, _invalid("Invalid inputFeedDocumentId.")
        if document.content is None:
            store.violation("createFeed", "createFeed called before the document was uploaded")
        feed = Feed(store.new_feed_id(), seller_id, body["feedType"], list(body["marketplaceIds"]),
                    document.id, utcnow())
        if document.content is not None:
            feed.content_sha256 = hashlib.sha256(document.content).hexdigest()
        store.feeds[feed.id] = feed
        store.changed.notify_all()
    get_processor(current_app).ensure_started()
    return 202, {"feedId": feed.id}


@bp.get("/feeds/2021-06-30/feeds")
@operation("getFeeds")
def get_feeds(seller_id: str, body: Any) -> tuple[int, Any]:
    """List the seller's feeds, newest first, filtered as asked (one page; no paging beyond it)."""
    store = get_store()
    args = request.args
    types = set(args.get("feedTypes", "").split(",")) - {""}
    statuses = set(args.get("processingStatuses", "").split(",")) - {""}
    markets = set(args.get("marketplaceIds", "").split(",")) - {""}
    size = int(args.get("pageSize", "10"))
    with store.lock:
        feeds = [f for f in reversed(store.feeds.values()) if f.seller_id == seller_id
                 and (not types or f.feed_type in types) and (not statuses or f.status in statuses)
                 and (not markets or markets & set(f.marketplace_ids))]
        return 200, {"feeds": [f.as_model() for f in feeds[:size]]}


@bp.get("/feeds/2021-06-30/feeds/<feed_id>")
@operation("getFeed")
def get_feed(seller_id: str, body: Any, feed_id: str) -> tuple[int, Any]:
    """Return a feed's processing status."""
    store = get_store()
    with store.lock:
        feed = store.feeds.get(feed_id)
        if feed is None or feed.seller_id != seller_id:
            return 404, _not_found(f"Feed {feed_id} was not found.")
        return 200, feed.as_model()


@bp.delete("/feeds/2021-06-30/feeds/<feed_id>")
@operation("cancelFeed")
def cancel_feed(seller_id: str, body: Any, feed_id: str) -> tuple[int, Any]:
    """Cancel a feed that is still IN_QUEUE."""
    store = get_store()
    with store.lock:
        feed = store.feeds.get(feed_id)
        if feed is None or feed.seller_id != seller_id:
            return 404, _not_found(f"Feed {feed_id} was not found.")
        if feed.status != "IN_QUEUE":
            return 400, _invalid(f"Feed {feed_id} cannot be cancelled: its processingStatus is "
                                 f"{feed.status}.")
        feed.status = "CANCELLED"
        feed.ended_at = utcnow()
        store.changed.notify_all()
    return 200, None


@bp.get("/feeds/2021-06-30/documents/<document_id>")
@operation("getFeedDocument")
def get_feed_document(seller_id: str, body: Any, document_id: str) -> tuple[int, Any]:
    """Return a presigned download URL for a feed document (processing reports are GZIP)."""
    store = get_store()
    with store.lock:
        document = store.documents.get(document_id)
        if document is None or document.seller_id != seller_id:
            return 404, _not_found(f"Feed document {document_id} was not found.")
        compressed = document.compressed
    encoding = compressed and request.args.get("enableContentEncodingUrlHeader") == "true"
    payload: dict[str, Any] = {"feedDocumentId": document_id,
                               "url": presign("download", document_id, gzip_header=encoding)}
    if compressed:
        payload["compressionAlgorithm"] = "GZIP"
    return 200, payload


# ---- fake S3 --------------------------------------------------------------------------------------


def _signature(method: str, document_id: str, date: str, extra: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"{method}\n{document_id}\n{date}\n{extra}".encode(), hashlib.sha256).hexdigest()


def presign(kind: str, document_id: str, *, gzip_header: bool = False) -> str:
    """Return a presigned URL on the sandbox for uploading or downloading a document."""
    now = utcnow()
    date = now.strftime("%Y%m%dT%H%M%SZ")
    method = "PUT" if kind == "upload" else "GET"
    params = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"SANDBOXACCESSKEY/{now:%Y%m%d}/us-east-1/s3/aws4_request",
        "X-Amz-Date": date,
        "X-Amz-Expires": str(PRESIGNED_URL_LIFETIME),
        "X-Amz-SignedHeaders": "content-type;host" if kind == "upload" else "host",
    }
    extra = "gzip" if gzip_header else ""
    if gzip_header:
        params["response-content-encoding"] = "gzip"
    params["X-Amz-Signature"] = _signature(method, document_id, date, extra)
    return f"{public_url()}/_s3/{kind}/{document_id}?{urlencode(params)}"


def _s3_error(code: str, message: str, status: int) -> Response:
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message>"
            f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>")
    return Response(body, status=status, mimetype="application/xml")


def _check_presigned(method: str, document_id: str) -> Response | None:
    args = request.args
    date = args.get("X-Amz-Date", "")
    extra = "gzip" if args.get("response-content-encoding") == "gzip" else ""
    expected = _signature(method, document_id, date, extra)
    if not hmac.compare_digest(args.get("X-Amz-Signature", ""), expected):
        get_store().violation("upload" if method == "PUT" else "download",
                              "presigned URL altered (signature does not match)")
        return _s3_error("SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403)
    signed_at = datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=utcnow().tzinfo)
    if utcnow() > signed_at + timedelta(seconds=int(args.get("X-Amz-Expires", "0"))):
        return _s3_error("AccessDenied", "Request has expired", 403)
    return None


@s3.put("/upload/<document_id>")
def upload(document_id: str) -> Response:
    """Store a feed document's bytes, as S3 does for Amazon's presigned upload URL."""
    store = get_store()
    store.count_call("upload")
    failure = store.take_fault("upload")
    if failure == 429:
        return _s3_error("SlowDown", "Please reduce your request rate.", 503)
    if failure is not None:
        return _s3_error("InternalError", "We encountered an internal error. Please try again.", failure)
    problem = _check_presigned("PUT", document_id)
    if problem is not None:
        return problem
    if request.headers.get("x-amz-access-token"):
        store.violation("upload", "x-amz-access-token sent to the presigned S3 URL")
    with store.lock:
        document = store.documents.get(document_id)
        if document is None or document.kind != "input":
            return _s3_error("NoSuchKey", "The specified key does not exist.", 404)
        sent_type = request.headers.get("Content-Type", "")
        if sent_type != document.content_type:
            store.violation("upload", f"Content-Type {sent_type!r} differs from the declared "
                                      f"{document.content_type!r}")
            return _s3_error("SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403)
        document.content = request.get_data()
        etag = hashlib.md5(document.content, usedforsecurity=False).hexdigest()
    response = Response("", status=200)
    response.headers["ETag"] = f'"{etag}"'
    return response


@s3.get("/download/<document_id>")
def download(document_id: str) -> Response:
    """Serve a document's bytes; reports are GZIP, with ``Content-Encoding`` only when asked for."""
    problem = _check_presigned("GET", document_id)
    if problem is not None:
        return problem
    store = get_store()
    store.count_call("download")
    failure = store.take_fault("download")
    if failure is not None:
        return _s3_error("InternalError", "We encountered an internal error. Please try again.",
                         503 if failure == 429 else failure)
    with store.lock:
        document = store.documents.get(document_id)
        if document is None or (document.content is None and document.path is None):
            return _s3_error("NoSuchKey", "The specified key does not exist.", 404)
        content, content_type, path = document.content, document.content_type, document.path
    if path is not None:
        from sandbox.reports import file_chunks

        # A report file can be hundreds of MB: stream it from disk, as S3 does.
        response = Response(file_chunks(path), status=200, mimetype=None, content_type=content_type)
        response.headers["Content-Length"] = str(os.path.getsize(path))
    else:
        response = Response(content, status=200, mimetype=None, content_type=content_type)
    if request.args.get("response-content-encoding") == "gzip":
        response.headers["Content-Encoding"] = "gzip"
    return response
