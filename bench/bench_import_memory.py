"""Peak memory of a CSV import against its file size: the streamed job versus reading the file whole.

Each measurement runs in a fresh process (peak RSS only grows), on a fresh SQLite database:

* ``streamed``: what the ``import_catalog`` job does, ``run_import`` on the stored file;
* ``whole file``: the reference, what the import did before (the file's bytes, then a decoded copy, then a
  ``StringIO`` copy, all in memory at once), with the same parser and writer.

It prints the growth of peak RSS over the process's baseline for each file size, and the ratio. Not a test:
memory depends on the machine, so the figures go in the closing note.
Run: ``python bench/bench_import_memory.py`` (``--sizes 8,38`` picks the sizes in MiB).
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_csv(path: Path, mib: int) -> int:
    """Write a realistic catalog CSV of about ``mib`` MiB; return its data lines."""
    target = mib * 1024 * 1024
    size = rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("sku,title,available,price\n")
        while size < target:
            price = (rows % 9000) / 100 + 5
            title = f"Lightweight two-person backpacking tent {rows % 97}"
            line = f"SKU-{rows:08d},{title},{rows % 40},{price:.2f}\n"
            out.write(line)
            size += len(line)
            rows += 1
    return rows


def child(mode: str, csv_path: str, work: str) -> None:
    """Import ``csv_path`` in this process and print peak RSS before and after, in KiB."""
    from sqlmodel import Session, SQLModel

    import wizard.models  # noqa: F401 - registers every table
    from wizard.catalog import importer
    from wizard.db import engine_for
    from wizard.models import Account, CatalogImport

    url = f"sqlite:///{work}/bench.sqlite"
    SQLModel.metadata.create_all(engine_for(url))
    with Session(engine_for(url), expire_on_commit=False) as session:
        account = Account(name="Bench")
        session.add(account)
        session.commit()
        assert account.id is not None
        job = CatalogImport(account_id=account.id, filename="bench.csv")
        session.add(job)
        session.commit()
        assert job.id is not None
        import_dir = f"{work}/imports"
        with open(csv_path, "rb") as upload:
            importer.store_upload(upload, importer.upload_path(import_dir, job.id))
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if mode == "streamed":
        importer.run_import(url, import_dir, job.id)
        with Session(engine_for(url)) as session:
            done = session.get(CatalogImport, job.id)
            assert done is not None and done.status == "done", done
            written = done.written_rows
    else:
        data = Path(csv_path).read_bytes()
        content = data.decode("utf-8-sig")
        written = importer.import_csv(url, account.id, io.StringIO(content, newline="")).written
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"baseline_kib": baseline, "peak_kib": peak, "written": written}))


def measure(mode: str, csv_path: Path) -> dict[str, int]:
    with tempfile.TemporaryDirectory() as work:
        output = subprocess.run([sys.executable, __file__, "--child", mode, str(csv_path), work],  # noqa: S603
                                check=True, capture_output=True, text=True, cwd=ROOT).stdout
    result: dict[str, int] = json.loads(output.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="8,38", help="file sizes in MiB, comma-separated")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "CSV", "WORKDIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print(f"{'file':>8} {'rows':>9} | {'streamed: peak growth':>22} | {'whole file: peak growth':>24} "
          "| ratio")
    with tempfile.TemporaryDirectory() as folder:
        for mib in (int(s) for s in args.sizes.split(",")):
            path = Path(folder) / f"catalog-{mib}.csv"
            rows = make_csv(path, mib)
            real_mib = path.stat().st_size / 1024 / 1024
            streamed = measure("streamed", path)
            whole = measure("whole", path)
            assert streamed["written"] == whole["written"] == rows
            grow_s = (streamed["peak_kib"] - streamed["baseline_kib"]) / 1024
            grow_w = (whole["peak_kib"] - whole["baseline_kib"]) / 1024
            print(f"{real_mib:>6.1f}Mi {rows:>9,} | {grow_s:>19.1f} MiB | {grow_w:>21.1f} MiB | "
                  f"{grow_s / grow_w if grow_w else 0:.2f}")


if __name__ == "__main__":
    main()
