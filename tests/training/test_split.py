"""The held-out split follows a page's URL: a page crawled again (a new WARC record, so a new
document id) stays on its side, so a scheduled rebuild never moves evaluation text into training."""

from __future__ import annotations

from transforms.records import stable_hash
from training.split import heldout, is_heldout

# the sample site's manual pages (sample/README.md), as a crawl would name them
URLS = [f"https://manpages.example.org/{lang}/man1/{page}.1.html"
        for lang in ("de", "fr", "ja", "uk") for page in ("ls", "cp", "tar", "grep", "sed", "find", "sort", "wc",
                                                          "cat", "head")]


def doc(url: str | None, record_id: str) -> dict:
    """A docs row as the build makes it: the id hashes the URL with the WARC record's id."""
    return {"url": url, "id": stable_hash(url or "", record_id, "crawl.warc.gz")}


def test_a_page_crawled_again_keeps_its_side():
    first = [heldout("docs", doc(u, "<urn:uuid:1f0e…a>"), 0.3) for u in URLS]
    again = [heldout("docs", doc(u, "<urn:uuid:77c2…b>"), 0.3) for u in URLS]
    assert first == again
    assert 0.1 < sum(first) / len(URLS) < 0.5  # 30% of 40 pages, roughly: both sides occur
    # by id the two crawls would disagree about some pages
    assert [is_heldout(doc(u, "<urn:uuid:1f0e…a>")["id"], 0.3) for u in URLS] != \
        [is_heldout(doc(u, "<urn:uuid:77c2…b>")["id"], 0.3) for u in URLS]


def test_without_a_url_the_id_decides_and_nothing_is_held_at_zero():
    rows = [doc(None, f"<urn:uuid:{i}>") for i in range(40)] + [doc("", f"<urn:uuid:x{i}>") for i in range(40)]
    assert [heldout("docs", r, 0.3) for r in rows] == [is_heldout(r["id"], 0.3) for r in rows]
    assert 0 < sum(heldout("docs", r, 0.3) for r in rows) < len(rows)
    assert not any(heldout("docs", doc(u, "r"), 0.0) for u in URLS)
    assert all(heldout("docs", doc(u, "r"), 1.0) for u in URLS)


def test_a_pair_is_held_out_when_either_document_is():
    held = [u for u in URLS if is_heldout(u, 0.3)]
    kept = [u for u in URLS if not is_heldout(u, 0.3)]
    assert held and len(kept) >= 2

    def pair(src: str, tgt: str) -> dict:
        return {"src_url": src, "src_doc_id": doc(src, "r1")["id"], "tgt_url": tgt, "tgt_doc_id": doc(tgt, "r2")["id"]}

    assert heldout("bitext", pair(held[0], kept[0]), 0.3)
    assert heldout("bitext", pair(kept[0], held[0]), 0.3)
    assert not heldout("bitext", pair(kept[0], kept[1]), 0.3)
