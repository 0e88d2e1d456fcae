"""Attack family: hostile input and body sizes (issue 8, items 4, 6, 9, 10 and 11).

Each test sends what an attacker or a careless spreadsheet sends, and checks the answer is a clear message
that loses nothing already saved: never a 500, never a raw Python error, never the whole body in memory.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from html import unescape

import pytest
from flask.testing import FlaskClient
from sqlmodel import Session, select

from tests.conftest import Merchant
from tests.helpers import csrf_token
from tests.integration.test_amazon_settings import (
    DEFAULTS,
    HTMX,
    PREVIEW,
    URL,
    connect,
    post,
    saved_settings,
    text_of,
)
from wizard.catalog import api_tokens
from wizard.models import CatalogImport, Connection, Product

PRODUCTS = "/api/v1/products"
FORTY_DIGITS = "1234567890" * 4
HUGE_NUMBER = "9" * 5_000  # past Python's 4,300-digit limit for int()


@pytest.fixture
def token(db: Session, merchant: Merchant) -> str:
    """A live API token of the merchant's account."""
    _, value = api_tokens.create_token(db, account_id=merchant.account.id, name="Platform",
                                       user_id=merchant.user("admin").id)
    return value


@pytest.fixture
def connected(app, db: Session, merchant: Merchant) -> Connection:  # type: ignore[no-untyped-def]
    return connect(db, merchant.account, app.config["TOKEN_ENCRYPTION_KEYS"])


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def stored(db: Session, account_id: int) -> dict[str, tuple[int, int]]:
    db.expire_all()
    return {p.sku: (p.available, p.price_cents)
            for p in db.exec(select(Product).where(Product.account_id == account_id))}


