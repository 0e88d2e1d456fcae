"""`make run` (bin/dev) as a developer uses it: reminders of where to sign in, and a clean Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.fixtures.services import free_port, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_make_run_reprints_the_sign_ins_and_ctrl_c_stops_the_app_before_redis_and_exits_0(
        tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("REDIS_", "DATABASE_"))}
    env.update(WEB_PORT=str(free_port()), SANDBOX_PORT=str(free_port()), DEV_REMINDER_SECONDS="1",
               DATABASE_URL=f"sqlite:///{tmp_path / 'dev.sqlite'}")
    # Its own process group, as a terminal's foreground job: Ctrl-C is a SIGINT to the whole group.
    process = subprocess.Popen([sys.executable, str(REPO_ROOT / "bin" / "dev")], cwd=REPO_ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    lines: list[str] = []
    assert process.stdout is not None
    stdout = process.stdout
    reader = threading.Thread(target=lambda: lines.extend(line.decode(errors="replace") for line in stdout),
                              daemon=True)
    reader.start()
    try:
        wait_until(lambda: "Ecommerce is running." in "".join(lines), timeout=180,
                   message="make run to start")
        reminder = re.compile(r"Reminder: Ecommerce runs at http://127\.0\.0\.1:\d+.*\n.*Demo sign-ins.*\n"
                              r".*admin@demo\.example")
        wait_until(lambda: reminder.search("".join(lines)),
                   timeout=30, message="the sign-ins to be printed again")
        started = len(lines)

        os.killpg(process.pid, signal.SIGINT)

        assert process.wait(timeout=90) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    reader.join(timeout=10)
    stdout.close()
    output = "".join(lines)
    after = "".join(lines[started:])
    assert after.index("Stopped the app processes.") < after.index("Stopped Redis.")
    assert "Connection refused" not in after and "Traceback" not in after, after[-3000:]
    redis_port = int(re.search(r"embedded Redis on port (\d+)", output).group(1))  # type: ignore[union-attr]
    wait_until(lambda: subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout.count(
        f":{redis_port} ") == 0, timeout=5, message="Redis to be stopped")
