"""What the Sync page's progress bar shows: a view-model of a run and its batches (templates only render).

Pure: built from rows the view already read (``wizard.sync.ledger``), no queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from wizard.models.base import utcnow
from wizard.models.sync import ACTIVE_RUN_STATUSES, BatchStatus, FeedBatch, RunStatus, SyncRun
from wizard.sync.ledger import OVERDUE_FEED, SLOW_FEED
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
    def label(self) -> str:
        """Return the sentence read out with the bar."""
        run = self.run
        if run.status == RunStatus.QUEUED:
            return "Queued: starting in a moment…"
        if run.status == RunStatus.PLANNING:
            return "Working out what changed since the last sync…"
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


__all__ = ["BATCH_BADGES", "BATCH_LABELS", "BatchRow", "Progress", "batch_row"]
