"""The onboarding wizard's steps and the guide's checklist, derived from the database only.

``current_step(facts)`` is pure: the facts are read from persisted rows (``facts_for``), never from the
session, so a merchant can close the browser and come back on another device to the right step.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from sqlalchemy import ColumnElement, Select, and_, bindparam, select
from sqlmodel import Session, col

from wizard.models import Account, Connection

#: The selling plan Amazon reports for sellers who may use the integration.
PROFESSIONAL = "PROFESSIONAL"


class StepName(StrEnum):
    """The wizard's steps, in order; ``DONE`` once every step is complete."""

    PREREQUISITES = "prerequisites"
    GRANT_ACCESS = "grant_access"
    VERIFY = "verify"
    SETTINGS = "settings"
    DONE = "done"


ORDER: tuple[StepName, ...] = (
    StepName.PREREQUISITES, StepName.GRANT_ACCESS, StepName.VERIFY, StepName.SETTINGS,
)

#: Step -> (label, endpoint). Step 4 belongs to the settings blueprint.
STEP_INFO: dict[StepName, tuple[str, str]] = {
    StepName.PREREQUISITES: ("Prerequisites", "connect.prerequisites"),
    StepName.GRANT_ACCESS: ("Grant Access", "connect.grant_access"),
    StepName.VERIFY: ("Verify Seller ID", "connect.verify"),
    StepName.SETTINGS: ("Inventory & pricing", "amazon_settings.index"),
}


@dataclass(frozen=True)
class Facts:
    """What the database says about an account's progress."""

    prerequisites_acknowledged: bool = False
    has_refresh_token: bool = False
    seller_verified: bool = False
    settings_saved: bool = False
    #: The selling plan Amazon reported at the last check ("PROFESSIONAL", "INDIVIDUAL"), None before any.
    selling_plan: str | None = None


def current_step(facts: Facts) -> StepName:
    """Return the first step that is not done yet, or ``DONE``."""
    if not facts.prerequisites_acknowledged:
        return StepName.PREREQUISITES
    if not facts.has_refresh_token:
        return StepName.GRANT_ACCESS
    if not facts.seller_verified:
        return StepName.VERIFY
    if not facts.settings_saved:
        return StepName.SETTINGS
    return StepName.DONE


def is_allowed(step: StepName, facts: Facts) -> bool:
    """Return whether ``step`` may be visited: any done step, and the current one."""
    reached = current_step(facts)
    if reached == StepName.DONE:
        return True
    if step == StepName.DONE:
        return False
    return ORDER.index(step) <= ORDER.index(reached)


#: What the merchant reads when a sync is asked for before the setup checklist is complete.
SETUP_INCOMPLETE = ("Finish the Amazon setup first: verify your Seller ID and save your inventory and "
                    "pricing settings. Nothing is sent to Amazon until you do.")


def ready_to_sync(facts: Facts) -> bool:
    """Return whether Ecommerce may send anything to Amazon for this account.

    Only once the whole checklist is done: a verified Professional US seller, and settings the merchant saved
    (before that, the defaults would list every product with stock and send every price unreviewed).
    """
    return current_step(facts) == StepName.DONE


def connection_complete(facts: Facts) -> bool:
    """Return whether the connection part (steps 1 to 3) is done."""
    return facts.prerequisites_acknowledged and facts.has_refresh_token and facts.seller_verified


@dataclass(frozen=True)
class Step:
    """One step as the stepper shows it. ``url`` is None when its page does not exist (yet)."""

    number: int
    name: StepName
    label: str
    endpoint: str
    done: bool
    current: bool
    url: str | None = None

    @property
    def reachable(self) -> bool:
        """Return whether the merchant may open this step now."""
        return self.url is not None and (self.done or self.current)


def steps_for(facts: Facts, urls: dict[str, str] | None = None) -> list[Step]:
    """Return the four steps for ``facts``; ``urls`` maps endpoints to URLs (missing: not linkable)."""
    reached = current_step(facts)
    done_flags = {
        StepName.PREREQUISITES: facts.prerequisites_acknowledged,
        StepName.GRANT_ACCESS: facts.prerequisites_acknowledged and facts.has_refresh_token,
        StepName.VERIFY: connection_complete(facts),
        StepName.SETTINGS: connection_complete(facts) and facts.settings_saved,
    }
    urls = urls or {}
    return [
        Step(number=index, name=name, label=STEP_INFO[name][0], endpoint=STEP_INFO[name][1],
             done=done_flags[name], current=name == reached, url=urls.get(STEP_INFO[name][1]))
        for index, name in enumerate(ORDER, start=1)
    ]


# ---- the guide's checklist (Connection part), word for word ------------------------------------------------

CHECKLIST_ROWS: tuple[str, ...] = (
    "Confirmed you have an active Amazon Professional Seller account.",
    "Confirmed you have admin or manager access in Ecommerce.",
    "Navigated to Settings > Integrations Settings > Amazon.",
    'Clicked "Grant Access" and completed the Amazon authorization.',
    "Verified that your Amazon Seller ID appears on the integration settings page.",
)


