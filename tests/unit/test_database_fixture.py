"""The PostgreSQL test fixture recovers from a session that was killed before it could stop its cluster."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fixtures import databases
from tests.fixtures.databases import WORKDIR_PREFIX, PostgresCluster

DEAD_PID = 2**22 + 1  # above the largest pid_max Linux allows (2**22), so never a live process


def test_a_dead_session_with_a_dead_server_is_cleaned_up_without_calling_pg_ctl(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(databases.tempfile, "gettempdir", lambda: str(tmp_path))
    stale = tmp_path / f"{WORKDIR_PREFIX}stale"
    (stale / "data").mkdir(parents=True)
    (stale / "owner.pid").write_text(str(DEAD_PID))
    (stale / "data" / "postmaster.pid").write_text(f"{DEAD_PID}\n/tmp/data\n")
    assert not Path(f"/proc/{DEAD_PID}").exists()

    # A bindir with no programs: calling pg_ctl would fail, so passing proves it was not called.
    PostgresCluster.stop_abandoned(tmp_path / "no-bin")

    assert not stale.exists()


def test_a_live_session_keeps_its_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(databases.tempfile, "gettempdir", lambda: str(tmp_path))
    live = tmp_path / f"{WORKDIR_PREFIX}live"
    (live / "data").mkdir(parents=True)
    (live / "owner.pid").write_text(str(os.getpid()))

    PostgresCluster.stop_abandoned(tmp_path / "no-bin")

    assert live.exists()
