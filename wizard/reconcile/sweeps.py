"""Read Amazon's listings back: the full sweep (a report), the incremental sweep (a search), look-ups.

Every step is written to ``reconcile_sweep`` before the next one, so a job killed at any moment is carried on
by the next one for the account, never started over:

- full: the ``reportId`` is stored as soon as ``createReport`` answers (Amazon allows about one a minute), and
  a restarted job polls that same report; while Amazon prepares it the job returns a follow-up delay (it is
  re-enqueued, no worker waits); the document is stream-parsed and stored a batch at a time, with the number
  of rows done, which a restart skips;
- incremental: the ``lastUpdated`` windows still to read and the current window's ``pageToken`` are stored
  with each page's items, in one transaction. A window holding more than 1,000 items (what a search can page
  through, FACTS.md §i) is split in two until each part fits.

Amazon facts: FACTS.md §i, ``listingsItems_2021-08-01.json``, ``reports_2021-06-30.json``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from wizard.amazon.client import AmazonClient, SellerAuth
from wizard.amazon.listings import MAX_IDENTIFIERS, ListingsApi
from wizard.amazon.reports import ListingRow, ReportsApi
from wizard.logs import bind
from wizard.models.base import utcnow
from wizard.models.reconcile import ListingSource, ReconcileSweep, SweepKind, SweepStatus
from wizard.reconcile import store

log = logging.getLogger(__name__)

#: A window is not split below this (Amazon's times have millisecond precision).
MIN_WINDOW = timedelta(milliseconds=2)


@dataclass(frozen=True)
class SweepOutcome:
    """What a step of a sweep did: a status word, and when to come back (None: nothing to come back for)."""

    status: str
    sweep_id: int | None = None
    follow_up_in: float | None = None


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _time(raw: str) -> datetime:
    return datetime.fromisoformat(raw)


def active_sweep(session: Session, account_id: int, kind: SweepKind) -> ReconcileSweep | None:
    """Return the account's unfinished sweep of ``kind``, if one was started and not finished."""
    return session.scalars(select(ReconcileSweep).where(
        col(ReconcileSweep.account_id) == account_id, col(ReconcileSweep.kind) == kind.value,
        col(ReconcileSweep.status) == SweepStatus.RUNNING.value).order_by(col(ReconcileSweep.id))).first()


def last_done(session: Session, account_id: int, *kinds: SweepKind) -> ReconcileSweep | None:
    """Return the account's most recently started finished sweep of one of ``kinds``."""
    return session.scalars(select(ReconcileSweep).where(
        col(ReconcileSweep.account_id) == account_id,
        col(ReconcileSweep.kind).in_([k.value for k in kinds]),
        col(ReconcileSweep.status) == SweepStatus.DONE.value)
        .order_by(col(ReconcileSweep.started_at).desc(), col(ReconcileSweep.id).desc())).first()


