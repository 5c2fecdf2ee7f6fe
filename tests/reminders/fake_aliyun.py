"""A local stand-in for Alibaba Cloud's SMS API (dysmsapi, SendSms 2017-05-25) on 127.0.0.1: it checks the
request's ACS3-HMAC-SHA256 signature with the test secret, as the real service does, records what arrived and
answers as scripted ("OK" with a BizId, a business error code, an HTTP error, or no answer in time)."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

ACCESS_KEY_ID = "LTAI-test-key"
ACCESS_KEY_SECRET = "test-secret-never-real"


def _enc(value: str) -> str:
    return quote(value, safe="-_.~")


def signature_ok(method: str, path: str, headers, secret: str = ACCESS_KEY_SECRET) -> bool:
    auth = headers.get("Authorization", "")
    if not auth.startswith("ACS3-HMAC-SHA256 "):
        return False
    parts = dict(p.strip().split("=", 1) for p in auth[len("ACS3-HMAC-SHA256 "):].split(","))
    if parts.get("Credential") != ACCESS_KEY_ID:
        return False
    signed = parts["SignedHeaders"].split(";")
    url = urlsplit(path)
    query = sorted(parse_qsl(url.query, keep_blank_values=True))
    canonical_query = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in query)
    canonical_headers = "".join(f"{h}:{(headers.get(h) or '').strip()}\n" for h in signed)
    canonical = "\n".join([method, url.path or "/", canonical_query, canonical_headers, ";".join(signed),
                           headers.get("x-acs-content-sha256", "")])
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    expected = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("Signature", ""))


class FakeAliyunSms:
    """`answers` is a list consumed one per request: "ok", an error code such as "isv.BUSINESS_LIMIT_CONTROL",
    ("http", 503) or "hang" (no answer within the client's timeout). Empty: "ok"."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: list = []
        self.hang_seconds = 1.5
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
                if not signature_ok("POST", self.path, self.headers):
                    return self._json(400, {"Code": "IncompleteSignature", "Message": "签名不符",
                                            "RequestId": "R-sig"})
                if self.headers.get("x-acs-action") != "SendSms" or self.headers.get("x-acs-version") != "2017-05-25":
                    return self._json(400, {"Code": "InvalidAction.NotFound", "Message": "?", "RequestId": "R-a"})
                answer = fake.answers.pop(0) if fake.answers else "ok"
                fake.requests.append({"phone": params.get("PhoneNumbers"), "sign": params.get("SignName"),
                                      "template": params.get("TemplateCode"),
                                      "params": json.loads(params.get("TemplateParam") or "{}"), "answer": answer})
                if answer == "hang":
                    time.sleep(fake.hang_seconds)
                    return self._json(200, {"Code": "OK", "Message": "OK", "BizId": "late^0", "RequestId": "R-h"})
                if isinstance(answer, tuple):
                    return self._json(answer[1], {"Code": "ServiceUnavailable", "Message": "busy",
                                                  "RequestId": "R-e"})
                if answer == "ok":
                    return self._json(200, {"Code": "OK", "Message": "OK", "BizId": f"{len(fake.requests)}^0",
                                            "RequestId": "R-ok"})
                return self._json(200, {"Code": answer, "Message": "refused", "RequestId": "R-b"})

            do_GET = do_POST

            def _json(self, status, payload):
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json;charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting ("hang")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.server.server_port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
