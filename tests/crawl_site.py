"""A small multilingual website on 127.0.0.1 for crawler tests, with every kind of trouble.

Pages carry real text (the sample's gold texts). `requests` records (path, time) of every request,
so tests can check what was fetched, how often and how politely.
"""

from __future__ import annotations

import gzip
import time
from html import escape
from pipelines.sample_site import LocalServer, QuietHandler

ROBOTS = "User-agent: *\nDisallow: /private/\nCrawl-delay: 0.3\n"


def page(title: str, text: str, lang: str, links: list[str], alternates: dict[str, str] | None = None) -> str:
    alt = "".join(f'<link rel="alternate" hreflang="{h}" href="{u}">' for h, u in (alternates or {}).items())
    switch = "".join(f'<a href="{u}" hreflang="{h}">{h}</a> ' for h, u in (alternates or {}).items())
    anchors = "".join(f'<li><a href="{escape(u)}">{escape(u)}</a></li>' for u in links)
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n")[:40] if p.strip())
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"{alt}</head><body><nav>{switch}</nav><main><h1>{escape(title)}</h1>{paragraphs}</main>"
            f"<ul>{anchors}</ul></body></html>")


class Site(LocalServer):
    def __init__(self, texts: dict[str, str], host: str = "127.0.0.1", other_host: str | None = None):
        self.texts = texts
        self.flaky_calls = 0
        self.other_host = other_host
        super().__init__(self._handler(), host)

    def routes(self) -> dict:
        b, t = self.base, self.texts
        langs = ["de", "fr", "ru", "ja"]
        alternates = {lang: f"{b}/page/{lang}" for lang in langs}
        elsewhere = [f"{self.other_host}/elsewhere"] if self.other_host else []
        index_links = [f"/page/{lang}" for lang in langs] + [
            "/private/secret", "/redirect", "/loop1", "/to-private", "/missing", "/error500",
            "/flaky429", "/slow", "/endless", "/bomb", "/binary.html", "/image.png", "/wrong-charset",
            "/page/de?utm_source=newsletter", "/page/de#section-2", "/./page/../page/fr",
            "HTTP://127.0.0.1:%d/page/ru" % self.server.server_address[1],
            "mailto:someone@example.org", "javascript:void(0)", "/excluded/page",
        ] + elsewhere
        routes = {
            "/robots.txt": (200, "text/plain", ROBOTS.encode(), {}),
            "/": (200, "text/html; charset=utf-8", page("Index", t["en"], "en", index_links).encode(), {}),
            "/redirect": (301, "text/html", b"moved", {"Location": "/page/fr"}),
            "/loop1": (302, "text/html", b"", {"Location": "/loop2"}),
            "/loop2": (302, "text/html", b"", {"Location": "/loop1"}),
            "/to-private": (302, "text/html", b"", {"Location": "http://127.0.0.2:9/admin"}),
            "/error500": (500, "text/html", b"<p>server error</p>", {}),
            "/image.png": (200, "image/png", b"\x89PNG\r\n\x1a\n" + bytes(200), {}),
            "/binary.html": (200, "text/html", bytes(range(256)) * 20, {}),
            "/private/secret": (200, "text/html", page("Secret", t["en"], "en", []).encode(), {}),
        }
        for lang in langs:
            others = [f"/page/{x}" for x in langs if x != lang] + elsewhere
            routes[f"/page/{lang}"] = (200, "text/html; charset=utf-8",
                                       page(lang, t[lang], lang, others, alternates).encode(), {})
        ru = page("Страница", t["ru"], "ru", []).replace('charset="utf-8"', 'charset="windows-1251"')
        routes["/wrong-charset"] = (200, "text/html; charset=utf-8", ru.encode("cp1251", "replace"), {})
        return routes

    def _handler(self):
        site = self

        class Handler(QuietHandler):
            def _send(self, status, ctype, body, headers=None):
                self.send(status, [("Content-Type", ctype), *(headers or {}).items()], body)

            def do_GET(self):
                site.record(self.path)
                path = self.path
                if path == "/flaky429":
                    with site.lock:
                        site.flaky_calls += 1
                        calls = site.flaky_calls
                    if calls == 1:
                        return self._send(429, "text/html", b"slow down", {"Retry-After": "1"})
                    return self._send(200, "text/html; charset=utf-8",
                                      page("ok", site.texts["fr"], "fr", []).encode())
                if path == "/slow":
                    time.sleep(3)
                    return self._send(200, "text/html", b"<p>too late</p>")
                if path == "/endless":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.end_headers()
                    chunk = ("<p>" + site.texts["de"][:1000] + "</p>").encode()
                    try:
                        for _ in range(100_000):  # ~100 MB if nobody stops reading
                            self.wfile.write(chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    self.close_connection = True
                    return
                if path == "/bomb":
                    body = gzip.compress(b"<p>" + b"a" * 50_000_000 + b"</p>", compresslevel=9)
                    return self._send(200, "text/html", body, {"Content-Encoding": "gzip"})
                route = site.routes().get(path)
                if route is None:
                    return self._send(404, "text/html", b"<p>not found</p>")
                self._send(*route)

        return Handler
