"""Fetching one URL politely and safely: the crawler's HTTP client (urllib3).

Guarantees of `fetch`:
- the host's addresses are resolved first and the connection goes to a checked address (so DNS
  cannot point a public name at a private address between check and connect); private, loopback and
  link-local addresses are refused unless `allow_private`;
- connect and read timeouts; 429, 5xx and network errors are retried with exponential backoff,
  `Retry-After` honoured (up to `max_retry_after`, beyond which the fetch gives up);
- redirects are not followed here: a 3xx is returned with its `Location`, and the crawl schedules it
  (so the target goes through the same scope, robots and safety checks);
- only allowed content types are read; the body is decoded (gzip, deflate, brotli) as it streams
  and cut at `max_bytes` of decoded data, so an endless page or a decompression bomb costs at most
  `max_bytes` (the result says `truncated="length"`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

from transforms.urls import DEFAULT_PORTS, UrlError, refuse_address, resolve

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REFUSED = "private address refused"


@dataclass(frozen=True)
class FetchConfig:
    user_agent: str = "polycorp/0.1 (+https://github.com/polycorp/polycorp; multilingual corpus research)"
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_bytes: int = 5_000_000
    max_retries: int = 3
    backoff_base: float = 1.0
    max_retry_after: float = 60.0
    allow_private: bool = False
    allowed_addresses: tuple[str, ...] = ()  # private addresses allowed without allow_private
    content_types: tuple[str, ...] = ("text/html", "application/xhtml+xml")


@dataclass
class FetchResult:
    url: str
    status: int | None = None
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)  # as received, decoded body's
    body: bytes = b""
    fetched_at: datetime | None = None
    ip: str | None = None
    error: str | None = None  # None when a response (any status) was received
    truncated: str | None = None  # "length" when the body was cut at max_bytes
    content_type: str | None = None
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    attempts: int = 0

    @property
    def location(self) -> str | None:
        if self.status is None or not 300 <= self.status < 400:
            return None
        for name, value in self.headers:
            if name.lower() == "location":
                return urljoin(self.url, value.strip())
        return None


def _retry_after(headers: dict[str, str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _pool(scheme: str, ip: str, host: str, port: int, config: FetchConfig):
    timeout = urllib3.Timeout(connect=config.connect_timeout, read=config.read_timeout)
    if scheme == "https":
        return urllib3.HTTPSConnectionPool(
            ip, port, timeout=timeout, retries=False, server_hostname=host, assert_hostname=host,
            cert_reqs="CERT_REQUIRED")
    return urllib3.HTTPConnectionPool(ip, port, timeout=timeout, retries=False)


def _address(url: str, config: FetchConfig) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    addresses = resolve(host, port)
    if not config.allow_private:
        for ip in addresses:
            why = None if ip in config.allowed_addresses else refuse_address(ip)
            if why:
                raise UrlError(f"{REFUSED} ({why}); pass --allow-private to crawl it")
    return parts.scheme, host, port, addresses[0]


def fetch_once(url: str, config: FetchConfig) -> tuple[FetchResult, float | None]:
    """One attempt; returns the result and, when worth retrying, the server's Retry-After (or 0)."""
    result = FetchResult(url, fetched_at=datetime.now(timezone.utc))
    try:
        scheme, host, port, ip = _address(url, config)
    except UrlError as e:
        result.error = str(e)
        return result, None
    result.ip = ip
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    netloc = parts.netloc
    request_headers = [
        ("Host", netloc), ("User-Agent", config.user_agent),
        ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"),
        ("Accept-Encoding", "gzip, deflate, br"),
    ]
    result.request_headers = request_headers
    try:
        with _pool(scheme, ip, host, port, config) as pool:
            response = pool.urlopen("GET", target, headers=dict(request_headers), redirect=False,
                                    preload_content=False, decode_content=True, assert_same_host=False)
            try:
                result.status, result.reason = response.status, response.reason or ""
                result.headers = list(response.headers.items())
                lower = {k.lower(): v for k, v in result.headers}
                result.content_type = (lower.get("content-type") or "").split(";")[0].strip().lower() or None
                if response.status in RETRY_STATUSES:
                    return result, _retry_after(lower) or 0.0
                wanted = "*" in config.content_types or result.content_type in config.content_types
                if 200 <= response.status < 300 and not wanted:
                    return result, None  # not read: the log says which type it was
                body = bytearray()
                for chunk in response.stream(65536, decode_content=True):
                    body += chunk
                    if len(body) > config.max_bytes:
                        result.truncated = "length"
                        del body[config.max_bytes:]
                        break
                result.body = bytes(body)
            finally:
                response.release_conn()
                response.close()
    except (Urllib3Error, OSError) as e:
        result.error = f"{type(e).__name__}: {e}"[:300]
        return result, 0.0
    return result, None


def fetch(url: str, config: FetchConfig, sleep: Callable[[float], None] = time.sleep,
          min_interval: float = 0.0) -> FetchResult:
    """Fetch `url` with retries; never raises for network or HTTP problems (see `error`).
    Retries wait at least `min_interval` (the host's politeness delay)."""
    attempt = 0
    while True:
        result, retry_after = fetch_once(url, config)
        attempt += 1
        result.attempts = attempt
        if retry_after is None or attempt > config.max_retries:
            return result
        wait = max(retry_after, config.backoff_base * 2 ** (attempt - 1), min_interval)
        if retry_after > config.max_retry_after:
            result.error = f"Retry-After {retry_after:.0f}s exceeds the {config.max_retry_after:.0f}s limit"
            return result
        sleep(wait)
