"""Measure the open-data files (信息公开: all grants as 360Giving JSON and as CSV) at province scale: the old
whole-in-memory build against the streamed, cached files, in time and in the memory one download takes.

    .venv/bin/python bench/open_data.py [--scale 1.0] [--postgresql]

For each file: the old build (tests/disclosure/legacy_open_data.py, the code as it was: every project loaded,
then one string) with tracemalloc's peak over the request's baseline; the new path's first download (the file
written from a server-side cursor, chunk by chunk) and a cached download (the file sent from disk in 64 KiB
pieces), each as a whole request through the test client with the body read piece by piece as a server would;
a conditional GET (304); and the process's RSS before and after twenty downloads. The streamed file must equal
the old one byte for byte (checked). A measurement, not a test."""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import calibration_line, make_app, throwaway_database  # noqa: E402

URLS = {"json": "/disclosure/360giving.json", "csv": "/disclosure/grants.csv"}
MIB = 1024 * 1024


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MIB


def _download(client, url: str, headers=None) -> tuple[int, str, int]:
    """A whole request with the body consumed piece by piece (as gunicorn sends it), never held whole."""
    resp = client.get(url, headers=headers or {}, buffered=False)
    digest, size = hashlib.sha256(), 0
    try:
        for piece in resp.response:
            piece = piece if isinstance(piece, bytes) else piece.encode()
            digest.update(piece)
            size += len(piece)
    finally:
        resp.close()
    return resp.status_code, digest.hexdigest(), size


def _traced(fn):
    """(result, seconds, peak MiB above the baseline) of fn()."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, (peak - base) / MIB


def run(postgresql: bool, scale: float) -> None:
    from bench.generate import generate

    with throwaway_database(postgresql) as (url, tmp):
        app = make_app(url, tmp)
        with app.app_context():
            from grants.disclosure import cache
            from grants.extensions import db
            from tests.disclosure import legacy_open_data

            t0 = time.perf_counter()
            g = generate(db, scale, now=dt.datetime.now(dt.timezone.utc))
            print(f"built scale {scale} ({g.counts}) in {time.perf_counter() - t0:.0f} s", flush=True)
            db.session.remove()
            client = app.test_client()
            for kind, path in URLS.items():
                with app.test_request_context():
                    old, old_s, old_mib = _traced(lambda: legacy_open_data.files()[kind])
                    db.session.remove()
                with app.test_request_context():
                    for f in cache.cache_dir().glob(f"{kind}-*"):
                        f.unlink()
                (status, first_hash, size), first_s, first_mib = _traced(lambda: _download(client, path))
                assert status == 200
                same = first_hash == hashlib.sha256(old).hexdigest()
                del old
                (status, hit_hash, _), hit_s, hit_mib = _traced(lambda: _download(client, path))
                assert status == 200 and hit_hash == first_hash
                etag = client.get(path, buffered=False)
                tag = etag.headers["ETag"]
                etag.close()
                (status, _, _), c_s, _ = _traced(lambda: _download(client, path, {"If-None-Match": tag}))
                assert status == 304
                gc.collect()
                before = rss_mib()
                for _ in range(20):
                    _download(client, path)
                gc.collect()
                after = rss_mib()
                print(f"{kind}: {size / MIB:.1f} MiB, {'byte-identical' if same else 'DIFFERENT'} to the old build\n"
                      f"  old build (in memory):   {old_s * 1000:7.0f} ms, peak +{old_mib:6.1f} MiB\n"
                      f"  streamed, cache miss:    {first_s * 1000:7.0f} ms, peak +{first_mib:6.1f} MiB\n"
                      f"  cached file:             {hit_s * 1000:7.0f} ms, peak +{hit_mib:6.1f} MiB\n"
                      f"  conditional GET (304):   {c_s * 1000:7.1f} ms\n"
                      f"  RSS over 20 cached downloads: {before:.0f} → {after:.0f} MiB", flush=True)
            db.session.remove()
            db.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--postgresql", action="store_true")
    args = parser.parse_args()
    print(f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {calibration_line()}", flush=True)
    run(args.postgresql, args.scale)
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
