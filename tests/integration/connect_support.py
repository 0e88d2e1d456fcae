"""Helpers for the connect tests: play the merchant's browser on both sides, our app and Amazon's pages."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import requests
from flask.testing import FlaskClient
from sqlmodel import Session, select

from tests.helpers import csrf_token
from wizard.models import Account, Connection
from wizard.models.base import utcnow

PREFIX = "/settings/integrations/amazon"
GRANT_ACCESS = PREFIX + "/grant-access"
VERIFY = PREFIX + "/verify"
PRO_SELLER = "A1PROSELLERUS01"
OTHER_PRO_SELLER = "A2PROSELLERUS02"
INDIVIDUAL_SELLER = "A3INDIVIDUAL001"
NON_US_SELLER = "A4NOUSMARKET001"

class _HiddenInputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("type") == "hidden" and found.get("name"):
            self.fields[str(found["name"])] = found.get("value") or ""


def hidden_fields(html: str) -> dict[str, str]:
    """Return the hidden inputs of a page (the last one wins for a repeated name)."""
    parser = _HiddenInputs()
    parser.feed(html)
    return parser.fields


def path_of(url: str) -> str:
    """Return the path and query of an absolute URL (for the Flask test client)."""
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def query_of(url: str) -> dict[str, str]:
    """Return the query parameters of ``url`` (first value of each)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


class AmazonSide:
    """The merchant's browser on Amazon's (the sandbox's) pages, with its own cookies."""

    def __init__(self) -> None:
        self.http = requests.Session()

    def consent(self, consent_url: str, seller: str = PRO_SELLER, decision: str = "authorize") -> str:
        """Open the consent page, pick ``seller``, click Authorize or Cancel; return Amazon's redirect."""
        page = self.http.get(consent_url, timeout=10)
        assert page.status_code == 200, page.text
        fields = hidden_fields(page.text)
        fields.update(selling_partner_id=seller, decision=decision)
        action = consent_url.split("?", 1)[0]
        answer = self.http.post(action, data=fields, allow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]

    def manage_your_apps(self, sandbox_url: str, seller: str) -> str:
        """Click Authorize for ``seller`` in "Manage Your Apps"; return our Login URI with its parameters."""
        page = self.http.get(sandbox_url + "/apps/manage", timeout=10)
        nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
        assert nonce, "no nonce on Manage Your Apps"
        answer = self.http.post(f"{sandbox_url}/apps/manage/{seller}/authorize",
                                data={"nonce": nonce.group(1)}, allow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]

    def follow(self, url: str) -> str:
        """Open ``url`` on Amazon's side; return the redirect it answers with."""
        answer = self.http.get(url, allow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]


def acknowledge(db: Session, account: Account) -> None:
    """Arrange: the account's prerequisites are confirmed."""
    row = db.get(Account, account.id)
    assert row is not None
    row.prerequisites_acknowledged_at = utcnow()
    db.add(row)
    db.commit()


def start_grant(client: FlaskClient, mode: str = "tab") -> str:
    """Click Grant Access; return the consent URL our app redirects to."""
    token = csrf_token(client, GRANT_ACCESS)
    response = client.post(GRANT_ACCESS, data={"csrf_token": token, "mode": mode})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def authorize(client: FlaskClient, amazon: AmazonSide, seller: str = PRO_SELLER, mode: str = "tab",
              decision: str = "authorize"):  # type: ignore[no-untyped-def]
    """Run Grant Access end to end; return our callback's response."""
    callback = amazon.consent(start_grant(client, mode), seller=seller, decision=decision)
    return client.get(path_of(callback))


def maybe_connection(db: Session, account: Account) -> Connection | None:
    """Return the account's Amazon connection as the database has it now, if there is one."""
    db.expire_all()
    return db.exec(select(Connection).where(Connection.account_id == account.id)).first()


def connection_of(db: Session, account: Account) -> Connection:
    """Return the account's Amazon connection as the database has it now."""
    connection = maybe_connection(db, account)
    assert connection is not None
    return connection
