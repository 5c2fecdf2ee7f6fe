"""Measure PDF render time: the contract (资助协议) and the application (申报书).

    .venv/bin/python bench/pdf_render.py [--runs 9]

Builds one contract and its application in a throwaway SQLite database with the test factories,
renders each document once to warm fontconfig and the template cache, then N times; prints the best and
median CPU time (time.process_time) and wall time. A measurement, not a test: it asserts only that a PDF
came out."""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_app, calibration_line  # noqa: E402


def measure(label: str, render, runs: int) -> None:
    render()  # warm-up
    cpu, wall = [], []
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        data = render()
        wall.append((time.perf_counter() - w) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    assert data.startswith(b"%PDF")
    print(f"{label:<14} cpu best {min(cpu):6.0f} ms  median {statistics.median(cpu):6.0f} ms   "
          f"wall best {min(wall):6.0f} ms  median {statistics.median(wall):6.0f} ms   ({len(data) // 1024} KiB)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    with bench_app() as (app, db), app.test_request_context():
        from grants.applications.views import OUTPUT_LABELS
        from grants.contracts.views import contract_pdf_bytes
        from grants.core.pdf import render_pdf
        from tests.contracts import factories as cf

        contract = cf.contract(status="active")
        db.session.commit()
        application = contract.award.application
        measure("contract", lambda: contract_pdf_bytes(contract), args.runs)
        measure("application", lambda: render_pdf("applications/pdf.html", a=application, call=application.call,
                                                  output_labels=OUTPUT_LABELS), args.runs)
        print(calibration_line())


if __name__ == "__main__":
    main()
