"""Helpers for the sandbox's own tests: a minimal Amazon client speaking plain ``requests``."""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from tests.fixtures.sandbox import SandboxControl
from tests.fixtures.services import wait_until

APP_ID = "amzn1.sellerapps.app.sandbox-ecommerce"
CLIENT_ID = "amzn1.application-oa2-client.sandbox-ecommerce"
CLIENT_SECRET = "sandbox-client-secret"
USER_AGENT = "EcommerceSandboxTests/1.0 (Language=Python/3.11)"
WEB = "http://127.0.0.1:5999"
REDIRECT_URI = WEB + "/amazon/oauth/callback"
SELLER = "A1PROSELLERUS01"
US = "ATVPDKIKX0DER"
JSON_TYPE = "application/json; charset=UTF-8"


def query(url: str) -> dict[str, str]:
    """Return the query parameters of ``url`` as a flat dict."""
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def quantity_message(message_id: int, sku: str, quantity: Any, op: str = "merge") -> dict[str, Any]:
    """Return a JSON_LISTINGS_FEED PATCH message setting a quantity."""
    return {"messageId": message_id, "sku": sku, "operationType": "PATCH", "productType": "PRODUCT",
            "patches": [{"op": op, "path": "/attributes/fulfillment_availability",
                         "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}]}]}


def price_message(message_id: int, sku: str, price: Any) -> dict[str, Any]:
    """Return a JSON_LISTINGS_FEED PATCH message setting a price."""
    return {"messageId": message_id, "sku": sku, "operationType": "PATCH", "productType": "PRODUCT",
            "patches": [{"op": "replace", "path": "/attributes/purchasable_offer",
                         "value": [{"marketplace_id": US, "currency": "USD", "audience": "ALL",
                                    "our_price": [{"schedule": [{"value_with_tax": price}]}]}]}]}


def one_message_feed(seller_id: str = SELLER, quantity: int = 1) -> dict[str, Any]:
    """Return a feed document with one quantity message for SKU ``A``."""
    return feed_document(seller_id, [quantity_message(1, "A", quantity)])


def feed_document(seller_id: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """Return a whole JSON_LISTINGS_FEED document."""
    return {"header": {"sellerId": seller_id, "version": "2.0", "issueLocale": "en_US"}, "messages": messages}


@dataclass
class Amazon:
    """Call the sandbox the way our production client must call Amazon."""

    url: str
    http: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.http.headers["User-Agent"] = USER_AGENT

    def consent(self, seller_id: str = SELLER, *, state: str = "state-1", redirect_uri: str | None = None,
                decision: str = "authorize") -> str:
        """Open the consent page, pick ``seller_id``, press a button; return the redirect's Location."""
        params = {"application_id": APP_ID, "state": state, "version": "beta"}
        if redirect_uri:
            params["redirect_uri"] = redirect_uri
        page = self.http.get(self.url + "/apps/authorize/consent", params=params, timeout=10)
        assert page.status_code == 200, page.text
        nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
        assert nonce, "the consent page carries no nonce"
        form = {"nonce": nonce.group(1), "application_id": APP_ID, "state": state, "version": "beta",
                "redirect_uri": redirect_uri or "", "selling_partner_id": seller_id, "decision": decision}
        answer = self.http.post(self.url + "/apps/authorize/consent", data=form, allow_redirects=False,
                                timeout=10)
        assert answer.status_code == 302, answer.text
        return str(answer.headers["Location"])

    def token(self, **form: str) -> requests.Response:
        """POST the LWA token endpoint with the documented form body."""
        return self.http.post(self.url + "/auth/o2/token", data={"client_id": CLIENT_ID,
                              "client_secret": CLIENT_SECRET, **form}, timeout=10)

    def access_token(self, refresh_token: str) -> str:
        """Refresh and return an access token."""
        answer = self.token(grant_type="refresh_token", refresh_token=refresh_token)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def call(self, method: str, path: str, token: str, **kwargs: Any) -> requests.Response:
        """Call an SP-API path with the access token header."""
        headers = {"x-amz-access-token": token, **kwargs.pop("headers", {})}
        return self.http.request(method, self.url + path, headers=headers, timeout=10, **kwargs)

    def upload(self, token: str, body: bytes, content_type: str = JSON_TYPE) -> str:
        """Create a feed document and upload ``body`` to its presigned URL; return the document ID."""
        created = self.call("POST", "/feeds/2021-06-30/documents", token, json={"contentType": content_type})
        assert created.status_code == 201, created.text
        put = requests.put(created.json()["url"], data=body, headers={"Content-Type": content_type},
                           timeout=10)
        assert put.status_code == 200, put.text
        return str(created.json()["feedDocumentId"])

    def submit(self, token: str, document: dict[str, Any]) -> str:
        """Upload a JSON_LISTINGS_FEED and create the feed; return the feed ID."""
        document_id = self.upload(token, json.dumps(document).encode())
        created = self.call("POST", "/feeds/2021-06-30/feeds", token, json={
            "feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [US], "inputFeedDocumentId": document_id})
        assert created.status_code == 202, created.text
        return str(created.json()["feedId"])

    def feed_status(self, token: str, feed_id: str) -> str:
        """Return a feed's processingStatus."""
        return str(self.call("GET", f"/feeds/2021-06-30/feeds/{feed_id}", token).json()["processingStatus"])

    def create_document(self, token: str) -> dict[str, Any]:
        """Create a JSON feed document; return the createFeedDocument answer."""
        answer = self.call("POST", "/feeds/2021-06-30/documents", token, json={"contentType": JSON_TYPE})
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def wait_for_feed(self, token: str, feed_id: str) -> dict[str, Any]:
        """Poll getFeed until the feed is in a terminal state; return it."""

        def _done() -> dict[str, Any] | None:
            feed = self.call("GET", f"/feeds/2021-06-30/feeds/{feed_id}", token).json()
            return feed if feed["processingStatus"] in ("DONE", "FATAL", "CANCELLED") else None

        return wait_until(_done, timeout=10, interval=0.02, message=f"feed {feed_id} to finish")

    def report(self, token: str, document_id: str) -> dict[str, Any]:
        """Download and decompress a processing report."""
        doc = self.call("GET", f"/feeds/2021-06-30/documents/{document_id}", token)
        assert doc.status_code == 200, doc.text
        assert doc.json()["compressionAlgorithm"] == "GZIP"
        raw = requests.get(doc.json()["url"], timeout=10)
        assert raw.status_code == 200
        return json.loads(gzip.decompress(raw.content))


@pytest.fixture
def amazon(sandbox: SandboxControl) -> Amazon:
    """A plain HTTP client for a sandbox registered with a web app at ``WEB``."""
    sandbox.register_app(WEB)
    return Amazon(sandbox.url)


@pytest.fixture
def token(sandbox: SandboxControl, amazon: Amazon) -> str:
    """A valid access token for ``SELLER``."""
    return amazon.access_token(sandbox.grant(SELLER))
