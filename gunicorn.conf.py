"""gunicorn settings for `make run` / scripts/run.sh and production (`gunicorn -c gunicorn.conf.py wsgi:app`).
Every value can be overridden from the environment (names below) or on the command line.

- Workers: sync workers, WEB_CONCURRENCY (default 2 × CPUs + 1, at most 8). A request spends much of its time
  waiting on PostgreSQL, so a core serves more than one worker; more than 8 only adds memory and database
  connections (each worker holds a pool).
- Timeout: GUNICORN_TIMEOUT (30 s). A worker silent for longer is killed and replaced; statements end well
  before (DB_STATEMENT_TIMEOUT_MS, 30 s by default, answers 503 “系统繁忙”).
- Memory: a worker is replaced after MAX_REQUESTS requests (1,000), ± up to MAX_REQUESTS_JITTER (100) so the
  workers do not all restart at the same moment. Python seldom gives freed memory back to the system: a worker
  that once built a large page stays large until it is recycled.
- No preload (preload_app = False): each worker imports and builds the app itself. Preloading would save
  little (CPython's reference counts write to nearly every shared page, so copy-on-write copies them anyway),
  would hand every worker the database engine the master built (pooled connections must never cross a fork),
  and would make `kill -HUP` (graceful reload) keep serving the old code. A worker starts in about a second,
  which max_requests recycling affords.
- The scheduler is never started here: it runs as its own process (`flask --app wsgi scheduler run`).
"""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '5000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8)))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 2
max_requests = int(os.environ.get("MAX_REQUESTS", "1000"))
max_requests_jitter = int(os.environ.get("MAX_REQUESTS_JITTER", "100"))
preload_app = False
# Heartbeat files in memory, not on a disk that may stall under load.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Behind nginx (production): trust its X-Forwarded-* only from the local proxy; the app's ProxyFix
# (TRUSTED_PROXIES) decides what the addresses mean.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
