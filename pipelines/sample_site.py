"""The bundled sample served as a website on 127.0.0.1, for the demo and the crawler's tests.

Every response recorded in `sample/sample.warc.gz` is replayed at its path (status, content type,
body), with the site's absolute address (`https://manpages.example.org`) rewritten to the local
one; a path that only prefixes recorded pages (`/`, `/de/`, `/de/man1/`) gets a generated index
page listing them, as the real site's directory pages would.
"""

from __future__ import annotations

import threading
import time
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from fastwarc.warc import ArchiveIterator, WarcRecordType

from pipelines.sample import SAMPLE_WARC

SAMPLE_SITE = "https://manpages.example.org"
# the demo's port when free: pages keep their URLs from one demo run to the next, and with them the
# documents held out for evaluation (training/split.py); below Linux's ephemeral range
DEMO_PORT = 18642


def load_site(warc_path=SAMPLE_WARC) -> dict[str, tuple[int, list[tuple[str, str]], bytes]]:
    """Path → (status, headers, body) of the responses of the site's HTTPS origin."""
    pages = {}
    with open(warc_path, "rb") as f:
        for record in ArchiveIterator(f, record_types=WarcRecordType.response, parse_http=True):
            url = record.headers.get("WARC-Target-URI")
            if not url.startswith(SAMPLE_SITE):
                continue
            parts = urlsplit(url)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            headers = [(k, v) for k, v in record.http_headers.items()
                       if k.lower() in ("content-type", "location", "retry-after")]
            pages[path] = (record.http_headers.status_code, headers, record.reader.read())
    return pages


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1, no access log on stderr, and `send` for a whole response."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class LocalServer:
    """A threaded HTTP server on a loopback address, serving while in a `with` block; `base` is its
    http://host:port. The port is `prefer_port` when that one is free, otherwise one the OS chooses."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1", prefer_port: int = 0):
        self.requests: list[tuple[str, float]] = []  # (path, monotonic time) of every request
        self.lock = threading.Lock()
        try:
            self.server = _Server((host, prefer_port), handler)
        except OSError:  # taken (or not ours to bind)
            if not prefer_port:
                raise
            self.server = _Server((host, 0), handler)
        self.base = f"http://{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def record(self, path: str) -> None:
        with self.lock:
            self.requests.append((path, time.monotonic()))

    def paths(self) -> list[str]:
        with self.lock:
            return [p for p, _ in self.requests]


class SampleSite(LocalServer):
    """`with SampleSite() as site:` serves the sample at `site.base` until the block ends."""

    def __init__(self, warc_path=SAMPLE_WARC, host: str = "127.0.0.1", prefer_port: int = 0):
        self.pages = load_site(warc_path)
        super().__init__(self._handler(), host, prefer_port)

    def index(self, prefix: str) -> bytes | None:
        below = sorted({p[len(prefix):].split("/")[0] + ("/" if "/" in p[len(prefix):] else "")
                        for p in self.pages if p.startswith(prefix) and p != prefix})
        if not below:
            return None
        items = "".join(f'<li><a href="{escape(prefix + name)}">{escape(name)}</a></li>' for name in below)
        return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Index of {escape(prefix)}</title>"
                f"</head><body><h1>Index of {escape(prefix)}</h1><ul>{items}</ul></body></html>").encode()

    def response(self, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
        if path in self.pages:
            status, headers, body = self.pages[path]
            local = self.base.encode()
            body = body.replace(SAMPLE_SITE.encode(), local)
            headers = [(k, v.replace(SAMPLE_SITE, self.base)) for k, v in headers]
            return status, headers, body
        if path.endswith("/") and (listing := self.index(path)) is not None:
            return 200, [("Content-Type", "text/html; charset=utf-8")], listing
        return 404, [("Content-Type", "text/html; charset=utf-8")], b"<p>not found</p>"

    def _handler(self):
        site = self

        class Handler(QuietHandler):
            def do_GET(self):
                site.record(self.path)
                self.send(*site.response(self.path))

        return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a crawler hanging up early is not the server's problem
