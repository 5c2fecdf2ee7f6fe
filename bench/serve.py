"""WSGI apps for the load test under gunicorn (started by bench/run.py, not for production):

    gunicorn -w 2 'bench.serve:app'      # the grants app on $BENCH_DATABASE_URL, production settings
    gunicorn -w 2 'bench.serve:hello'    # a Flask hello-world: the baseline

The grants app runs with the production Config except two things the load generator needs: the database
URL from the environment and CSRF off, so that the benchmark can log in with a plain POST (CSRF checks only
POSTs; the measured requests are GETs)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask  # noqa: E402

hello = Flask("hello")


@hello.route("/")
def hello_world():
    return "Hello, World!"


def _grants_app():
    from config import Config
    from grants import create_app

    class BenchServeConfig(Config):
        SQLALCHEMY_DATABASE_URI = os.environ["BENCH_DATABASE_URL"]
        UPLOAD_DIR = os.environ.get("BENCH_UPLOAD_DIR", "/tmp/grants-bench-uploads")
        SECRET_KEY = "bench-secret"
        WTF_CSRF_ENABLED = False
        # wrk sends thousands of requests from one address, and the staff log in without a second factor.
        RATE_LIMITS = False
        CAPTCHA_ENABLED = False
        TWO_FACTOR_ROLES = frozenset()

    return create_app(BenchServeConfig)


def __getattr__(name: str):
    # Built on first access, so that `bench.serve:hello` does not need a database.
    if name == "app":
        globals()["app"] = _grants_app()
        return globals()["app"]
    raise AttributeError(name)
