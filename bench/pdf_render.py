"""Measure PDF render time: the contract (资助协议) and the application (申报书).

    .venv/bin/python bench/pdf_render.py [--runs 9] [--fresh-fonts]

Builds one contract and its application in a throwaway SQLite database with the test factories,
renders each document once to warm fontconfig and the template cache, then N times; prints the best and
median CPU time (time.process_time) and wall time. A measurement, not a test: it asserts only that a PDF
came out. With --fresh-fonts it also times the contract rendered the way WeasyPrint does by default, with a
new FontConfiguration for each document (row `contract*`), for a before/after in the same conditions."""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


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
    parser.add_argument("--fresh-fonts", action="store_true",
                        help="also time the contract with a new FontConfiguration per render (contract*)")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from config import TestConfig
    from grants import create_app

    tmp = tempfile.mkdtemp()

    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp}/bench.sqlite"
        UPLOAD_DIR = f"{tmp}/uploads"

    t = time.perf_counter()
    sum(range(10**7))
    print(f"machine calibration: sum(range(10**7)) took {(time.perf_counter() - t) * 1000:.0f} ms")
    app = create_app(Cfg)
    with app.app_context(), app.test_request_context():
        upgrade()
        from grants.applications.views import OUTPUT_LABELS
        from grants.contracts.views import contract_pdf_bytes
        from grants.core.pdf import render_pdf
        from grants.extensions import db
        from tests.contracts import factories as cf

        contract = cf.contract(status="active")
        db.session.commit()
        application = contract.award.application
        measure("contract", lambda: contract_pdf_bytes(contract), args.runs)
        if args.fresh_fonts:
            # For comparison, in the same conditions: what every render cost before the FontConfiguration
            # was kept (WeasyPrint makes a new one per document when it is not given one).
            from flask import current_app, render_template
            from weasyprint import HTML

            def fresh():
                html = render_template("contracts/pdf.html", c=contract, outputs=contract.application.output_targets)
                return HTML(string=html, base_url=current_app.static_folder).write_pdf()

            measure("contract*", fresh, args.runs)
        measure("application", lambda: render_pdf("applications/pdf.html", a=application, call=application.call,
                                                  output_labels=OUTPUT_LABELS), args.runs)


if __name__ == "__main__":
    main()
