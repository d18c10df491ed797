"""A loopback HTTP server that plays an archive in download-mode tests.

``ThreadingHTTPServer`` on 127.0.0.1 with an ephemeral port, run in a thread. Routes serve bytes
(e.g. a real archive file) at the archive's URL path; every request is recorded (method, path,
query, form fields, headers) so tests can assert the request shape; a route can first answer with
error statuses (e.g. one 503 with ``Retry-After: 0``) to exercise retries.

    with LoopbackArchive() as server:
        server.add("/TAP/sync", real_csv_path, content_type="text/csv", fail_first=[(503, {"Retry-After": "0"})])
        ... builder(base_url=server.url("/TAP")) ...
        assert server.requests[-1].query["format"] == ["csv"]
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int = 0


@dataclass
class Route:
    """What the server answers at one path: a body (bytes, a file, or a callable) after optional failures."""

    body: bytes | Path | Callable[[RecordedRequest], bytes]
    content_type: str = "application/octet-stream"
    fail_first: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    #: False: no Content-Length header (the body ends when the connection closes, as HTTP/1.0 allows)
    send_length: bool = True
    #: seconds to wait before answering (a hanging archive)
    delay_s: float = 0.0


class LoopbackArchive:
    """The server; use as a context manager. ``requests`` lists what it received, in order."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def add(self, path: str, body: bytes | Path | Callable[[RecordedRequest], bytes], *, method: str = "GET",
            content_type: str = "application/octet-stream", fail_first: list[tuple[int, dict[str, str]]] | None = None,
            headers: dict[str, str] | None = None, send_length: bool = True, delay_s: float = 0.0) -> None:
        """Serve ``body`` at ``path`` for ``method``; answer ``fail_first`` (status, headers) pairs first.

        ``send_length=False`` omits ``Content-Length`` (a cut body then looks complete to the client);
        ``delay_s`` makes the server hang that long before answering. Adding a path again replaces it.
        """
        self.routes[(method.upper(), path)] = Route(body, content_type, list(fail_first or []), dict(headers or {}),
                                                    send_length, delay_s)

    def url(self, path: str = "") -> str:
        assert self._server is not None, "server not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def __enter__(self) -> LoopbackArchive:
        archive = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

            def _handle(self, method: str) -> None:
                parts = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                form = {}
                if "application/x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
                    form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
                record = RecordedRequest(method, parts.path, urllib.parse.parse_qs(parts.query, keep_blank_values=True),
                                         form, dict(self.headers.items()), body)
                with archive._lock:
                    archive.requests.append(record)
                    route = archive.routes.get((method, parts.path))
                    failure = route.fail_first.pop(0) if route and route.fail_first else None
                if route is None:
                    record.status = 404
                    self._send(404, b"not found", "text/plain", {})
                elif failure is not None:
                    record.status = failure[0]
                    self._send(failure[0], b"temporarily unavailable", "text/plain", failure[1])
                else:
                    payload = route.body
                    if isinstance(payload, Path):
                        payload = payload.read_bytes()
                    elif callable(payload):
                        payload = payload(record)
                    record.status = 200
                    if route.delay_s:
                        time.sleep(route.delay_s)
                    self._send(200, payload, route.content_type, route.headers, route.send_length)

            def _send(self, status: int, payload: bytes, content_type: str, headers: dict[str, str],
                      send_length: bool = True) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                if send_length:
                    self.send_header("Content-Length", str(len(payload)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                self._handle("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._handle("POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


def tap_with_count(body: bytes | Path, count: int) -> Callable[[RecordedRequest], bytes]:
    """A TAP sync route: a ``COUNT(*)`` query (TAP 1.1 ``QUERY`` or NASA's ``query``) gets ``count``, others ``body``."""

    def answer(request: RecordedRequest) -> bytes:
        query = (request.query.get("QUERY") or request.query.get("query") or [""])[0]
        if "COUNT(*)" in query:
            return f"n\n{count}\n".encode()
        return body.read_bytes() if isinstance(body, Path) else body

    return answer
