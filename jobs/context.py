"""The log context of a job: every line it writes names its account and its RQ job (``wizard.logs``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from jobs.queue import current_job_id
from wizard.logs import log_context

P = ParamSpec("P")
R = TypeVar("R")


def account_job(func: Callable[Concatenate[int, P], R]) -> Callable[Concatenate[int, P], R]:
    """Run a job whose first argument is an account id with ``account_id`` and ``job_id`` on every log line.

    The context ends with the job, so the next job a ``SimpleWorker`` runs in the same process starts clean.
    """

    @functools.wraps(func)
    def job(account_id: int, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with log_context(account_id=account_id, job_id=current_job_id()):
            return func(account_id, *args, **kwargs)

    return job


__all__ = ["account_job"]
