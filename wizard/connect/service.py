"""What happens to the connection row: authorize, confirm a different seller, verify, disconnect.

The views decide what the merchant sees; these functions only change the database (tokens always
encrypted with ``wizard.crypto``) and call the Amazon client. They never touch the settings table, which is
how re-authorizing and disconnecting keep every setting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select

from wizard.amazon import (
    AccessDenied,
    AmazonClient,
    AmazonError,
    AmazonRequestError,
    AmazonUnavailable,
    AuthorizationRevoked,
    InvalidClient,
    SellerAuth,
    TokenSet,
)
from wizard.amazon.client import US_MARKETPLACE_ID, Participation
from wizard.connect.steps import PROFESSIONAL, connection_of
from wizard.connect.tips import STATUS_LABELS
from wizard.crypto import InvalidToken, TokenCipher
from wizard.models import Account, Connection, ConnectionStatus
from wizard.models.base import utcnow

log = logging.getLogger(__name__)


class SellerTaken(Exception):
    """The Amazon seller is already connected to another Ecommerce account."""


class SellerNotConfirmed(Exception):
    """Amazon refused the new tokens on the claimed seller's own path: the Seller ID is not theirs."""


def confirm_seller_claim(amazon: AmazonClient, selling_partner_id: str, tokens: TokenSet) -> None:
    """Check with Amazon that ``tokens`` belong to ``selling_partner_id`` before anything is recorded.

    The callback's ``selling_partner_id`` comes through the browser, so it is only a claim (issue 8, M1:
    a merchant could send another seller's ID with their own code and squat it). A call that names the
    seller in its path, made with the new access token, proves it: ``searchListingsItems`` on
    ``/listings/2021-08-01/items/{sellerId}`` with ``pageSize=1``, which Amazon answers with 403 when the
    token belongs to another seller (FACTS.md §c, §i). Any other refusal (400 for a seller outside the US
    marketplace) comes after Amazon's authorization check, so it confirms the seller as well; the verify
    step then explains the marketplace. Raise ``SellerNotConfirmed`` on 403, ``AmazonUnavailable`` when
    Amazon cannot answer.
    """
    seller = SellerAuth(selling_partner_id, tokens.refresh_token)
    amazon.remember_access_token(seller, tokens)
    try:
        amazon.listings.confirm_seller(seller)
    except AccessDenied:
        amazon.forget_access_token(seller)
        raise SellerNotConfirmed(selling_partner_id) from None
    except AmazonRequestError as exc:
        if exc.status in (401, 403):
            amazon.forget_access_token(seller)
            raise SellerNotConfirmed(selling_partner_id) from None
        log.info("seller %s confirmed by Amazon's %s answer on its own listings path", selling_partner_id,
                 exc.status)


class Outcome(StrEnum):
    """How a successful authorization changed the connection."""

    CONNECTED = "connected"
    REAUTHORIZED = "reauthorized"
    PENDING_CONFIRMATION = "pending_confirmation"


def connection_for(db: Session, account_id: int) -> Connection | None:
    """Return the account's connection row, if any (read once per database session)."""
    return connection_of(db, account_id)


@dataclass(frozen=True)
class ConnectionView:
    """What a page shows about the connection: its status, the status's label, and whether one exists."""

    status: ConnectionStatus
    label: str
    connected: bool

    @classmethod
    def of(cls, connection: Connection | None) -> ConnectionView:
        """Describe ``connection``: a row without a refresh token counts as not connected."""
        connected = connection is not None and bool(connection.refresh_token_encrypted)
        status = connection.status if connection is not None and connected else ConnectionStatus.NOT_CONNECTED
        return cls(status=status, label=STATUS_LABELS[status], connected=connected)


def _get_or_create(db: Session, account_id: int) -> Connection:
    connection = connection_for(db, account_id)
    if connection is None:
        connection = Connection(account_id=account_id)
        db.add(connection)
    return connection


def seller_taken(db: Session, account_id: int, selling_partner_id: str) -> bool:
    """Return whether another account holds (or is about to hold) this seller."""
    other = db.exec(select(Connection).where(
        col(Connection.account_id) != account_id,
        or_(col(Connection.selling_partner_id) == selling_partner_id,
            col(Connection.pending_selling_partner_id) == selling_partner_id),
    )).first()
    return other is not None


def _clear_verification(connection: Connection) -> None:
    connection.store_name = None
    connection.selling_plan = None
    connection.us_participating = None
    connection.verified_at = None