class Reconciler:
    """Advance one account's reads of Amazon as far as they can go now."""

    def __init__(self, config: Any, session: Session, account_id: int, seller: SellerAuth,
                 client: AmazonClient, *, now: Callable[[], datetime] = utcnow) -> None:
        self.session = session
        self.account_id = account_id
        self.seller = seller
        self.listings = ListingsApi(client)
        self.reports = ReportsApi(client)
        self.now = now
        self.poll_initial = float(config["RECONCILE_POLL_INITIAL"])
        self.poll_max = float(config["RECONCILE_POLL_MAX"])
        self.margin = timedelta(seconds=int(config["RECONCILE_SAFETY_MARGIN"]))

    def _touch(self, sweep: ReconcileSweep) -> None:
        sweep.updated_at = self.now()
        self.session.commit()

    def _start(self, kind: SweepKind, **values: Any) -> ReconcileSweep:
        sweep = ReconcileSweep(account_id=self.account_id, kind=kind.value, started_at=self.now(), **values)
        self.session.add(sweep)
        self.session.commit()
        bind(sweep_id=sweep.id)  # the job's later lines name the sweep
        return sweep

    def _finish(self, sweep: ReconcileSweep, status: SweepStatus = SweepStatus.DONE,
                error: str | None = None) -> SweepOutcome:
        sweep.status = status.value
        sweep.finished_at = sweep.updated_at = self.now()
        sweep.error = error[:1000] if error else None
        sweep.page_token = None
        self.session.commit()
        return SweepOutcome(status.value, sweep.id)

    # ---- the full sweep: GET_MERCHANT_LISTINGS_ALL_DATA ---------------------------------------------------

    def full(self) -> SweepOutcome:
        """Request, poll, download and store the full listings report; resume a sweep a crash cut short."""
        sweep = active_sweep(self.session, self.account_id, SweepKind.FULL) or self._start(SweepKind.FULL)
        bind(sweep_id=sweep.id)
        if sweep.report_id is None:
            sweep.report_id = self.reports.create_report(self.seller)
            sweep.calls += 1
            sweep.next_poll_at = self.now() + timedelta(seconds=self.poll_initial)
            self._touch(sweep)
        if sweep.report_document_id is None:
            waiting = self._poll_report(sweep)
            if waiting is not None:
                return waiting
            if sweep.status != SweepStatus.RUNNING.value:
                return SweepOutcome(sweep.status, sweep.id)
        if sweep.report_document_id:
            self._store_report(sweep)
        sweep.not_on_amazon = store.finish_full_sweep(self.session, self.account_id, sweep.id or 0,
                                                      sweep.started_at)
        return self._finish(sweep)

    def _poll_report(self, sweep: ReconcileSweep) -> SweepOutcome | None:
        """Poll the stored report once when due; return a follow-up while Amazon is not done."""
        now = self.now()
        if sweep.next_poll_at is not None and sweep.next_poll_at > now:
            return SweepOutcome("waiting", sweep.id, (sweep.next_poll_at - now).total_seconds())
        report = self.reports.get_report(self.seller, sweep.report_id or "")
        sweep.calls += 1
        if not report.finished:
            # Back off with the report's age: a small report is seen quickly, a big one every few minutes.
            age = (now - sweep.started_at).total_seconds()
            interval = min(self.poll_max, max(self.poll_initial, age / 4))
            sweep.next_poll_at = now + timedelta(seconds=interval)
            self._touch(sweep)
            return SweepOutcome("waiting", sweep.id, interval)
        if report.processing_status == "DONE" and report.report_document_id:
            sweep.report_document_id = report.report_document_id
            self._touch(sweep)
            return None
        if report.processing_status == "CANCELLED":
            # "CANCELLED also means no data to return" (FACTS.md §i): Amazon holds no listing at all.
            self._touch(sweep)
            return None
        self._finish(sweep, SweepStatus.FAILED,
                     f"Amazon could not prepare the listings report {sweep.report_id} "
                     f"({report.processing_status}); the next full read asks for a new one.")
        return None

    def _store_report(self, sweep: ReconcileSweep) -> None:
        document = self.reports.get_report_document(self.seller, sweep.report_document_id or "")
        sweep.calls += 1
        skip = sweep.rows_done
        batch: list[ListingRow] = []
        with self.reports.listing_rows(document) as rows:
            for index, row in enumerate(rows):
                if index < skip:
                    continue  # stored before a crash
                batch.append(row)
                if len(batch) == store.BATCH:
                    self._store_rows(sweep, batch)
                    batch = []
            self._store_rows(sweep, batch)

    def _store_rows(self, sweep: ReconcileSweep, rows: list[ListingRow]) -> None:
        if not rows:
            return
        store.store_report_rows(self.session, self.account_id, sweep.id or 0, rows, sweep.started_at)
        sweep.rows_done += len(rows)
        sweep.items_read += len(rows)
        self._touch(sweep)

    # ---- the incremental sweep: searchListingsItems by lastUpdated window ---------------------------------

    def incremental(self) -> SweepOutcome:
        """Read what changed on Amazon since the previous read (minus a safety margin), page by page."""
        sweep = active_sweep(self.session, self.account_id, SweepKind.INCREMENTAL)
        if sweep is None:
            previous = last_done(self.session, self.account_id, SweepKind.FULL, SweepKind.INCREMENTAL)
            if previous is None:
                return SweepOutcome("needs_full")
            started = self.now()
            after = previous.started_at - self.margin
            sweep = self._start(SweepKind.INCREMENTAL, window_after=after, window_before=started,
                                windows_json=json.dumps([[_iso(after), _iso(started)]]))
        bind(sweep_id=sweep.id)
        while True:
            windows: list[list[str]] = json.loads(sweep.windows_json)
            if not windows:
                return self._finish(sweep)
            after, before = _time(windows[-1][0]), _time(windows[-1][1])
            page = self.listings.search(self.seller, last_updated_after=after, last_updated_before=before,
                                        sort_by="lastUpdatedDate", sort_order="ASC",
                                        page_token=sweep.page_token)
            sweep.calls += 1
            if sweep.page_token is None and page.capped and before - after > MIN_WINDOW:
                # More than a search can page through: read each half on its own (earlier half first).
                middle = after + (before - after) / 2
                windows[-1:] = [[_iso(middle), _iso(before)], [_iso(after), _iso(middle)]]
                sweep.windows_json = json.dumps(windows)
                sweep.splits += 1
                self._touch(sweep)
                continue
            if page.capped and sweep.page_token is None:
                log.warning("account %s: more than 1,000 listings updated within %s; the full sweep reads "
                            "the rest", self.account_id, before - after)
            store.store_items(self.session, self.account_id, page.items)
            sweep.items_read += len(page.items)
            if page.next_token:
                sweep.page_token = page.next_token
            else:
                windows.pop()
                sweep.windows_json = json.dumps(windows)
                sweep.page_token = None
            self._touch(sweep)  # the page's items, the token and the windows, in one transaction

    # ---- targeted look-ups: identifiers, 20 SKUs a call --------------------------------------------------

    def lookup(self, skus: Iterable[str]) -> SweepOutcome:
        """Look ``skus`` up on Amazon (20 a call) and store what it shows, or that it has no listing."""
        wanted = list(dict.fromkeys(skus))
        if not wanted:
            return SweepOutcome("nothing_to_look_up")
        sweep = self._start(SweepKind.TARGETED)
        for start in range(0, len(wanted), MAX_IDENTIFIERS):
            batch = wanted[start:start + MAX_IDENTIFIERS]
            found = self.listings.lookup(self.seller, batch)
            sweep.calls += 1
            store.store_items(self.session, self.account_id, list(found.values()), ListingSource.LOOKUP)
            sweep.not_on_amazon += store.store_missing(self.session, self.account_id,
                                                       [s for s in batch if s not in found])
            sweep.items_read += len(found)
            self._touch(sweep)
        return self._finish(sweep)


__all__ = ["Reconciler", "SweepOutcome", "active_sweep", "last_done"]
