"""Benchmark the full listings report: a 1,000,000-row GET_MERCHANT_LISTINGS_ALL_DATA, produced and streamed.

Prints figures; it is not a test. Run: ``.venv/bin/python bench/bench_listings_report.py [rows]`` (default
1,000,000; a few minutes on two cores).

1. The sandbox seeds the listings, then produces the report (createReport → DONE): its time, and the sandbox
   process's resident memory before and at its peak (the file is gzip-written to disk chunk by chunk, so
   the peak grows by far less than the file's size).
2. Our side, in a fresh process through ``AmazonClient``: createReport, getReport until DONE,
   getReportDocument, then ``amazon.reports.listing_rows`` over the presigned URL, counting rows: CPU
   seconds (waiting excluded) and peak RSS.
3. Reference, in the same run: decompressing the same file with ``zlib`` and counting its lines (the least
   any reader must do). The ratio is (2)'s CPU over (3)'s.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

SELLER = "A1PROSELLERUS01"


def cpu_seconds() -> float:
    """Return this process's CPU seconds so far (user + system; waiting costs none)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """Return this process's peak resident memory in MB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _proc_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


class _MemoryCache:
    """The access-token cache (Redis in production), in memory: one refresh for the whole run."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}

    def get(self, name: str) -> bytes | None:
        return self.values.get(name)

    def set(self, name: str, value: str, ex: int) -> None:
        self.values[name] = value.encode()

    def delete(self, *names: str) -> None:
        for name in names:
            self.values.pop(name, None)


def sandbox_client(sandbox_url: str) -> Any:
    """Return our Amazon client for the sandbox at ``sandbox_url``: no rate buckets, tokens kept in memory.

    The client the worker builds (``AmazonClient.from_config``) keeps both in Redis; a one-seller benchmark
    process does not need them, and the report's calls are a handful.
    """
    from wizard.amazon import AmazonClient
    from wizard.amazon.client import document_url_prefixes
    from wizard.config import from_environment
    from wizard.crypto import TokenCipher

    config = {**from_environment(), "AMAZON_LWA_TOKEN_URL": sandbox_url + "/auth/o2/token",
              "AMAZON_SPAPI_ENDPOINT": sandbox_url}
    return AmazonClient(lwa_token_url=config["AMAZON_LWA_TOKEN_URL"],
                        client_id=config["AMAZON_LWA_CLIENT_ID"],
                        client_secret=config["AMAZON_LWA_CLIENT_SECRET"], spapi_endpoint=sandbox_url,
                        cipher=TokenCipher(config["TOKEN_ENCRYPTION_KEYS"]), cache=_MemoryCache(),
                        document_url_prefixes=document_url_prefixes(config))


def client_run(sandbox_url: str, refresh_token: str, keep: str) -> dict[str, Any]:
    """Run the whole report flow through our client; count rows; keep the raw file at ``keep``."""
    from wizard.amazon import SellerAuth

    amazon = sandbox_client(sandbox_url)
    seller = SellerAuth(SELLER, refresh_token)
    started, cpu = time.perf_counter(), cpu_seconds()
    report_id = amazon.reports.create_report(seller)
    while not (report := amazon.reports.get_report(seller, report_id)).finished:
        time.sleep(0.2)
    waited = time.perf_counter() - started
    if report.processing_status != "DONE" or not report.report_document_id:
        raise SystemExit(f"the report ended {report.processing_status}")
    document = amazon.reports.get_report_document(seller, report.report_document_id)
    parse_started, parse_cpu = time.perf_counter(), cpu_seconds()
    rows = active = 0
    with amazon.reports.listing_rows(document) as stream:
        for row in stream:
            rows += 1
            active += row.active
    parse_s, parse_cpu = time.perf_counter() - parse_started, cpu_seconds() - parse_cpu
    total_cpu = cpu_seconds() - cpu
    # The raw file for the reference, fetched after the measurement (not counted).
    raw = amazon.open_download("keep", document.url)
    with open(keep, "wb") as out:
        for chunk in raw.iter_content(1 << 20):
            out.write(chunk)
    raw.close()
    return {"rows": rows, "active": active, "report_wait_s": round(waited, 1),
            "stream_parse_s": round(parse_s, 1), "stream_parse_cpu_s": round(parse_cpu, 2),
            "total_cpu_s": round(total_cpu, 2),
            "peak_rss_mb": peak_rss_mb(), "calls": dict(sorted(amazon.calls.items()))}


def reference_run(path: str) -> dict[str, Any]:
    """Decompress the file with zlib and count its lines: the floor for any reader."""
    cpu = cpu_seconds()
    inflate = zlib.decompressobj(wbits=31)
    lines = size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            data = inflate.decompress(chunk)
            lines += data.count(b"\n")
            size += len(data)
    return {"lines": lines, "mb": round(size / 1e6, 1), "cpu_s": round(cpu_seconds() - cpu, 2),
            "peak_rss_mb": peak_rss_mb()}


def run_script(script: str, *args: str) -> dict[str, Any]:
    """Run a step of a benchmark in a fresh process (its own CPU and memory figures); return its JSON line.

    A failed step stops the benchmark with the end of the step's error output.
    """
    out = subprocess.run([sys.executable, script, *args], check=False, capture_output=True, text=True,
                         cwd=REPO_ROOT)
    if out.returncode:
        raise SystemExit(f"{args[0]} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _subprocess(*args: str) -> dict[str, Any]:
    return run_script(__file__, *args)


def main(rows: int) -> None:
    """Seed, produce, stream and compare; print the figures."""
    from sandbox.models import models_dir
    from tests.fixtures.sandbox import SandboxControl, start_sandbox_subprocess
    from tests.fixtures.services import free_port

    os.environ.setdefault("AMAZON_MODELS_DIR", str(models_dir()))
    port = free_port()
    # A high time scale: createReport's 1-a-minute plan and the report phases take milliseconds.
    sandbox = start_sandbox_subprocess(port, {"SANDBOX_TIME_SCALE": "1000",
                                              "SANDBOX_PROCESSING_DELAY": "0.5"})
    try:
        control = SandboxControl(f"http://localhost:{port}")
        control.register_app("http://127.0.0.1:5000")
        token = control.grant(SELLER)
        started = time.perf_counter()
        control.generate_listings(SELLER, rows, prefix="BENCH-", quantity=3, price="12.34")
        seeded_s = time.perf_counter() - started
        before = _proc_mb(sandbox.pid, "VmRSS")
        keep = str(Path(tempfile.mkdtemp(prefix="bench-report-")) / "report.txt.gz")
        ours = _subprocess("--client", control.url, token, keep)
        peak = _proc_mb(sandbox.pid, "VmHWM")
        reference = _subprocess("--reference", keep)
        file_mb = round(os.path.getsize(keep) / 1e6, 1)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    print(f"{rows:,} listings seeded in the sandbox in {seeded_s:.1f} s")
    print(f"sandbox: RSS {before} MB with the listings; peak while producing and serving the report "
          f"{peak} MB (+{round(peak - before, 1)} MB; the report is {file_mb} MB gzip, "
          f"{reference['mb']} MB of text)")
    print(f"our side (createReport → DONE → stream-parse): {ours['rows']:,} rows "
          f"({ours['active']:,} active); waiting for the report {ours['report_wait_s']} s; "
          f"streaming + parsing {ours['stream_parse_s']} s, "
          f"{ours['stream_parse_cpu_s']} s CPU; whole flow {ours['total_cpu_s']} s CPU; peak RSS "
          f"{ours['peak_rss_mb']} MB")
    print(f"reference (zlib + count lines of the same file): {reference['cpu_s']} s CPU, peak RSS "
          f"{reference['peak_rss_mb']} MB")
    ratio = ours["stream_parse_cpu_s"] / max(reference["cpu_s"], 1e-6)
    print(f"ratio, our stream-parse CPU / reference CPU: {ratio:.1f}")
    print(f"calls: {ours['calls']}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--client":
        print(json.dumps(client_run(sys.argv[2], sys.argv[3], sys.argv[4])))
    elif len(sys.argv) == 3 and sys.argv[1] == "--reference":
        print(json.dumps(reference_run(sys.argv[2])))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
