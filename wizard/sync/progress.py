"""What the Sync page shows of a run: the progress bar's view-model and the history's lines.

The one source of a run's state on the page: :func:`run_view` words a run's status, and both the "Current
sync" card (:class:`Progress`) and the History rows (:func:`history_lines`) render through it, from the same
row, so the two can never disagree.

Pure: built from rows the view already read (``wizard.sync.ledger``), no queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from wizard.models.base import utcnow
from wizard.models.sync import (
    ACTIVE_RUN_STATUSES,
    ZERO_THEN_DISCONNECT,
    BatchStatus,
    FeedBatch,
    RunStatus,
    SyncRun,
    SyncTrigger,
)
from wizard.sync.ledger import OVERDUE_FEED, SLOW_FEED, HistoryRow, IdleStretch
from wizard.text import plural

#: What a batch's status is called on the page.
BATCH_LABELS: dict[BatchStatus, str] = {
    BatchStatus.PLANNED: "Planned",
    BatchStatus.UPLOADED: "Uploaded",
    BatchStatus.SUBMITTING: "Sending",
    BatchStatus.SUBMITTED: "Amazon processing",
    BatchStatus.DONE: "Processed",
    BatchStatus.FATAL: "Failed",
    BatchStatus.CANCELLED: "Cancelled",
}
#: Which status badge (CSS ``status-<name>``) a batch's status wears.
BATCH_BADGES: dict[BatchStatus, str] = {
    BatchStatus.PLANNED: "queued",
    BatchStatus.UPLOADED: "processing",
    BatchStatus.SUBMITTING: "processing",
    BatchStatus.SUBMITTED: "processing",
    BatchStatus.DONE: "done",
    BatchStatus.FATAL: "failed",
    BatchStatus.CANCELLED: "failed",
}


#: What a run's status is called, in the card and in the history alike.
RUN_LABELS: dict[RunStatus, str] = {
    RunStatus.QUEUED: "Queued",
    RunStatus.PLANNING: "Planning",
    RunStatus.SUBMITTING: "Sending",
    RunStatus.PROCESSING: "Amazon processing",
    RunStatus.DONE: "Done",
    RunStatus.FAILED: "Failed",
    RunStatus.STOPPED: "Stopped",
}
#: Why a run started, in words.
TRIGGER_LABELS: dict[SyncTrigger, str] = {
    SyncTrigger.CRON: "scheduled",
    SyncTrigger.MANUAL: "manual",
    SyncTrigger.CHANGE: "after a change",
}
#: The trigger words of a "Set all my Amazon quantities to 0 first" run.
ZERO_FIRST_LABEL = "quantities to 0, then disconnect"


@dataclass(frozen=True)
class RunView:
    """One run as the page words it: its status, why it started, and the sentence read with the bar."""

    run: SyncRun

    @property
    def status_label(self) -> str:
        """Return the status word ("Done", "Amazon processing")."""
        return RUN_LABELS[self.run.status]

    @property
    def badge(self) -> str:
        """Return the status badge's name (CSS ``status-<name>``)."""
        return self.run.status.value

    @property
    def trigger_label(self) -> str:
        """Return why the run started."""
        if self.run.purpose == ZERO_THEN_DISCONNECT:
            return ZERO_FIRST_LABEL
        return TRIGGER_LABELS.get(self.run.trigger, self.run.trigger.value)

    @property
    def started(self) -> datetime:
        """Return when the run started (or was queued)."""
        return self.run.started_at or self.run.created_at

    @property
    def sentence(self) -> str:
        """Return the sentence read out with the bar."""
        run = self.run
        if run.status == RunStatus.QUEUED:
            return "Queued: starting in a moment…"
        if run.status == RunStatus.PLANNING:
            return "Working out what changed since the last sync…"
        if run.purpose == ZERO_THEN_DISCONNECT and run.status == RunStatus.DONE:
            return self._zero_done()
        if run.status == RunStatus.DONE and run.batches_total == 0:
            return "Amazon was already up to date: nothing to send."
        if run.status == RunStatus.DONE:
            return (f"Done: {run.accepted_count:,} accepted, {run.rejected_count:,} rejected, "
                    f"in {plural(run.batches_total, 'feed')}.")
        if run.status == RunStatus.STOPPED:
            return "Stopped. " + (run.error or "")
        if run.status == RunStatus.FAILED:
            return "Failed. " + (run.error or "")
        return (f"{plural(run.changed_count, 'update')} in {plural(run.batches_total, 'feed')}: "
                f"{run.batches_submitted} sent to Amazon, "
                f"{run.batches_processed} processed.")


    @property
    def then(self) -> str | None:
        """Return what follows an active run, when something does (the disconnection after the zeros)."""
        if self.run.purpose == ZERO_THEN_DISCONNECT and self.run.status in ACTIVE_RUN_STATUSES:
            return ("Setting every Amazon quantity Ecommerce manages to 0; Ecommerce disconnects from Amazon "
                    "once Amazon has processed it.")
        return None

    def _zero_done(self) -> str:
        run = self.run
        if (run.error_code or "").startswith("feed_"):
            return ("Amazon did not process every update, so some quantities may not be 0 yet and Ecommerce "
                    "is still connected. " + (run.error or "") + " Try again from Disconnect.")
        return (f"Done: {plural(run.accepted_count, 'quantity', 'quantities')} set to 0 on Amazon, "
                f"{run.rejected_count:,} rejected. Ecommerce then disconnected from Amazon.")


