"""Bitext in Beam: document pairs → sentence pairs → filters → dedup, with full accounting."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from datetime import datetime, timezone

import apache_beam as beam
import pytest

from tests.helpers import local_pipeline
from transforms.bitext import AlignBitext, learned_ratio, letter_share, pair_filter
from transforms.records import Doc

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def test_filters_name_their_reason(config):
    b = config.bitext
    assert pair_filter("cannot stat %s", "Cannot  STAT %s", 0.9, 1.0, b)[0] == "identical"
    assert pair_filter("-a, --all", "-a, --alle 12", 0.9, 1.0, b)[0] == "few_letters"
    assert pair_filter("ok", "gut", 0.9, 1.0, b)[0] == "too_short"
    long_de = "Vergleicht die sortierten Dateien DATEI1 und DATEI2 Zeile für Zeile und gibt das Ergebnis aus."
    assert pair_filter("Compare files.", long_de, 0.9, 1.0, b)[0] == "length_ratio"
    assert pair_filter("Compare files.", long_de, 0.9, len(long_de) / len("Compare files."), b) is None
    assert pair_filter("Compare sorted files line by line.", "Sortierte Dateien zeilenweise vergleichen.",
                       0.001, 1.0, b)[0] == "low_score"
    assert pair_filter("Compare sorted files line by line.", "Sortierte Dateien zeilenweise vergleichen.",
                       0.9, 1.0, b) is None


def test_learned_ratio_and_letter_share():
    assert learned_ratio(1000, 3000, 0) == 3.0
    assert learned_ratio(10, 30, 2000) == pytest.approx(2030 / 2010)  # little text: near 1
    assert letter_share("ls -la") == pytest.approx(4 / 5)
    assert letter_share("12, 34") == 0.0
    # vowel signs and viramas are marks, not letters, in Unicode: they still count as writing
    assert letter_share("हिन्दी में") == 1.0
    assert letter_share("ภาษาไทย") == 1.0


def sample_docs(gold, pages=("cat.1", "sort.1", "wc.1", "head.1"), langs=("en", "de", "ja")) -> list[Doc]:
    docs = []
    for p in gold:
        name = p["url"].rsplit("/", 1)[-1].removesuffix(".html")
        if p.get("duplicate_of") or name not in pages or p["lang"] not in langs:
            continue
        if any(d.url.rsplit("/", 1)[-1] == p["url"].rsplit("/", 1)[-1] and d.lang == p["lang"] for d in docs):
            continue
        doc_id = hashlib.sha1(p["url"].encode()).hexdigest()
        docs.append(Doc(doc_id, p["url"], "manpages.example.org", T0, "sample", p["title"], p["text"], p["lang"],
                        1.0, "", len(p["text"])))
    return docs


def run_bitext(docs, config, tmp_path):
    """AlignBitext on the local runner; its three outputs read back (records, pickled)."""
    import pickle

    with local_pipeline() as p:
        out = p | beam.Create(docs) | AlignBitext(config.bitext, config.langid)
        for name in ("pairs", "filtered", "counts"):
            _ = (out[name] | f"List{name}" >> beam.combiners.ToList()
                 | f"Save{name}" >> beam.Map(lambda rows, path: path.write_bytes(pickle.dumps(rows)),
                                             path=tmp_path / name))
    return {name: pickle.loads((tmp_path / name).read_bytes()) for name in ("pairs", "filtered", "counts")}


def test_sample_pages_give_accounted_sentence_pairs(gold, config, tmp_path):
    docs = sample_docs(gold)
    assert len({d.lang for d in docs}) == 3 and len(docs) >= 10
    out = run_bitext(docs, config, tmp_path)
    pairs, dropped = out["pairs"], out["filtered"]
    counts = Counter()
    for (outcome, reason, pair), n in out["counts"]:
        counts[outcome, pair] += n
    by_pair = Counter(r.pair for r in pairs)
    assert set(by_pair) == {"de-en", "en-ja", "de-ja"}, by_pair
    assert all(r.src_lang < r.tgt_lang and 0 < r.score <= 1 for r in pairs)
    assert {r.method.split("/")[0] for r in pairs} == {"url"}  # /de/man1/cat.1.html ~ /en/man1/cat.1.html
    for pair in by_pair:  # every candidate ends kept, filtered or a duplicate
        dropped_here = [f for f in dropped if f"{f.src_lang}-{f.tgt_lang}" == pair]
        assert counts["bitext_candidates", pair] == by_pair[pair] + len(dropped_here)
        assert counts["bitext_kept", pair] == by_pair[pair]
    kept_ids = {r.id for r in pairs}
    assert len(kept_ids) == len(pairs)
    for f in dropped:
        assert f.reason in {"identical", "too_short", "few_letters", "length_ratio", "low_score", "language",
                            "duplicate"}
        if f.reason == "duplicate":
            assert f.detail in kept_ids
    # real translations come out: the de-en pairs of cat(1) include its one-line description
    texts = {(r.src_text, r.tgt_text) for r in pairs if r.pair == "de-en"}
    assert any("Standardausgabe" in s and "standard output" in t for s, t in texts), list(texts)[:5]


def test_bitext_does_not_depend_on_input_order(gold, config, tmp_path):
    docs = sample_docs(gold, pages=("cat.1", "wc.1"))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = run_bitext(docs, config, tmp_path / "a")
    second = run_bitext(docs[::-1], config, tmp_path / "b")
    assert sorted(r.id for r in first["pairs"]) == sorted(r.id for r in second["pairs"])
    key = defaultdict(int)
    for k, n in first["counts"]:
        key[k] += n
    again = defaultdict(int)
    for k, n in second["counts"]:
        again[k] += n
    assert key == again
