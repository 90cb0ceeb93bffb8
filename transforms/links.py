"""Links of a fetched page: where to go next, and which pages are its other-language versions."""

from __future__ import annotations

from dataclasses import dataclass, field

from resiliparse.parse.html import HTMLTree

from transforms.urls import UrlError, canonical_url


@dataclass
class PageLinks:
    links: list[str] = field(default_factory=list)  # canonical, unique, in page order
    alternates: list[tuple[str, str]] = field(default_factory=list)  # (hreflang, canonical url)


def extract_links(html: str, page_url: str) -> PageLinks:
    """Followable links (`<a href>`, not rel=nofollow, none if meta robots says nofollow) and
    language alternates (`<link rel=alternate hreflang>` and language-switcher `<a hreflang|lang>`)."""
    return page_links(HTMLTree.parse(html), page_url)


def page_links(tree: HTMLTree, page_url: str, follow: bool = True) -> PageLinks:
    """`extract_links` of a parsed page; only the alternates if not `follow`."""
    doc = tree.document
    base = page_url
    for element in doc.query_selector_all("base[href]"):
        base = _resolve(element.getattr("href"), page_url) or page_url
        break
    nofollow = not follow or any(
        "nofollow" in (m.getattr("content") or "").lower()
        for m in doc.query_selector_all("meta[name]")
        if (m.getattr("name") or "").lower() == "robots"
    )
    out, seen, alt_seen = PageLinks(), set(), set()
    for a in doc.query_selector_all("a[href]"):
        lang = a.getattr("hreflang") or a.getattr("lang")
        if not lang and nofollow:
            continue
        url = _resolve(a.getattr("href"), base)
        if url is None:
            continue
        if lang and url != page_url and (lang, url) not in alt_seen:
            alt_seen.add((lang, url))
            out.alternates.append((lang, url))
        if nofollow or "nofollow" in (a.getattr("rel") or "").lower().split():
            continue
        if url not in seen:
            seen.add(url)
            out.links.append(url)
    for link in doc.query_selector_all("link[hreflang]"):
        if "alternate" not in (link.getattr("rel") or "").lower().split():
            continue
        url = _resolve(link.getattr("href"), base)
        lang = link.getattr("hreflang")
        if url and lang and url != page_url and (lang, url) not in alt_seen:
            alt_seen.add((lang, url))
            out.alternates.append((lang, url))
    return out


def _resolve(href: str | None, base: str) -> str | None:
    if not href or href.startswith(("javascript:", "mailto:", "tel:", "data:")):
        return None
    try:
        return canonical_url(href, base)
    except UrlError:
        return None
