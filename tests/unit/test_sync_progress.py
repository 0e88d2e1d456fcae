"""The progress bar's arithmetic and wording (pure)."""

from __future__ import annotations

from wizard.models.sync import RunStatus, SyncRun
from wizard.sync.progress import Progress
from wizard.sync.views import tip_for


def test_each_batch_counts_twice_submitted_then_processed() -> None:
    run = SyncRun(account_id=1, status=RunStatus.PROCESSING, batches_total=4, batches_submitted=4,
                  batches_processed=1, changed_count=100_000)

    progress = Progress(run=run, batches=[])

    assert (progress.steps_done, progress.steps_total, progress.percent) == (5, 8, 62)
    assert progress.active
    assert progress.label == "100,000 updates in 4 feeds: 4 sent to Amazon, 1 processed."


def test_a_run_with_nothing_to_send_is_complete_and_says_so() -> None:
    progress = Progress(run=SyncRun(account_id=1, status=RunStatus.DONE), batches=[])

    assert progress.percent == 100 and not progress.active
    assert progress.label == "Amazon was already up to date: nothing to send."


def test_unknown_error_codes_get_a_general_tip() -> None:
    assert "Seller Central" in tip_for("9999")
    assert "Create the listing" in tip_for("4000001")
