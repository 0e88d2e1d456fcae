"""Amazon's consent and Login-URI URLs, and the OAuth state's life: single use, 10 minutes, bound."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import Session, select

from wizard.connect import oauth
from wizard.db import engine_for
from wizard.models import Account, OAuthState, Role, User
from wizard.models.base import utcnow

SELLER_CENTRAL = "https://sellercentral.amazon.com"
REDIRECT = "https://shop.example/amazon/oauth/callback?x=1&y=2"


def params(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_consent_url_carries_application_id_state_and_encoded_redirect_uri() -> None:
    url = oauth.consent_url(SELLER_CENTRAL + "/", "amzn1.sellerapps.app.X", "s t&ate", REDIRECT, draft=False)
    assert url.startswith("https://sellercentral.amazon.com/apps/authorize/consent?")
    assert params(url) == {"application_id": ["amzn1.sellerapps.app.X"], "state": ["s t&ate"],
                           "redirect_uri": [REDIRECT]}
    assert "redirect_uri=https%3A%2F%2Fshop.example%2Famazon%2Foauth%2Fcallback%3Fx%3D1%26y%3D2" in url
    assert "client_id" not in url


def test_consent_url_adds_version_beta_only_for_a_draft_app() -> None:
    assert params(oauth.consent_url(SELLER_CENTRAL, "a", "s", REDIRECT, draft=True))["version"] == ["beta"]
    assert "version" not in params(oauth.consent_url(SELLER_CENTRAL, "a", "s", REDIRECT, draft=False))


@pytest.mark.parametrize(("url", "inside"), [
    ("https://sellercentral.amazon.com/apps/authorize/confirm/amzn1.x", True),
    ("https://SELLERCENTRAL.amazon.com/apps/authorize/confirm/amzn1.x", True),
    ("https://sellercentral.amazon.com.evil.example/apps/authorize/confirm", False),
    ("https://sellercentral.amazon.com@evil.example/", False),
    ("http://sellercentral.amazon.com/apps/authorize/confirm", False),
    ("//sellercentral.amazon.com/apps", False),
    ("/apps/authorize/confirm", False),
    ("javascript:alert(1)", False),
])
def test_only_seller_central_urls_are_accepted_as_amazon_callback(url: str, inside: bool) -> None:
    assert oauth.is_seller_central_url(url, SELLER_CENTRAL) is inside


def test_login_uri_redirect_adds_our_parameters_to_amazons_callback() -> None:
    url = oauth.login_uri_redirect("https://sellercentral.amazon.com/apps/authorize/confirm/app?keep=1",
                                   amazon_state="amz", state="ours", redirect_uri=REDIRECT, draft=True)
    assert urlsplit(url).path == "/apps/authorize/confirm/app"
    assert params(url) == {"keep": ["1"], "amazon_state": ["amz"], "state": ["ours"],
                           "redirect_uri": [REDIRECT], "version": ["beta"]}


@pytest.fixture
def db(database_url: str) -> Iterator[Session]:
    with Session(engine_for(database_url), expire_on_commit=False) as session:
        yield session


@pytest.fixture
def people(db: Session) -> tuple[User, User]:
    account = Account(name="Acme")
    db.add(account)
    db.flush()
    account_id = account.id or 0
    users = (User(account_id=account_id, email="a@x.example", name="A", password_hash="x", role=Role.ADMIN),
             User(account_id=account_id, email="b@x.example", name="B", password_hash="x", role=Role.MANAGER))
    db.add_all(users)
    db.commit()
    return users


def issue(db: Session, store: dict[str, Any], user: User, **kwargs: Any) -> str:
    return oauth.issue_state(db, store, user_id=user.id or 0, account_id=user.account_id, **kwargs)


def consume(db: Session, store: dict[str, Any], value: str | None, user: User, **kwargs: Any) -> OAuthState:
    return oauth.consume_state(db, store, value, user_id=user.id or 0, account_id=user.account_id, **kwargs)


def problem(call: Any) -> oauth.StateProblem:
    with pytest.raises(oauth.StateError) as caught:
        call()
    return caught.value.problem


def test_a_state_is_stored_hashed_and_kept_in_the_session(db: Session, people: tuple[User, User]) -> None:
    store: dict[str, Any] = {}
    value = issue(db, store, people[0], mode="tab", expected_selling_partner_id="A1")
    row = db.exec(select(OAuthState)).one()
    assert row.state_hash == oauth.hash_state(value) != value
    assert row.mode == "tab" and row.expected_selling_partner_id == "A1"
    assert store[oauth.SESSION_KEY] == [value]


def test_a_state_is_accepted_once(db: Session, people: tuple[User, User]) -> None:
    store: dict[str, Any] = {}
    value = issue(db, store, people[0])
    assert consume(db, store, value, people[0]).used_at is not None
    assert problem(lambda: consume(db, store, value, people[0])) == oauth.StateProblem.USED


def test_a_state_expires_after_ten_minutes(db: Session, people: tuple[User, User]) -> None:
    store: dict[str, Any] = {}
    issued_at = utcnow()
    fresh = issue(db, store, people[0], now=issued_at)
    stale = issue(db, store, people[0], now=issued_at)
    assert consume(db, store, fresh, people[0], now=issued_at + timedelta(minutes=9, seconds=59))
    late = issued_at + timedelta(minutes=10, seconds=1)
    assert problem(lambda: consume(db, store, stale, people[0], now=late)) == oauth.StateProblem.EXPIRED


def test_a_state_is_bound_to_its_session_and_user(db: Session, people: tuple[User, User]) -> None:
    mine: dict[str, Any] = {}
    value = issue(db, mine, people[0])
    other_session: dict[str, Any] = {}
    assert problem(lambda: consume(db, other_session, value, people[0])) == oauth.StateProblem.OTHER_SESSION
    shared_session = dict(mine)
    assert problem(lambda: consume(db, shared_session, value, people[1])) == oauth.StateProblem.OTHER_SESSION
    assert consume(db, mine, value, people[0])  # the refused attempts did not burn it


def test_missing_and_forged_states_are_refused(db: Session, people: tuple[User, User]) -> None:
    store: dict[str, Any] = {}
    issue(db, store, people[0])
    assert problem(lambda: consume(db, store, "", people[0])) == oauth.StateProblem.MISSING
    assert problem(lambda: consume(db, store, "made-up", people[0])) == oauth.StateProblem.UNKNOWN


def test_the_session_keeps_only_the_newest_states(db: Session, people: tuple[User, User]) -> None:
    store: dict[str, Any] = {}
    values = [issue(db, store, people[0]) for _ in range(oauth.MAX_STATES_PER_SESSION + 2)]
    assert store[oauth.SESSION_KEY] == values[-oauth.MAX_STATES_PER_SESSION:]


def test_old_states_are_cleaned_up_when_new_ones_are_issued(db: Session, people: tuple[User, User]) -> None:
    store: dict[str, Any] = {}
    issue(db, store, people[0], now=utcnow() - timedelta(days=2))
    issue(db, store, people[0])
    assert len(db.exec(select(OAuthState)).all()) == 1
