"""Measure PDF render time: the contract (资助协议) and the application (申报书).

    .venv/bin/python bench/pdf_render.py [--runs 9] [--fresh-fonts]

Builds one contract and its application in a throwaway SQLite database with the test factories,
renders each document once to warm fontconfig and the template cache, then N times; prints the best and
median CPU time (time.process_time) and wall time. A measurement, not a test: it asserts only that a PDF
came out. With --fresh-fonts it also times the contract rendered the way WeasyPrint does by default, with a
new FontConfiguration for each document (row `contract*`), taking turns with the contract row, for a
before/after in the same conditions."""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_app, calibration_line  # noqa: E402


def measure(renders: dict, runs: int) -> None:
    """Time each render `runs` times, taking turns, so that a change in the machine's load hits all alike."""
    for render in renders.values():
        render()  # warm-up
    cpu = {label: [] for label in renders}
    wall = {label: [] for label in renders}
    data = {}
    for _ in range(runs):
        for label, render in renders.items():
            w, c = time.perf_counter(), time.process_time()
            data[label] = render()
            wall[label].append((time.perf_counter() - w) * 1000)
            cpu[label].append((time.process_time() - c) * 1000)
    for label in renders:
        assert data[label].startswith(b"%PDF")
        print(f"{label:<14} cpu best {min(cpu[label]):6.0f} ms  median {statistics.median(cpu[label]):6.0f} ms   "
              f"wall best {min(wall[label]):6.0f} ms  median {statistics.median(wall[label]):6.0f} ms   "
              f"({len(data[label]) // 1024} KiB)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--fresh-fonts", action="store_true",
                        help="also time the contract with a new FontConfiguration per render (contract*)")
    args = parser.parse_args()

    print(calibration_line())
    with bench_app() as (app, db), app.test_request_context():
        from grants.applications.views import OUTPUT_LABELS
        from grants.contracts.views import contract_pdf_bytes
        from grants.core.pdf import render_pdf
        from tests.contracts import factories as cf

        contract = cf.contract(status="active")
        db.session.commit()
        application = contract.award.application
        renders = {"contract": lambda: contract_pdf_bytes(contract)}
        if args.fresh_fonts:
            # For comparison, in the same conditions: what every render cost before the FontConfiguration
            # was kept (WeasyPrint makes a new one per document when it is not given one).
            from flask import current_app, render_template
            from weasyprint import HTML

            def fresh():
                html = render_template("contracts/pdf.html", c=contract, outputs=contract.application.output_targets)
                return HTML(string=html, base_url=current_app.static_folder).write_pdf()

            renders["contract*"] = fresh
        measure(renders, args.runs)
        measure({"application": lambda: render_pdf("applications/pdf.html", a=application, call=application.call,
                                                   output_labels=OUTPUT_LABELS)}, args.runs)
        print(calibration_line())


if __name__ == "__main__":
    main()
