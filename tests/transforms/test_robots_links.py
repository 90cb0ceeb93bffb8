from tests.helpers import html_page
from transforms.links import extract_links
from transforms.robots import robots_from_response

AGENT = "polycorp/0.1"


def test_robots_rules_and_delay():
    robots = robots_from_response(200, b"User-agent: *\nDisallow: /private/\nCrawl-delay: 2\n", None)
    assert robots.allowed("https://e.org/page", AGENT)
    assert not robots.allowed("https://e.org/private/x", AGENT)
    assert robots.crawl_delay(AGENT) == 2.0


def test_robots_status_semantics():
    assert robots_from_response(404, b"", None).allowed("https://e.org/x", AGENT)  # no robots: allow
    assert not robots_from_response(503, b"", None).allowed("https://e.org/x", AGENT)  # unavailable
    assert not robots_from_response(None, b"", "timed out").allowed("https://e.org/x", AGENT)


def test_links_and_language_alternates(texts):
    page = html_page("Seite", texts["de"], "de").replace(
        "</title>",
        '</title><link rel="alternate" hreflang="fr" href="/fr/page.html">'
        '<link rel="stylesheet" href="/style.css">',
    ).replace(
        "<main>",
        '<main><a href="/fr/page.html" hreflang="fr">Français</a> <a href="page2.html#top">next</a>'
        ' <a href="mailto:x@e.org">mail</a> <a rel="nofollow" href="/ads">ad</a>'
        ' <a href="https://other.example/x?utm_source=y">other</a>',
    )
    links = extract_links(page, "https://e.org/de/page.html")
    assert links.links[:3] == ["https://e.org/", "https://e.org/about", "https://e.org/fr/page.html"]
    assert "https://e.org/de/page2.html" in links.links and "https://other.example/x" in links.links
    assert "https://e.org/ads" not in links.links
    assert not any(u.startswith("mailto") for u in links.links)
    assert links.alternates == [("fr", "https://e.org/fr/page.html")]


def test_meta_robots_nofollow(texts):
    page = html_page("t", texts["en"]).replace("</title>", '</title><meta name="robots" content="noindex, nofollow">')
    page = page.replace("<main>", '<main><a href="/next">next</a>')
    assert extract_links(page, "https://e.org/").links == []
