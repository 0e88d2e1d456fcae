"""Presigned document URLs come from Amazon's answers: only https (and the sandbox in development) is fetched,
redirects are not followed, and a processing report is read as a stream up to a cap (issue 8, item 13).

A small document server on loopback plays a hostile or broken document store over real HTTP.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from redis import Redis
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.fixtures.services import free_port
from wizard.amazon.client import AmazonClient, document_url_prefixes
from wizard.amazon.errors import AmazonRequestError
from wizard.amazon.feeds import FeedDocument, FeedsApi
from wizard.config import from_environment

REPORT = json.dumps({"header": {}, "issues": [], "summary": {"messagesProcessed": 1}}).encode()


class DocumentStore:
    """A document server that counts the paths it was asked for."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.bomb = gzip.compress(b"\0" * (8 * 1024 * 1024), compresslevel=9)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)

    def app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.hits[request.path] += 1
        if request.path == "/redirect":
            response = Response(status=302, headers={"Location": f"{self.url}/report"})
        elif request.path == "/bomb":
            response = Response(self.bomb, headers={"Content-Type": "application/octet-stream"})
        else:
            response = Response(gzip.compress(REPORT))
        return response(environ, start_response)


@pytest.fixture
def store() -> Iterator[DocumentStore]:
    server = DocumentStore()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    thread.join(timeout=5)


def _feeds(redis_url: str, **config: Any) -> FeedsApi:
    client = AmazonClient.from_config({**from_environment(), **config}, Redis.from_url(redis_url))
    return FeedsApi(client, max_report_bytes=1024 * 1024)


def test_a_plain_http_document_url_is_refused_in_production_without_a_request(
        store: DocumentStore, redis_url: str) -> None:
    feeds = _feeds(redis_url, APP_ENV="production")

    with pytest.raises(AmazonRequestError) as refused:
        feeds.download(FeedDocument("doc-1", f"{store.url}/report", "GZIP"))

    assert refused.value.code == "document_url_refused"
    assert store.hits["/report"] == 0


def test_only_https_and_the_configured_prefixes_are_allowed() -> None:
    base = {**from_environment(), "AMAZON_SPAPI_ENDPOINT": "http://127.0.0.1:5001"}

    assert document_url_prefixes({**base, "APP_ENV": "production"}) == ("https://",)
    assert document_url_prefixes({**base, "APP_ENV": "development"}) == ("https://", "http://127.0.0.1:5001/")
    assert document_url_prefixes({**base, "APP_ENV": "production",
                                  "AMAZON_DOCUMENT_URL_PREFIXES": "http://docs.internal/, http://x/"}) == (
        "https://", "http://docs.internal/", "http://x/")


def test_a_configured_document_store_is_read(store: DocumentStore, redis_url: str) -> None:
    feeds = _feeds(redis_url, APP_ENV="production", AMAZON_DOCUMENT_URL_PREFIXES=store.url + "/")

    assert feeds.download(FeedDocument("doc-1", f"{store.url}/report", "GZIP")) == REPORT


def test_a_redirecting_document_url_is_not_followed(store: DocumentStore, redis_url: str) -> None:
    feeds = _feeds(redis_url, AMAZON_DOCUMENT_URL_PREFIXES=store.url + "/")

    with pytest.raises(AmazonRequestError) as refused:
        feeds.download(FeedDocument("doc-1", f"{store.url}/redirect", "GZIP"))

    assert refused.value.code == "document_redirect"
    assert store.hits["/redirect"] == 1 and store.hits["/report"] == 0


def test_a_report_that_inflates_past_the_cap_is_refused(store: DocumentStore, redis_url: str) -> None:
    # 8 MiB of zeros gzip to a few KiB: the cap (1 MiB here, 200 MiB by default) stops the inflation.
    feeds = _feeds(redis_url, AMAZON_DOCUMENT_URL_PREFIXES=store.url + "/")
    assert len(store.bomb) < 64 * 1024

    with pytest.raises(AmazonRequestError) as refused:
        feeds.download(FeedDocument("doc-1", f"{store.url}/bomb", "GZIP"))

    assert refused.value.code == "report_too_large"
