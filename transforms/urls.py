"""URL canonicalisation and address safety for the crawler.

`canonical_url` makes one spelling per page (so it is fetched once): lower-case scheme and host,
IDNA host, default port dropped, fragment dropped, dot segments resolved, percent-encoding
normalised, query parameters sorted, tracking parameters (utm_*, gclid, fbclid, …) removed.
`refuse_address` says why an address must not be fetched (private, loopback, link-local, …).
"""

from __future__ import annotations

import ipaddress
import posixpath
import socket
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
TRACKING_PARAMS = frozenset({
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id", "gclid",
    "dclid", "fbclid", "msclkid", "mc_cid", "mc_eid", "_ga", "yclid", "igshid", "ref_src",
})


class UrlError(ValueError):
    """A URL that cannot or must not be fetched; the message says why."""


def canonical_url(url: str, base: str | None = None) -> str:
    """The canonical spelling of `url` (resolved against `base`). Raises UrlError."""
    from urllib.parse import urljoin

    raw = urljoin(base, url.strip()) if base else url.strip()
    try:
        parts = urlsplit(raw)
    except ValueError as e:
        raise UrlError(f"unparsable URL: {e}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UrlError(f"scheme {scheme or '(none)'!r} is not http(s)")
    try:
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError as e:
        raise UrlError(f"bad host or port: {e}") from None
    if not host:
        raise UrlError("URL without a host")
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UrlError(f"host {host!r} is not a valid domain name") from None
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = parts.path or "/"
    normalised = posixpath.normpath(path)
    if path.endswith("/") and normalised != "/":
        normalised += "/"
    query = urlencode(
        sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
               if k.lower() not in TRACKING_PARAMS and not k.lower().startswith("utm_"))
    )
    # w3lib normalises percent-encoding (and keeps our sorted query); the fragment goes.
    return canonicalize_url(urlunsplit((scheme, netloc, normalised.replace("//", "/"), query, "")))


def origin_of(url: str) -> str:
    """scheme://host[:port] — the unit of politeness (one robots.txt, one delay)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def refuse_address(ip: str) -> str | None:
    """Why connecting to `ip` is refused without --allow-private, or None if it is public."""
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for attr in ("is_loopback", "is_private", "is_link_local", "is_multicast", "is_reserved",
                 "is_unspecified"):
        if getattr(address, attr):
            return f"{ip} is {attr[3:].replace('_', '-')}"
    return None


def resolve(host: str, port: int) -> list[str]:
    """IP addresses of `host` (all of them: one private answer is enough to refuse)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise UrlError(f"cannot resolve {host}: {e.strerror}") from None
    return sorted({info[4][0] for info in infos})
