"""Demo data for ``make run``.

Two merchant accounts: "Demo Outfitters" (admin, manager and staff users; not connected, so a new user
can walk through the wizard) and "Second Street Goods", already connected to a sandbox seller when
``bin/dev`` passes a refresh token it obtained from the sandbox, so its first sync lands in the sandbox
within a minute of start.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, select

from wizard.accounts.service import create_user
from wizard.crypto import TokenCipher
from wizard.models import Account, AmazonSettings, Connection, ConnectionStatus, Role, User
from wizard.models.base import utcnow

DEMO_PASSWORD = "demo-password"  # noqa: S105 - printed to the developer on purpose
DEMO_ACCOUNT = "Demo Outfitters"
DEMO_USERS = [
    (Role.ADMIN, "admin@demo.example", "Avery Admin"),
    (Role.MANAGER, "manager@demo.example", "Morgan Manager"),
    (Role.STAFF, "staff@demo.example", "Sam Staff"),
]
CONNECTED_ACCOUNT = "Second Street Goods"
CONNECTED_USERS = [(Role.ADMIN, "admin@second.example", "Riley Second")]


def _account(session: Session, name: str, users: list[tuple[Role, str, str]]) -> Account:
    account = session.exec(select(Account).where(Account.name == name)).first()
    if account is None:
        account = Account(name=name)
        session.add(account)
        session.flush()
    for role, email, user_name in users:
        if session.exec(select(User).where(User.email == email)).first() is None:
            create_user(session, account, email=email, name=user_name, password=DEMO_PASSWORD, role=role)
    return account


def _connect(session: Session, account: Account, config: Mapping[str, Any], seller_id: str,
             refresh_token: str) -> None:
    """Store a sandbox grant on the account, as a completed wizard would."""
    assert account.id is not None
    connection = session.exec(select(Connection).where(Connection.account_id == account.id)).first()
    if connection is None:
        connection = Connection(account_id=account.id)
    now = utcnow()
    connection.status = ConnectionStatus.CONNECTED
    connection.selling_partner_id = seller_id
    connection.refresh_token_encrypted = TokenCipher(config["TOKEN_ENCRYPTION_KEYS"]).encrypt(refresh_token)
    connection.authorized_at = now
    connection.verified_at = now
    connection.selling_plan = "PROFESSIONAL"
    connection.us_participating = True
    connection.store_name = CONNECTED_ACCOUNT
    connection.updated_at = now
    account.prerequisites_acknowledged_at = account.prerequisites_acknowledged_at or now
    session.add(connection)
    session.add(account)
    if session.get(AmazonSettings, account.id) is None:
        # A common setup from the guide's FAQ: buffer 6, ceiling 4; and a $5 floor.
        session.add(AmazonSettings(account_id=account.id, inventory_buffer=6, inventory_ceiling=4,
                                   min_price_cents=500, saved_at=now))


def load(session: Session, config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Create the demo accounts and users if missing; return (role, email) sign-ins."""
    demo = _account(session, DEMO_ACCOUNT, DEMO_USERS)
    second = _account(session, CONNECTED_ACCOUNT, CONNECTED_USERS)
    seller = os.environ.get("DEMO_PRECONNECTED_SELLER")
    refresh_token = os.environ.get("DEMO_PRECONNECTED_REFRESH_TOKEN")
    if seller and refresh_token:
        _connect(session, second, config, seller, refresh_token)
    session.commit()
    _load_catalogs(session, [demo, second])
    session.commit()
    if seller and refresh_token:
        _sync_now(second, config)
    return [(role.value, email) for role, email, _ in DEMO_USERS + CONNECTED_USERS]


def _load_catalogs(session: Session, accounts: list[Account]) -> None:
    """Give each demo account a realistic catalog (see ``demo_catalog``)."""
    from wizard.catalog.demo import load_catalog

    for account in accounts:
        load_catalog(session, account)


def _sync_now(account: Account, config: Mapping[str, Any]) -> None:
    """Start the connected account's first sync now rather than at the scheduler's next tick."""
    from wizard.redis_connection import open_redis
    from wizard.tasks import enqueue_sync

    assert account.id is not None
    redis = open_redis(config["REDIS_URL"])
    try:
        enqueue_sync(account.id, "manual", redis=redis)
    finally:
        redis.close()