def store_authorization(db: Session, *, account_id: int, user_id: int, selling_partner_id: str,
                        refresh_token: str, cipher: TokenCipher, now: datetime | None = None) -> Outcome:
    """Keep a new authorization: connect, renew, or hold a different seller until the merchant confirms."""
    now = now or utcnow()
    if seller_taken(db, account_id, selling_partner_id):
        raise SellerTaken(selling_partner_id)
    connection = _get_or_create(db, account_id)
    encrypted = cipher.encrypt(refresh_token)
    connection.updated_at = now
    if (connection.refresh_token_encrypted and connection.selling_partner_id
            and connection.selling_partner_id != selling_partner_id):
        connection.pending_selling_partner_id = selling_partner_id
        connection.pending_refresh_token_encrypted = encrypted
        db.commit()
        return Outcome.PENDING_CONFIRMATION
    renewed = connection.selling_partner_id == selling_partner_id and bool(connection.refresh_token_encrypted)
    if connection.selling_partner_id != selling_partner_id:
        _clear_verification(connection)
    connection.selling_partner_id = selling_partner_id
    connection.refresh_token_encrypted = encrypted
    connection.pending_selling_partner_id = None
    connection.pending_refresh_token_encrypted = None
    connection.authorized_at = now
    connection.authorized_by_user_id = user_id
    connection.status = ConnectionStatus.CONNECTED
    connection.last_error_code = None
    connection.last_error_message = None
    db.commit()
    return Outcome.REAUTHORIZED if renewed else Outcome.CONNECTED


def confirm_pending(db: Session, connection: Connection, *, user_id: int,
                    now: datetime | None = None) -> bool:
    """Replace the stored seller by the pending one; return False if there was nothing to confirm."""
    if not connection.pending_selling_partner_id or not connection.pending_refresh_token_encrypted:
        return False
    if seller_taken(db, connection.account_id, connection.pending_selling_partner_id):
        discard_pending(db, connection)
        raise SellerTaken(connection.selling_partner_id or "")
    now = now or utcnow()
    connection.selling_partner_id = connection.pending_selling_partner_id
    connection.refresh_token_encrypted = connection.pending_refresh_token_encrypted
    connection.pending_selling_partner_id = None
    connection.pending_refresh_token_encrypted = None
    _clear_verification(connection)
    connection.authorized_at = now
    connection.authorized_by_user_id = user_id
    connection.status = ConnectionStatus.CONNECTED
    connection.last_error_code = None
    connection.last_error_message = None
    connection.updated_at = now
    db.commit()
    return True


def discard_pending(db: Session, connection: Connection) -> None:
    """Forget a pending different-seller authorization; the stored one stays as it was."""
    connection.pending_selling_partner_id = None
    connection.pending_refresh_token_encrypted = None
    connection.updated_at = utcnow()
    db.commit()


def seller_auth(connection: Connection, cipher: TokenCipher) -> SellerAuth | None:
    """Return what the Amazon client needs to call for this connection, or None without a token."""
    if not connection.selling_partner_id or not connection.refresh_token_encrypted:
        return None
    return SellerAuth(connection.selling_partner_id, cipher.decrypt(connection.refresh_token_encrypted))


def disconnect(db: Session, connection: Connection, *, amazon: AmazonClient, cipher: TokenCipher) -> None:
    """Forget the tokens and the seller here (settings stay); drop the cached access token too."""
    for encrypted in (connection.refresh_token_encrypted, connection.pending_refresh_token_encrypted):
        if encrypted and connection.selling_partner_id:
            try:
                seller = SellerAuth(connection.selling_partner_id, cipher.decrypt(encrypted))
                amazon.forget_access_token(seller)
            except InvalidToken:
                log.warning("could not decrypt a token of connection %s while disconnecting", connection.id)
    connection.selling_partner_id = None
    connection.refresh_token_encrypted = None
    connection.pending_selling_partner_id = None
    connection.pending_refresh_token_encrypted = None
    _clear_verification(connection)
    connection.authorized_at = None
    connection.authorized_by_user_id = None
    connection.status = ConnectionStatus.NOT_CONNECTED
    connection.last_error_code = None
    connection.last_error_message = None
    connection.updated_at = utcnow()
    db.commit()


