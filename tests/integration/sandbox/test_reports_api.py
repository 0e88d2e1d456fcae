"""Reports API 2021-06-30 over real HTTP: GET_MERCHANT_LISTINGS_ALL_DATA from request to gzip file."""

from __future__ import annotations

import gzip
from typing import Any

import requests

from tests.fixtures.sandbox import SandboxControl
from tests.fixtures.services import wait_until
from tests.integration.sandbox.conftest import SELLER, US, Amazon

REPORTS = "/reports/2021-06-30"


def _create(amazon: Amazon, token: str) -> requests.Response:
    return amazon.call("POST", f"{REPORTS}/reports", token,
                       json={"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [US]})


def _wait_done(amazon: Amazon, token: str, report_id: str) -> dict[str, Any]:
    statuses: list[str] = []

    def _done() -> dict[str, Any] | None:
        report = amazon.call("GET", f"{REPORTS}/reports/{report_id}", token).json()
        if not statuses or statuses[-1] != report["processingStatus"]:
            statuses.append(report["processingStatus"])
        return report if report["processingStatus"] == "DONE" else None

    report = wait_until(_done, timeout=20, message=f"report {report_id}")
    assert statuses[0] == "IN_QUEUE" and statuses[-1] == "DONE"
    return report


def test_a_listings_report_goes_from_queue_to_a_gzip_tab_delimited_file(sandbox: SandboxControl,
                                                                        amazon: Amazon, token: str) -> None:
    sandbox.seed_listings(SELLER, [
        {"sku": "TENT-1", "quantity": 7, "price": "199.99", "item_name": "Tent\twith a tab"},
        {"sku": "LAMP-2", "quantity": 0, "price": "12.00"},
    ])
    sandbox.generate_listings(SELLER, 500, prefix="GEN-", quantity=3, price="9.50")
    sandbox.processing(delay=100)  # half a second a phase at the tests' time scale: IN_QUEUE is seen
    created = _create(amazon, token)
    assert created.status_code == 202
    report = _wait_done(amazon, token, created.json()["reportId"])
    assert report["reportType"] == "GET_MERCHANT_LISTINGS_ALL_DATA" and report["processingEndTime"]
    document = amazon.call("GET", f"{REPORTS}/documents/{report['reportDocumentId']}", token).json()
    assert document["compressionAlgorithm"] == "GZIP"
    raw = requests.get(document["url"], timeout=10)
    assert raw.status_code == 200
    lines = gzip.decompress(raw.content).decode("utf-8").splitlines()
    header = lines[0].split("\t")
    assert header[:7] == ["item-name", "item-description", "listing-id", "seller-sku", "price", "quantity",
                          "open-date"]
    assert {"asin1", "status", "fulfillment-channel", "pending-quantity"} <= set(header)
    parsed = (dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:])
    rows = {r["seller-sku"]: r for r in parsed}
    assert len(rows) == 502
    assert (rows["TENT-1"]["price"], rows["TENT-1"]["quantity"], rows["TENT-1"]["status"]) == \
        ("199.99", "7", "Active")
    assert rows["TENT-1"]["item-name"] == "Tent with a tab"
    assert rows["LAMP-2"]["status"] == "Inactive"
    assert rows["GEN-00000042"]["asin1"].startswith("B0")


def test_another_sellers_report_is_not_found(sandbox: SandboxControl, amazon: Amazon, token: str) -> None:
    report_id = _create(amazon, token).json()["reportId"]
    other = amazon.access_token(sandbox.grant("A2PROSELLERUS02"))
    assert amazon.call("GET", f"{REPORTS}/reports/{report_id}", other).status_code == 404


def test_create_report_allows_a_burst_of_15_then_about_one_a_minute(sandbox: SandboxControl, amazon: Amazon,
                                                                    token: str) -> None:
    sandbox.set_time_scale(1)
    answers = [_create(amazon, token) for _ in range(16)]
    assert [a.status_code for a in answers] == [202] * 15 + [429]
    assert answers[0].headers["x-amzn-RateLimit-Limit"] == "0.0167"