def field_error(html: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="{field}-error"[^>]*>(.*?)</p>', html, re.S)
    assert match, f"no error shown for {field}"
    return unescape(match.group(1)).strip()


# ---- prices and numbers (items 6 and 9) ---------------------------------------------------------

@pytest.mark.parametrize("price", [FORTY_DIGITS, f"${FORTY_DIGITS}", f"{FORTY_DIGITS}.001", "1e400"])
def test_an_api_price_with_many_digits_is_an_item_error_and_the_good_items_are_saved(
    client: FlaskClient, db, merchant, token, price
) -> None:
    body = {"products": [{"sku": "GOOD-1", "available": 2, "price": "3.00"},
                         {"sku": "HUGE", "available": 1, "price": price},
                         {"sku": "GOOD-2", "available": 4, "price": 5}]}
    response = client.post(PRODUCTS, json=body, headers=bearer(token))
    assert response.status_code == 422
    answer = response.get_json()
    assert answer["saved"] == 2
    [error] = answer["errors"]
    assert (error["index"], error["sku"], error["field"]) == (1, "HUGE", "price")
    assert "$1,000,000.00 or less" in error["message"] or "digits and a dot only" in error["message"]
    assert stored(db, merchant.account.id) == {"GOOD-1": (2, 300), "GOOD-2": (4, 500)}


@pytest.mark.parametrize(("available", "message"), [
    ("²", "whole number"),  # passes str.isdigit(), refused by int()
    ("١٢", "whole number"),  # Arabic-Indic digits
    (HUGE_NUMBER, "larger than 100,000,000"),
    (10**50, "larger than 100,000,000"),
])
def test_api_units_in_unicode_digits_or_with_thousands_of_digits_are_item_errors(
    client, db, merchant, token, available, message
) -> None:
    body = {"products": [{"sku": "ODD", "available": available, "price": "1.00"},
                         {"sku": "GOOD", "available": 1, "price": "1.00"}]}
    response = client.post(PRODUCTS, json=body, headers=bearer(token))
    assert response.status_code == 422
    [error] = response.get_json()["errors"]
    assert error["field"] == "available" and message in error["message"]
    assert "invalid literal" not in error["message"]
    assert stored(db, merchant.account.id) == {"GOOD": (1, 100)}


@pytest.mark.parametrize("path", [URL, PREVIEW])
@pytest.mark.parametrize(("data", "field", "message"), [
    ({"min_price": FORTY_DIGITS}, "min_price", "$1,000,000.00 or less"),
    ({"min_price": f"{FORTY_DIGITS}.001"}, "min_price", "$1,000,000.00 or less"),
    ({"inventory_buffer": "²"}, "inventory_buffer", "Enter the buffer as a whole number of units"),
    ({"inventory_ceiling": "٣"}, "inventory_ceiling", "Enter the ceiling as a whole number of units"),
    ({"inventory_buffer": HUGE_NUMBER}, "inventory_buffer", "Enter 1,000,000 units or fewer"),
    ({"inventory_ceiling": "7" * 300_000}, "inventory_ceiling", "Enter 1,000,000 units or fewer"),
])
def test_settings_numbers_that_crashed_the_form_get_a_field_message_and_nothing_is_saved(
    client, signed_in_as, connected, merchant, db, path, data, field, message
) -> None:
    signed_in_as("admin")
    headers = HTMX if path == PREVIEW else None
    response = post(client, path, {**DEFAULTS, **data}, headers=headers)
    assert response.status_code == (200 if path == PREVIEW else 422)
    assert message in field_error(response.get_data(as_text=True), field)
    assert saved_settings(db, merchant.account.id) is None


def test_a_settings_field_of_a_megabyte_is_refused_whole_with_a_plain_page(
    client, signed_in_as, connected, merchant, db
) -> None:
    signed_in_as("admin")
    response = post(client, URL, {**DEFAULTS, "inventory_buffer": "1" * 1024 * 1024})
    assert response.status_code == 413
    assert "Nothing was saved" in text_of(response.get_data(as_text=True))
    assert saved_settings(db, merchant.account.id) is None


# ---- the CSV import (items 6, 9 and 11) ---------------------------------------------------------

def run_import(client: FlaskClient, db: Session, work_imports, content: str) -> CatalogImport:  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/catalog/")
    # Closing the response closes the test client's encoded body (a temporary file for large uploads).
    with client.post("/catalog/import", content_type="multipart/form-data",
                     data={"csrf_token": token, "file": (io.BytesIO(content.encode()), "p.csv")}) as response:
        assert response.status_code == 302, response.get_data(as_text=True)
    work_imports()
    db.expire_all()
    job = db.get(CatalogImport, int(response.headers["Location"].rstrip("/").split("/")[-1]))
    assert job is not None
    return job


def test_csv_rows_with_odd_numbers_are_row_errors_in_plain_words_and_the_rest_is_imported(
    client, signed_in_as, merchant, db, work_imports
) -> None:
    signed_in_as("admin")
    content = ("sku,available,price\n"
               "A,1,1.00\n"                      # line 2
               "B,²,1.00\n"                      # 3: Unicode digit
               f"C,{HUGE_NUMBER},1.00\n"         # 4: 5,000 digits
               f"D,1,{FORTY_DIGITS}\n"           # 5: 40-digit price
               f"E,1,{FORTY_DIGITS}.001\n"       # 6: what raised decimal.InvalidOperation
               "F,2,2.00\n")                     # 7: after the bad rows, still imported
    job = run_import(client, db, work_imports, content)
    assert (job.status, job.written_rows, job.error_count) == ("done", 2, 4)
    errors = {e["line"]: e["reason"] for e in json.loads(job.errors_json)}
    assert "whole number" in errors[3] and "larger than 100,000,000" in errors[4]
    assert "$1,000,000.00 or less" in errors[5] and "$1,000,000.00 or less" in errors[6]
    assert not any("invalid literal" in reason or "Invalid" in reason for reason in errors.values())
    assert stored(db, merchant.account.id) == {"A": (1, 100), "F": (2, 200)}


def test_a_csv_field_over_128_kib_is_a_row_error_not_a_failed_import(
    client, signed_in_as, merchant, db, work_imports
) -> None:
    signed_in_as("admin")
    content = ("sku,title,available,price\n"
               "A,Tent,1,1.00\n"
               f"B,{'x' * 200_000},1,1.00\n"
               "C,Lamp,3,3.00\n")
    job = run_import(client, db, work_imports, content)
    assert job.status == "done" and job.error_count == 1
    [error] = json.loads(job.errors_json)
    assert error["line"] == 3 and "longer than 128 KiB" in error["reason"]
    assert stored(db, merchant.account.id) == {"A": (1, 100), "C": (3, 300)}


# ---- JSON and body sizes (items 4 and 10) -------------------------------------------------------

def test_deeply_nested_json_gets_a_400_in_json(client, db, merchant, token) -> None:
    response = client.post(PRODUCTS, data="[" * 5_000, headers=bearer(token),
                           content_type="application/json")
    assert response.status_code == 400 and response.is_json
    assert '{"products": [' in response.get_json()["errors"][0]["message"]


def _chunks(total: int, head: bytes) -> Iterator[bytes]:
    yield head
    sent = len(head)
    while sent < total:
        piece = b" " * min(64 * 1024, total - sent)
        sent += len(piece)
        yield piece
    yield b"}"


class ChunkedBody(io.RawIOBase):
    """A request body without a Content-Length, read the way a WSGI server hands over a chunked one."""

    def __init__(self, total: int, head: bytes) -> None:
        self.pieces = _chunks(total, head)
        self.buffer = b""
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:  # type: ignore[no-untyped-def]
        while not self.buffer:
            try:
                self.buffer = next(self.pieces)
            except StopIteration:
                return 0
        size = min(len(target), len(self.buffer))
        target[:size] = self.buffer[:size]
        self.buffer = self.buffer[size:]
        self.read_bytes += size
        return size


def test_a_chunked_api_body_over_the_limit_is_refused_while_it_is_read(client, db, merchant, token) -> None:
    head = b'{"products": [{"sku": "BIG", "available": 1, "price": "1.00"}], "padding": 0'
    body = ChunkedBody(200 * 1024 * 1024, head)
    response = client.post(PRODUCTS, content_type="application/json",
                           headers={**bearer(token), "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input": body, "wsgi.input_terminated": True})
    assert response.status_code == 413 and response.is_json
    assert "larger than 10 MiB" in response.get_json()["errors"][0]["message"]
    assert body.read_bytes <= 11 * 1024 * 1024  # Werkzeug stopped reading soon after the limit
    assert stored(db, merchant.account.id) == {}


def test_a_chunked_form_body_over_the_app_limit_is_refused(client, signed_in_as, merchant, db) -> None:
    signed_in_as("admin")
    body = ChunkedBody(20 * 1024 * 1024, b"csrf_token=x&inventory_buffer=")
    response = client.post(URL, content_type="application/x-www-form-urlencoded",
                           headers={"Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input": body, "wsgi.input_terminated": True})
    assert response.status_code == 413
    assert "Nothing was saved" in text_of(response.get_data(as_text=True))
    assert body.read_bytes <= 2 * 1024 * 1024
    assert saved_settings(db, merchant.account.id) is None


def test_the_csv_import_accepts_files_larger_than_the_app_limit(
    app, client, signed_in_as, merchant, db, work_imports
) -> None:
    signed_in_as("admin")
    # A small app-wide limit keeps the upload under the test client's 500 KB in-memory threshold.
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    rows = "".join(f"SKU-{i:06d},Product {i},{i % 9},9.99\n" for i in range(6_000))
    content = "sku,title,available,price\n" + rows
    assert 2 * app.config["MAX_CONTENT_LENGTH"] < len(content) < app.config["IMPORT_MAX_BYTES"]
    job = run_import(client, db, work_imports, content)
    assert (job.status, job.written_rows) == ("done", 6_000)
    elsewhere = client.post("/catalog/api-tokens", data={"csrf_token": "x", "name": "n" * len(content)})
    assert elsewhere.status_code == 413  # the same size anywhere else is refused


def test_a_csv_file_over_the_import_limit_is_refused_with_a_plain_page(app, client, signed_in_as, db) -> None:
    signed_in_as("admin")
    app.config["IMPORT_MAX_BYTES"] = 64 * 1024
    token = csrf_token(client, "/catalog/")
    big = b"sku,available,price\n" + b"A,1,1.00\n" * 20_000
    with client.post("/catalog/import", content_type="multipart/form-data",
                     data={"csrf_token": token, "file": (io.BytesIO(big), "big.csv")}) as response:
        assert response.status_code == 413
        assert "Nothing was saved" in text_of(response.get_data(as_text=True))
    assert db.exec(select(CatalogImport)).all() == []
