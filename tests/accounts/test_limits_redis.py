"""The abuse limits on Redis, as in production with several workers (RATELIMIT_STORAGE_URI=redis://…): two app
processes share one count. Needs the Redis on 127.0.0.1:6379 (make test starts it)."""
import json
import os
import subprocess
import sys
import uuid

import pytest

from config import BASE_DIR
from tests.conftest import skip_or_fail

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

PROBE = """
import json, os, sys
from config import TestConfig
from grants import create_app

class Cfg(TestConfig):
    SQLALCHEMY_DATABASE_URI = "sqlite:///" + os.environ["PROBE_DB"]
    UPLOAD_DIR = os.environ["PROBE_DIR"]
    RATE_LIMITS = True
    RATELIMIT_STORAGE_URI = os.environ["PROBE_REDIS"]
    RATELIMIT_KEY_PREFIX = os.environ["PROBE_PREFIX"]

app = create_app(Cfg)
with app.app_context():
    from flask_migrate import upgrade
    upgrade()
client = app.test_client()
codes = [client.post("/login", data={"login": "nobody", "password": "x"},
                     environ_base={"REMOTE_ADDR": "203.0.113.77"}).status_code for _ in range(int(sys.argv[1]))]
print(json.dumps(codes))
"""


@pytest.fixture()
def redis_client():
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        skip_or_fail(f"Redis not reachable at {REDIS_URL} (apt-get install redis-server; make test starts it)")
    yield client
    client.close()


def _run(tmp_path, prefix: str, n: int) -> list[int]:
    env = {**os.environ, "PROBE_DB": str(tmp_path / "probe.sqlite"), "PROBE_DIR": str(tmp_path / "uploads"),
           "PROBE_REDIS": REDIS_URL, "PROBE_PREFIX": prefix}
    proc = subprocess.run([sys.executable, "-c", PROBE, str(n)], env=env, capture_output=True, text=True,
                          cwd=str(BASE_DIR), timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_two_processes_share_the_login_limit_in_redis(tmp_path, redis_client):
    prefix = f"grants-test-{uuid.uuid4().hex[:8]}"
    try:
        first = _run(tmp_path, prefix, 6)   # one web worker …
        second = _run(tmp_path, prefix, 6)  # … and another: the count is shared
        assert first == [200] * 6
        assert second == [200] * 4 + [429] * 2
        assert any(prefix in k.decode() for k in redis_client.scan_iter(f"*{prefix}*"))
    finally:
        for key in redis_client.scan_iter(f"*{prefix}*"):
            redis_client.delete(key)