@dataclass(frozen=True)
class ChecklistRow:
    """One row of the guide's checklist with its tick, and why it is not ticked when that needs saying."""

    text: str
    done: bool
    note: str = ""


def checklist(facts: Facts, *, can_manage: bool, on_integration_page: bool) -> list[ChecklistRow]:
    """Return the guide's Connection checklist for the user who reads it, every tick derived from facts.

    Nothing here is ticked by hand: the plan row follows what Amazon reported once it was asked (before that,
    the confirmation on the Prerequisites step), the access row follows the reader's role, and the
    navigation row is ticked on the integration pages themselves (or once the prerequisites were confirmed
    there).
    """
    if facts.selling_plan is not None:
        professional = facts.selling_plan == PROFESSIONAL
        plan_note = "" if professional else (
            f"Amazon reports your plan as {facts.selling_plan.title()}: upgrade to Professional in Seller "
            "Central.")
    else:
        professional, plan_note = facts.prerequisites_acknowledged, ""
    rows = (
        (professional, plan_note),
        (can_manage, "" if can_manage else "You have staff access: an admin or manager completes the setup."),
        (on_integration_page or facts.prerequisites_acknowledged, ""),
        (facts.prerequisites_acknowledged and facts.has_refresh_token, ""),
        (connection_complete(facts), ""),
    )
    return [ChecklistRow(text, done, note) for text, (done, note) in zip(CHECKLIST_ROWS, rows, strict=True)]


# ---- reading the facts -------------------------------------------------------------------------------------

def seller_verified(connection: Connection | None) -> bool:
    """Return whether Amazon confirmed a Professional plan and US participation for the connection."""
    return bool(
        connection is not None and connection.refresh_token_encrypted and connection.verified_at
        and connection.selling_plan == PROFESSIONAL and connection.us_participating
    )


def _settings_saved(session: Session, account_id: int) -> bool:
    from wizard.models.catalog import AmazonSettings

    row = session.get(AmazonSettings, account_id)
    return bool(row is not None and row.saved_at)


def ready_to_sync_condition() -> ColumnElement[bool]:
    """Return :func:`ready_to_sync` of :func:`facts_for` as one SQL condition (for the scheduler's query).

    On ``account`` joined with its ``connection`` and its ``amazon_settings``: the cron asks it of every
    account at once, instead of reading each account's facts one by one (issue 12 §4).
    ``tests/integration/test_sync_fan_out.py`` checks that both say the same for every combination of facts.
    """
    from wizard.models.catalog import AmazonSettings

    return and_(col(Account.prerequisites_acknowledged_at).is_not(None),
                col(Connection.refresh_token_encrypted).is_not(None),
                col(Connection.refresh_token_encrypted) != "",
                col(Connection.verified_at).is_not(None),
                col(Connection.selling_plan) == PROFESSIONAL,
                col(Connection.us_participating).is_(True),
                col(AmazonSettings.saved_at).is_not(None))


@cache
def _connection_of_account() -> Select[Connection]:
    # Built once: building a statement costs more than running it (every page runs this one).
    return select(Connection).where(col(Connection.account_id) == bindparam("account_id"))


def connection_of(session: Session, account_id: int) -> Connection | None:
    """Return the account's connection row, read once per database session.

    A page asks for it three or four times (the banner, the setup card, the view itself); the request's
    session keeps the row it found, the same object its identity map would give back. A missing row is not
    remembered, so a connection created later in the same session is found.
    """
    known: dict[int, Connection] = session.info.setdefault("connection_of", {})
    connection = known.get(account_id)
    if connection is None:
        connection = session.scalars(_connection_of_account(), {"account_id": account_id}).first()
        if connection is not None:
            known[account_id] = connection
    return connection


def remember_connection(session: Session, account_id: int, connection: Connection | None) -> None:
    """Give :func:`connection_of` a row the caller read with another query (the sign-in check reads it).

    A missing row is not remembered, as in :func:`connection_of`.
    """
    if connection is not None:
        session.info.setdefault("connection_of", {})[account_id] = connection


def facts_for(session: Session, account: Account) -> Facts:
    """Read an account's progress from the database."""
    assert account.id is not None
    connection = connection_of(session, account.id)
    return Facts(
        prerequisites_acknowledged=account.prerequisites_acknowledged_at is not None,
        has_refresh_token=bool(connection and connection.refresh_token_encrypted),
        seller_verified=seller_verified(connection),
        settings_saved=_settings_saved(session, account.id),
        selling_plan=connection.selling_plan if connection and connection.refresh_token_encrypted else None,
    )


def wizard_steps(facts: Facts) -> list[Step]:
    """Return the stepper's steps for an account's facts (``partial/connect/stepper.html`` shows them)."""
    from flask import current_app, url_for

    urls = {endpoint: url_for(endpoint) for _, endpoint in STEP_INFO.values()
            if endpoint in current_app.view_functions}
    return steps_for(facts, urls)
