"""robots.txt (RFC 9309) with Protego: what a crawl may fetch on a host, and how slowly."""

from __future__ import annotations

from dataclasses import dataclass

from protego import Protego


@dataclass(frozen=True)
class Robots:
    """The rules of one host for one user agent."""

    rules: Protego | None  # None: no rules (allow all), unless `disallow_all`
    disallow_all: bool = False
    note: str = ""  # why the rules are what they are (e.g. "robots.txt 404: allow all")

    def allowed(self, url: str, user_agent: str) -> bool:
        if self.disallow_all:
            return False
        return self.rules is None or self.rules.can_fetch(url, user_agent)

    def crawl_delay(self, user_agent: str) -> float | None:
        if self.rules is None:
            return None
        delay = self.rules.crawl_delay(user_agent)
        return float(delay) if delay is not None else None


def robots_from_response(status: int | None, body: bytes, error: str | None) -> Robots:
    """RFC 9309: 2xx → parse; 4xx → no restrictions; 5xx or unreachable → disallow everything."""
    if error is not None or status is None:
        return Robots(None, disallow_all=True, note=f"robots.txt unreachable ({error}): disallow all")
    if 200 <= status < 300:
        return Robots(Protego.parse(body.decode("utf-8", "replace")), note="robots.txt")
    if 400 <= status < 500:
        return Robots(None, note=f"robots.txt {status}: allow all")
    return Robots(None, disallow_all=True, note=f"robots.txt {status}: disallow all")