def disconnect_and_restart(db: Session, account: Account, connection: Connection, *, amazon: AmazonClient,
                           cipher: TokenCipher) -> None:
    """Disconnect, and ask for Step 1 again: the guide's "start over from Step 1" after a disconnection."""
    disconnect(db, connection, amazon=amazon, cipher=cipher)
    account.prerequisites_acknowledged_at = None
    db.add(account)
    db.commit()


class Check(StrEnum):
    """The result of checking the seller with the Sellers API."""

    VERIFIED = "verified"
    INDIVIDUAL_PLAN = "individual_plan"
    NO_US_MARKETPLACE = "no_us_marketplace"
    NEEDS_REAUTHORIZATION = "needs_reauthorization"
    UNAVAILABLE = "unavailable"
    OPERATOR_PROBLEM = "operator_problem"
    ERROR = "error"
    NOT_CONNECTED = "not_connected"


@dataclass(frozen=True)
class CheckResult:
    """What the seller check found, for the verify page."""

    check: Check
    detail: str = ""


def verify_seller(db: Session, connection: Connection, *, amazon: AmazonClient, cipher: TokenCipher,
                  now: datetime | None = None) -> CheckResult:
    """Ask Amazon for the seller's marketplaces and plan; store what it says on the connection."""
    now = now or utcnow()
    try:
        seller = seller_auth(connection, cipher)
    except InvalidToken:
        log.error("TOKEN_ENCRYPTION_KEYS cannot decrypt the refresh token of connection %s", connection.id)
        return _failed(db, connection, Check.OPERATOR_PROBLEM, "token_key", "The stored token is unreadable.")
    if seller is None:
        return CheckResult(Check.NOT_CONNECTED)
    try:
        participations = amazon.get_marketplace_participations(seller)
        account = amazon.get_account(seller)
    except (AuthorizationRevoked, AccessDenied) as exc:
        connection.status = ConnectionStatus.NEEDS_REAUTHORIZATION
        return _failed(db, connection, Check.NEEDS_REAUTHORIZATION, exc.code or "invalid_grant", exc.message)
    except InvalidClient as exc:
        log.error("seller check for connection %s: LWA rejected the app's credentials (%s)",
                  connection.id, exc.code)
        return _failed(db, connection, Check.OPERATOR_PROBLEM, exc.code, exc.message)
    except AmazonUnavailable as exc:
        return CheckResult(Check.UNAVAILABLE, exc.message)
    except AmazonError as exc:
        log.warning("seller check for connection %s failed: %s", connection.id, exc)
        connection.status = ConnectionStatus.ERROR
        return _failed(db, connection, Check.ERROR, exc.code, exc.message)
    participating = [p for p in participations if p.is_participating]
    us = next((p for p in participating if p.marketplace_id == US_MARKETPLACE_ID), None)
    shown = us or (participating[0] if participating else None)
    connection.store_name = (shown.store_name or None) if shown else None
    connection.selling_plan = account.selling_plan or None
    connection.us_participating = us is not None
    connection.status = ConnectionStatus.CONNECTED
    connection.last_error_code = None
    connection.last_error_message = None
    connection.updated_at = now
    if us is None:
        result = CheckResult(Check.NO_US_MARKETPLACE)
    elif account.selling_plan != PROFESSIONAL:
        result = CheckResult(Check.INDIVIDUAL_PLAN, account.selling_plan)
    else:
        result = CheckResult(Check.VERIFIED)
    connection.verified_at = now if result.check == Check.VERIFIED else None
    db.commit()
    return result


def _failed(db: Session, connection: Connection, check: Check, code: str, message: str) -> CheckResult:
    connection.last_error_code = (code or check.value)[:80]
    connection.last_error_message = message[:500]
    connection.updated_at = utcnow()
    db.commit()
    return CheckResult(check, message)


def mark_needs_reauthorization(db: Session, connection: Connection, code: str, message: str) -> None:
    """Record that Amazon no longer accepts the refresh token (LWA ``invalid_grant``)."""
    connection.status = ConnectionStatus.NEEDS_REAUTHORIZATION
    _failed(db, connection, Check.NEEDS_REAUTHORIZATION, code, message)


#: The reasons the health probe gives when Amazon answers but the seller can no longer use the integration.
PROBE_REASONS = {
    Check.INDIVIDUAL_PLAN: "Amazon reports this seller account is on the Individual selling plan. You need a "
                           "Professional selling plan (not Individual) to use the integration.",
    Check.NO_US_MARKETPLACE: "Amazon reports this seller account no longer participates in the Amazon US "
                             "marketplace (Amazon.com).",
}


