"""The held-out split follows a page's URL: a page crawled again at the same URL (a new WARC record,
so a new document id) stays on its side in the next scheduled build; and evaluation, the loader and
the tokenizer agree on which rows are held out."""

from __future__ import annotations

import json

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


def test_runs_of_older_polycorp_are_evaluated_by_id():
    rows = [doc(u, "<urn:uuid:1f0e…a>") for u in URLS]
    assert [heldout("docs", r, 0.3, split="id") for r in rows] == [is_heldout(r["id"], 0.3) for r in rows]
    pair = {"src_url": URLS[0], "src_doc_id": "a", "tgt_url": URLS[1], "tgt_doc_id": "b"}
    assert heldout("bitext", pair, 0.3, split="id") == (is_heldout("a", 0.3) or is_heldout("b", 0.3))


def test_eval_scores_exactly_the_rows_the_loader_and_tokenizer_leave_out(sample_build):
    """On the sample's build, 20 % held out: eval's documents are those whose URL hashes in, every
    other row of the manifest is the loader's, and none of their lines reaches the tokenizer."""
    import pyarrow.parquet as pq

    from training.data import load_plan
    from training.evaluate import heldout_docs, heldout_pairs
    from training.tokenizer import sample_lines

    manifest = json.loads((sample_build / "manifest.json").read_text())
    plan = load_plan(str(sample_build), 0.2, verify=False)
    docs = heldout_docs(sample_build, manifest, 0.2, 10**6)
    for lang in {s["lang"] for s in manifest["shards"] if s["kind"] == "docs" and s["rows"]}:
        rows = [r for s in sorted((sample_build / "docs" / f"lang={lang}").glob("*.parquet"))
                for r in pq.read_table(s, columns=["url", "text"]).to_pylist()]
        expected = [r["text"] for r in rows if is_heldout(r["url"], 0.2)]
        assert docs.get(lang, []) == expected
        assert plan.docs[lang].rows == len(rows) - len(expected) if lang in plan.docs else len(expected) == len(rows)
    pairs = heldout_pairs(sample_build, manifest, 0.2, 10**6)
    assert len(pairs) >= 20
    for name, chosen in pairs.items():
        rows = [r for path in (sample_build / "bitext" / f"pair={name}").glob("*.parquet")
                for r in pq.read_table(path).to_pylist()]
        held = [r for r in rows if is_heldout(r["src_url"], 0.2) or is_heldout(r["tgt_url"], 0.2)]
        assert set(chosen) <= {(r["src_text"], r["tgt_text"]) for r in held}
        assert plan.bitext[name].rows == len(rows) - len(held) if name in plan.bitext else len(held) == len(rows)
    heldout_lines = {line for texts in docs.values() for text in texts for line in text.split("\n")}
    sampled = set(sample_lines(sample_build, 10**9, 0.3, 0, 0.2, verify=False))
    other_docs = {line for path in (sample_build / "docs").glob("*/*.parquet")
                  for r in pq.read_table(path, columns=["url", "text"]).to_pylist()
                  if not is_heldout(r["url"], 0.2) for line in r["text"].split("\n")}
    assert sampled and not (sampled & (heldout_lines - other_docs))