def run_view(run: SyncRun) -> RunView:
    """Return how the page words ``run``: the one function the card and the history both use."""
    return RunView(run)


def idle_sentence(stretch: IdleStretch) -> str:
    """Return the one history line of runs that found nothing to send ("Up to date · checked 14 times…")."""
    since = f"{stretch.since:%H:%M} UTC"
    if stretch.since.date() != stretch.until.date():
        since = f"{stretch.since:%b} {stretch.since.day}, {since}"
    if stretch.count == 1:
        return f"Up to date · checked at {since}"
    return f"Up to date · checked {plural(stretch.count, 'time')} since {since}"


@dataclass(frozen=True)
class HistoryLine:
    """One line of the History table: a run, or a stretch of runs that found nothing to send."""

    key: str
    started: datetime
    run: RunView | None = None
    idle: str | None = None


def history_lines(rows: list[HistoryRow]) -> list[HistoryLine]:
    """Return the History table's lines for a page of :func:`wizard.sync.ledger.history_page`."""
    lines: list[HistoryLine] = []
    for row in rows:
        if isinstance(row, IdleStretch):
            lines.append(HistoryLine(key=f"idle-{row.first_id}-{row.last_id}", started=row.until,
                                     idle=idle_sentence(row)))
        else:
            view = run_view(row)
            lines.append(HistoryLine(key=f"run-{row.id}", started=view.started, run=view))
    return lines


@dataclass(frozen=True)
class BatchRow:
    """One feed of a run, as the progress fragment lists it."""

    seq: int
    status: str
    label: str
    badge: str
    message_count: int
    feed_id: str | None
    summary: str | None


def batch_row(batch: FeedBatch) -> BatchRow:
    """Return the fragment's row for ``batch``."""
    return BatchRow(seq=batch.seq, status=batch.status.value, label=BATCH_LABELS[batch.status],
                    badge=BATCH_BADGES[batch.status], message_count=batch.message_count,
                    feed_id=batch.feed_id, summary=batch.result_summary)


@dataclass
class Progress:
    """What the progress bar shows for one run."""

    run: SyncRun
    batches: list[FeedBatch]

    #: Hours after which a feed is overdue (the warning's wording quotes it).
    overdue_hours: int = int(OVERDUE_FEED.total_seconds() // 3600)

    @property
    def rows(self) -> list[BatchRow]:
        """Return the run's feeds with their labels and badges."""
        return [batch_row(batch) for batch in self.batches]

    def waiting_since(self, now: datetime | None = None) -> timedelta | None:
        """Return how long the oldest feed still at Amazon has been waiting, or None if none is."""
        submitted = [b.submitted_at for b in self.batches
                     if b.status == BatchStatus.SUBMITTED and b.submitted_at is not None]
        return (now or utcnow()) - min(submitted) if submitted else None

    @property
    def slow(self) -> bool:
        """Return whether Amazon has taken longer than usual with a feed of this run."""
        waited = self.waiting_since()
        return waited is not None and waited >= SLOW_FEED

    @property
    def overdue(self) -> bool:
        """Return whether a feed has waited longer than Amazon's own worst case."""
        waited = self.waiting_since()
        return waited is not None and waited >= OVERDUE_FEED

    @property
    def active(self) -> bool:
        """Return whether the run is still going (the fragment keeps polling)."""
        return self.run.status in ACTIVE_RUN_STATUSES

    @property
    def steps_total(self) -> int:
        """Return the progress bar's maximum: each batch is submitted, then processed."""
        return max(1, 2 * self.run.batches_total)

    @property
    def steps_done(self) -> int:
        """Return how far the run got."""
        if self.run.status == RunStatus.DONE:
            return self.steps_total
        return min(self.steps_total, self.run.batches_submitted + self.run.batches_processed)

    @property
    def percent(self) -> int:
        """Return the progress in whole percent."""
        return round(100 * self.steps_done / self.steps_total)

    @property
    def note(self) -> str | None:
        """Return why an active run is paused (e.g. "Amazon is busy, retrying at 14:05"), if it is."""
        return self.run.error if self.active and self.run.error else None

    @property
    def view(self) -> RunView:
        """Return the run's words, the same as its History row's."""
        return run_view(self.run)

    @property
    def label(self) -> str:
        """Return the sentence read out with the bar."""
        return self.view.sentence


__all__ = ["BATCH_BADGES", "BATCH_LABELS", "RUN_LABELS", "TRIGGER_LABELS", "BatchRow", "HistoryLine",
           "Progress", "RunView", "batch_row", "history_lines", "idle_sentence", "run_view"]