def probe_connection(db: Session, connection: Connection, *, amazon: AmazonClient, cipher: TokenCipher,
                     now: datetime | None = None) -> CheckResult:
    """Check that Amazon still accepts the connection; record the answer and when it was asked.

    The LWA token is refreshed first (a cached access token would hide a grant revoked in Seller Central),
    then the seller check of step 3 runs. A revoked grant means "needs re-authorization"; a seller without
    the US marketplace or the Professional plan is an error with the reason, so syncs stop until it is fixed.
    """
    now = now or utcnow()
    connection.health_checked_at = now
    try:
        seller = seller_auth(connection, cipher)
        if seller is not None:
            amazon.access_token(seller, force_refresh=True)
    except InvalidToken:
        pass  # verify_seller reports the unreadable token to the operator
    except AuthorizationRevoked as exc:
        mark_needs_reauthorization(db, connection, exc.code or "invalid_grant", exc.message)
        return CheckResult(Check.NEEDS_REAUTHORIZATION, exc.message)
    except AmazonError:
        pass  # verify_seller asks again and classifies the failure
    result = verify_seller(db, connection, amazon=amazon, cipher=cipher, now=now)
    reason = PROBE_REASONS.get(result.check)
    if reason is not None:
        connection.status = ConnectionStatus.ERROR
        _failed(db, connection, result.check, result.check.value, reason)
        return CheckResult(result.check, reason)
    db.commit()
    return result


def stored_check(connection: Connection | None) -> CheckResult | None:
    """Return the last seller check as stored on the connection, for a page rendered without a live check."""
    if connection is None or not connection.refresh_token_encrypted:
        return None
    if connection.status == ConnectionStatus.NEEDS_REAUTHORIZATION:
        return CheckResult(Check.NEEDS_REAUTHORIZATION)
    if connection.verified_at:
        return CheckResult(Check.VERIFIED)
    if connection.us_participating is False:
        return CheckResult(Check.NO_US_MARKETPLACE)
    if connection.selling_plan:
        return CheckResult(Check.INDIVIDUAL_PLAN, connection.selling_plan)
    return None


@dataclass(frozen=True)
class SellerGlance:
    """A seller as the replace prompt names it: store name and marketplace, as Amazon reports them."""

    seller_id: str
    store_name: str | None
    marketplace: str | None


def _marketplace_label(participation: Participation | None) -> str | None:
    if participation is None:
        return None
    return f"{participation.marketplace_name} ({participation.country_code})"


def pending_seller_glance(connection: Connection, *, amazon: AmazonClient,
                          cipher: TokenCipher) -> SellerGlance | None:
    """Ask Amazon which store and marketplace the just-authorized (pending) seller has, for the prompt.

    None when there is no pending seller; a glance without names when Amazon cannot tell us now (the prompt
    still works: it shows the Seller ID).
    """
    seller_id = connection.pending_selling_partner_id
    if not seller_id or not connection.pending_refresh_token_encrypted:
        return None
    try:
        seller = SellerAuth(seller_id, cipher.decrypt(connection.pending_refresh_token_encrypted))
        participations = [p for p in amazon.get_marketplace_participations(seller) if p.is_participating]
    except (AmazonError, InvalidToken) as exc:
        log.info("could not read the pending seller's store for connection %s: %s", connection.id, exc)
        return SellerGlance(seller_id, None, None)
    shown = next((p for p in participations if p.marketplace_id == US_MARKETPLACE_ID),
                 participations[0] if participations else None)
    return SellerGlance(seller_id, shown.store_name or None if shown else None, _marketplace_label(shown))


def usable(connection: Connection | None) -> bool:
    """Return whether Ecommerce may call Amazon for this connection: connected, with a seller and a token.

    The one answer to "is the connection usable?" (the sync, the scheduler and "Sync now" ask it); its SQL
    form is :func:`usable_condition`.
    """
    return (connection is not None and connection.status == ConnectionStatus.CONNECTED
            and bool(connection.refresh_token_encrypted) and bool(connection.selling_partner_id))


def usable_condition() -> ColumnElement[bool]:
    """Return :func:`usable` as a SQL condition on the ``connection`` table (for the scheduler's query)."""
    return and_(col(Connection.status) == ConnectionStatus.CONNECTED,
                col(Connection.refresh_token_encrypted).is_not(None),
                col(Connection.refresh_token_encrypted) != "",
                col(Connection.selling_partner_id).is_not(None),
                col(Connection.selling_partner_id) != "")
