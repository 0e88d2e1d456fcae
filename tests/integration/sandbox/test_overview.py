"""The sandbox's overview and per-seller listings pages stay small with thousands of listings."""

from __future__ import annotations

import re

import pytest
import requests

from tests.fixtures.sandbox import SandboxControl
from tests.integration.sandbox.conftest import SELLER, Amazon, feed_document, quantity_message

SKU_CELL = re.compile(r'<td data-label="SKU"><code>([^<]+)</code>')


def _skus(html: str) -> list[str]:
    return SKU_CELL.findall(html)


def _page(amazon: Amazon, path: str, **params: str) -> requests.Response:
    answer = requests.get(amazon.url + path, params=params, timeout=10)
    assert answer.status_code == 200, answer.text
    assert "<script" not in answer.text and "style=" not in answer.text
    return answer


@pytest.fixture
def catalog(amazon: Amazon, token: str) -> None:
    """Give ``SELLER`` 120 listings (80 ``ALPHA-``, 40 ``BETA-``), then update three ``BETA-`` SKUs later."""
    skus = [f"ALPHA-{i:03d}" for i in range(80)] + [f"BETA-{i:03d}" for i in range(40)]
    first = feed_document(SELLER, [quantity_message(n, sku, 5) for n, sku in enumerate(skus, start=1)])
    amazon.wait_for_feed(token, amazon.submit(token, first))
    later = feed_document(SELLER, [quantity_message(n, f"BETA-{n:03d}", 9) for n in range(1, 4)])
    amazon.wait_for_feed(token, amazon.submit(token, later))


@pytest.mark.usefixtures("catalog")
def test_overview_shows_each_sellers_count_and_only_the_25_latest_listings(amazon: Amazon) -> None:
    html = _page(amazon, "/_sandbox/").text
    assert "<strong>120</strong> listings · the 25 most recently updated" in html
    skus = _skus(html)
    assert len(skus) == 25
    # the later feed's SKUs come first; the rest is in SKU order (one feed gives them one time)
    assert skus[:3] == ["BETA-001", "BETA-002", "BETA-003"]
    assert skus[3:] == [f"ALPHA-{i:03d}" for i in range(22)]
    assert f'href="/_sandbox/sellers/{SELLER}/listings"' in html and "See all 120 listings" in html
    assert "<strong>0</strong> listings" in html  # the other sellers


@pytest.mark.usefixtures("catalog")
def test_seller_listings_search_by_sku_prefix(amazon: Amazon) -> None:
    path = f"/_sandbox/sellers/{SELLER}/listings"
    html = _page(amazon, path, q="BETA-00").text
    assert _skus(html) == [f"BETA-{i:03d}" for i in range(10)]
    assert "Showing 1–10 of 10 SKUs starting with <code>BETA-00</code>" in html
    assert 'value="BETA-00"' in html

    # a prefix, not a substring: "001" is inside ALPHA-001 and BETA-001 but starts none
    html = _page(amazon, path, q="001").text
    assert _skus(html) == []
    assert "No SKU starts with <code>001</code>." in html


@pytest.mark.usefixtures("catalog")
def test_seller_listings_paginate_by_50_and_keep_the_search(amazon: Amazon) -> None:
    path = f"/_sandbox/sellers/{SELLER}/listings"
    first = _page(amazon, path).text
    assert _skus(first) == [f"ALPHA-{i:03d}" for i in range(50)]
    assert "Showing 1–50 of 120 listings" in first and "Page 1 of 3" in first
    assert f'href="{path}?page=2"' in first

    last = _page(amazon, path, page="3").text
    assert _skus(last) == [f"BETA-{i:03d}" for i in range(20, 40)]
    assert "Showing 101–120 of 120 listings" in last

    # past the end, or not a number: the nearest real page
    assert _skus(_page(amazon, path, page="99").text) == _skus(last)
    assert _skus(_page(amazon, path, page="two").text) == _skus(first)

    searched = _page(amazon, path, q="ALPHA", page="2").text
    assert _skus(searched) == [f"ALPHA-{i:03d}" for i in range(50, 80)]
    assert "Page 2 of 2" in searched and f'href="{path}?q=ALPHA&amp;page=1"' in searched


def test_seller_listings_of_an_unknown_seller_is_not_found(sandbox: SandboxControl) -> None:
    assert requests.get(sandbox.url + "/_sandbox/sellers/NOPE/listings", timeout=10).status_code == 404


def test_seller_listings_show_sale_prices_who_changed_them_and_issues(sandbox: SandboxControl,
                                                                     amazon: Amazon) -> None:
    sandbox.seed_listings(SELLER, [
        {"sku": "SEEDED-1", "quantity": 3, "price": "19.99", "discounted_price": "14.99"},
        {"sku": "EDITED-2", "quantity": 3, "price": "9.99",
         "issues": [{"code": "8541", "message": "Price alert", "severity": "ERROR", "categories": []}]},
    ])
    sandbox.external_edit(SELLER, "EDITED-2", quantity=1)
    html = _page(amazon, f"/_sandbox/sellers/{SELLER}/listings").text
    seeded = html[html.index("SEEDED-1"):]
    edited = html[html.index("EDITED-2"):html.index("SEEDED-1")]
    assert "$14.99" in seeded and "seeded" in seeded
    assert "outside Ecommerce" in edited and "<code>8541</code> ERROR" in edited
