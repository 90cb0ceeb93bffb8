"""Document alignment: language markers in URLs, hreflang links, content evidence, conflicts."""

from __future__ import annotations

import hashlib
import random
import re

import pytest

from transforms.docalign import align_host, doc_features, tag_language, url_key


@pytest.mark.parametrize("token,lang", [
    ("de", "de"), ("DE", "de"), ("de-AT", "de"), ("de_de", "de"), ("deu", "de"), ("ger", "de"),
    ("deutsch", "de"), ("german", "de"), ("pt-BR", "pt"), ("pt_br", "pt"), ("zh-Hans", "zh"),
    ("zh-cn", "zh"), ("jp", "ja"), ("english", "en"), ("fr", "fr"), ("francais", "fr"),
])
def test_language_tags_in_urls(token, lang):
    assert tag_language(token) == lang


@pytest.mark.parametrize("token", ["man1", "html", "index", "page", "english-us", "x", "2024", "docs"])
def test_words_that_are_not_language_tags(token):
    assert tag_language(token) not in ("en", "de", "fr")


@pytest.mark.parametrize("a,b,lang_a,lang_b", [
    ("https://example.org/de/man1/ls.1.html", "https://example.org/man1/ls.1.html", "de", "en"),
    ("https://example.org/de/man1/ls.1.html", "https://example.org/fr/man1/ls.1.html", "de", "fr"),
    ("https://de.example.org/docs/intro", "https://www.example.org/docs/intro", "de", "en"),
    ("https://example.org/page?id=7&lang=de", "https://example.org/page?lang=en&id=7", "de", "en"),
    ("https://example.org/man/ls.1.de.html", "https://example.org/man/ls.1.html", "de", "en"),
    ("https://example.org/about_de.html", "https://example.org/about_fr.html", "de", "fr"),
    ("https://example.org/pt-br/guide/", "https://example.org/en-us/guide/", "pt", "en"),
    ("https://example.org/zh-cn/a.html", "https://example.org/ja/a.html", "zh", "ja"),
    ("https://example.org/deutsch/faq.html", "https://example.org/english/faq.html", "de", "en"),
])
def test_urls_differing_by_a_language_marker_share_a_key(a, b, lang_a, lang_b):
    assert url_key(a, lang_a) == url_key(b, lang_b) is not None


@pytest.mark.parametrize("a,b,lang_a,lang_b", [
    ("https://example.org/it/news.html", "https://example.org/news.html", "en", "de"),  # /it/ of an English page
    ("https://example.org/de/man1/ls.1.html", "https://example.org/man1/cp.1.html", "de", "en"),
    ("https://example.org/de/a.html", "https://example.org/a.html", "fr", "en"),  # marker of another language
    ("https://example.org/de/x.html", "https://other.org/x.html", "de", "en"),
])
def test_other_urls_do_not(a, b, lang_a, lang_b):
    assert url_key(a, lang_a) != url_key(b, lang_b)


def page_of(url: str) -> str:
    return re.sub(r".*/(man\d)/", r"\1/", url)


@pytest.fixture(scope="module")
def pages(gold):
    """The sample's original pages (aliases dropped), with the gold key: the same man page."""
    return [p for p in gold if not p.get("duplicate_of")]


def opaque_url(url: str) -> str:
    """No language marker, no page name: only the content (or links) can pair such pages."""
    return "https://manpages.example.org/p/" + hashlib.sha1(url.encode()).hexdigest()[:12] + ".html"


def features_of(pages, opaque: bool, alternates: bool = False):
    out = []
    for p in pages:
        url = opaque_url(p["url"]) if opaque else p["url"]
        doc_id = hashlib.sha1(p["url"].encode()).hexdigest()
        alts = []
        if alternates:  # the language switcher of the sample's pages: every other translation
            alts = [(q["locale"], opaque_url(q["url"]) if opaque else q["url"]) for q in pages
                    if page_of(q["url"]) == page_of(p["url"]) and q is not p]
        out.append((doc_id, p, doc_features(doc_id, url, p["lang"], p["text"], alts)))
    return out


def score_pairs(triples, pairs):
    by_id = {doc_id: p for doc_id, p, _ in triples}
    truth = set()
    for i, (a_id, a, _) in enumerate(triples):
        for b_id, b, _ in triples[i + 1:]:
            if a["lang"] != b["lang"] and page_of(a["url"]) == page_of(b["url"]):
                truth.add(frozenset((a_id, b_id)))
    found = {frozenset((p.a_id, p.b_id)) for p in pairs}
    correct = len(found & truth)
    assert all(by_id[p.a_id]["lang"] == p.a_lang and by_id[p.b_id]["lang"] == p.b_lang and p.a_lang < p.b_lang
               for p in pairs)
    return correct / max(len(found), 1), correct / len(truth)


def test_url_markers_pair_the_sample_pages(pages):
    triples = features_of(pages, opaque=False)
    pairs = align_host([f for _, _, f in triples])
    precision, recall = score_pairs(triples, pairs)
    # the sample's URLs differ only by the locale segment (/de/, /pt-BR/, /zh-CN/ …); measured
    # 0.999 / 0.959: the misses are the two zh locales (zh-CN and zh-TW are one language, and a
    # page pairs with one document per language)
    assert precision >= 0.99 and recall >= 0.94, (precision, recall)
    assert sum(p.method == "url" for p in pairs) >= 0.95 * len(pairs)


def test_content_alone_pairs_pages_whose_urls_say_nothing(pages):
    """Opaque URLs, no links: the shared numbers, option names, commands and file names of a
    manual page and its translation, weighted by rarity on the site, pair them. Measured: precision
    0.999, recall 0.917 on the sample's 12 languages (every pair of them, CJK included)."""
    triples = features_of(pages, opaque=True)
    pairs = align_host([f for _, _, f in triples])
    precision, recall = score_pairs(triples, pairs)
    assert {p.method for p in pairs} == {"content"}
    assert precision >= 0.97 and recall >= 0.85, (precision, recall)


def test_hreflang_links_win_and_each_document_pairs_once_per_language(pages):
    triples = features_of(pages, opaque=True, alternates=True)
    pairs = align_host([f for _, _, f in triples])
    precision, recall = score_pairs(triples, pairs)
    assert precision >= 0.99 and recall >= 0.94, (precision, recall)
    assert sum(p.method == "hreflang" for p in pairs) >= 0.95 * len(pairs)
    seen = set()
    for p in pairs:
        assert (p.a_id, p.b_lang) not in seen and (p.b_id, p.a_lang) not in seen
        seen |= {(p.a_id, p.b_lang), (p.b_id, p.a_lang)}


def test_alignment_does_not_depend_on_input_order(pages):
    feats = [f for _, _, f in features_of(pages[:120], opaque=True)]
    shuffled = feats[:]
    random.Random(3).shuffle(shuffled)
    assert align_host(feats) == align_host(shuffled)
