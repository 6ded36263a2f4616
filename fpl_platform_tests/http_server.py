"""A real local HTTP server for tests: serves files or recorded JSON responses, can fail on purpose."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class Recorder:
    """What the server saw and how it should misbehave."""

    def __init__(self, fail_first: int = 0, fail_status: int = 503, during: Callable[[str], None] | None = None):
        self.requests: list[str] = []
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.during = during  # called with the path while a GET is in flight, before the server answers it
        self.lock = threading.Lock()
        self.url = ""

    def should_fail(self) -> bool:
        with self.lock:
            if self.fail_first > 0:
                self.fail_first -= 1
                return True
            return False


@contextlib.contextmanager
def _serve(lookup, recorder: Recorder) -> Iterator[Recorder]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            with recorder.lock:
                recorder.requests.append(self.path)
            if recorder.during is not None:
                recorder.during(self.path)
            if recorder.should_fail():
                self.send_response(recorder.fail_status)
                self.end_headers()
                return
            found = lookup(self.path)
            if found is None:
                self.send_response(404)
                self.end_headers()
                return
            body, content_type = found
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    with _running(Handler, recorder):
        yield recorder


@contextlib.contextmanager
def _running(handler: type[BaseHTTPRequestHandler], recorder: Recorder) -> Iterator[None]:
    """Serve `handler` on a free loopback port (written to recorder.url) until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def serve_files(
    root: Path, *, fail_first: int = 0, during: Callable[[str], None] | None = None
) -> contextlib.AbstractContextManager[Recorder]:
    """Serve files under `root` (e.g. a football-data.co.uk tree); `during(path)` runs inside each request."""

    def lookup(path: str):
        file = (root / path.lstrip("/")).resolve()
        if root.resolve() not in file.parents or not file.is_file():
            return None
        return file.read_bytes(), "text/csv"

    return _serve(lookup, Recorder(fail_first, during=during))


def serve_json(
    responses: dict[str, object],
    *,
    prefix: str = "/api",
    fail_first: int = 0,
    during: Callable[[str], None] | None = None,
) -> contextlib.AbstractContextManager[Recorder]:
    """Serve recorded JSON responses keyed by path below `prefix` ('bootstrap-static/', ...); `during(path)` runs
    inside each request, before it is answered (a slow source)."""
    encoded = {f"{prefix}/{k}": json.dumps(v).encode() for k, v in responses.items()}

    def lookup(path: str):
        body = encoded.get(path)
        return None if body is None else (body, "application/json")

    return _serve(lookup, Recorder(fail_first, during=during))


@contextlib.contextmanager
def serve_webhooks(*, fail_first: int = 0, always_fail_path: str | None = None) -> Iterator[Recorder]:
    """A webhook receiver: records every POST body (JSON) by path; can fail on purpose."""
    recorder = Recorder(fail_first, fail_status=500)
    recorder.bodies = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with recorder.lock:
                recorder.requests.append(self.path)
            if recorder.should_fail() or self.path == always_fail_path:
                self.send_response(500)
                self.end_headers()
                return
            with recorder.lock:
                recorder.bodies.append((self.path, json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    with _running(Handler, recorder):
        yield recorder
