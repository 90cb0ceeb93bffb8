"""MinHash signatures and near-duplicate detection on real text (the sample's manual pages)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.util import assert_that

from tests.helpers import local_pipeline
from transforms.dedup import DocKey
from transforms.minhash import (
    MinHashConfig, MinHasher, batch_shingle_hashes, shingle_hashes, similarity, simplify, true_jaccard,
)
from transforms.neardup import NearDedup, connected_components

MH = MinHashConfig()
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def pages_of(gold, lang: str, n: int) -> list[str]:
    texts = sorted({p["text"] for p in gold if p["lang"] == lang and not p.get("duplicate_of")}, key=len)
    return [t for t in texts if len(t) > 3000][:n]


def replace_sentence(text: str, other: str, rng: random.Random) -> str:
    """`text` with one of its lines swapped for a line of `other` (a real edit, same language)."""
    lines, donor = text.split("\n"), [line for line in other.split("\n") if len(line) > 40]
    i = rng.randrange(len(lines))
    lines[i] = rng.choice(donor)
    return "\n".join(lines)


# ------------------------------------------------------------------------------ signatures


def test_batch_hashing_equals_one_text_at_a_time(gold):
    texts = [p["text"] for p in gold[:40]] + ["", "!!!", "one two", "日本語"]
    unspaced = [p["lang"] in ("ja", "zh") for p in gold[:40]] + [False, False, False, True]
    hashes, counts = batch_shingle_hashes(texts, unspaced, MH)
    alone = [shingle_hashes(t, u, MH) for t, u in zip(texts, unspaced)]
    assert counts.tolist() == [len(h) for h in alone]
    assert np.array_equal(hashes, np.concatenate(alone))
    assert counts[-4] == counts[-3] == 0 and counts[-2] == 1 and counts[-1] == 1  # short: one shingle


def test_simplification_ignores_case_digits_punctuation_and_keeps_vowel_signs():
    assert simplify("Hello, World!  2024 — it's   ok_x") == "hello world 0000 it s ok x"
    assert simplify("नमस्ते दुनिया।") == "नमस्ते दुनिया"  # combining vowel signs stay inside the word
    a = shingle_hashes("The quick brown fox jumps over the lazy dog.", False, MH)
    b = shingle_hashes("the QUICK brown fox -- jumps over the lazy dog", False, MH)
    assert np.array_equal(a, b)


def test_estimated_jaccard_tracks_the_true_one(gold):
    rng = random.Random(5)
    hasher = MinHasher(MH)
    errors = []
    for lang in ("en", "de", "ru", "ja", "zh"):
        pages = pages_of(gold, lang, 6)
        for text in pages[:5]:
            edited = replace_sentence(replace_sentence(text, pages[-1], rng), pages[-1], rng)
            unspaced = lang in ("ja", "zh")
            a, b = hasher.signatures([text, edited], [unspaced, unspaced])
            errors.append(similarity(a, b) - true_jaccard(text, edited, unspaced, MH))
    # 112 hash functions: the standard error of the estimate is at most 0.5/sqrt(112) ≈ 0.047
    assert abs(np.mean(errors)) < 0.03 and max(abs(e) for e in errors) < 0.15


def test_cjk_is_shingled_by_characters(texts):
    zh = texts["zh"]
    rng = random.Random(2)
    han = [i for i, ch in enumerate(zh) if "\u4e00" <= ch <= "\u9fff"]
    chars = list(zh)
    for i in rng.sample(han, 8):  # eight characters changed
        chars[i] = "之"
    edited = "".join(chars)
    by_chars, by_spaces = true_jaccard(zh, edited, True, MH), true_jaccard(zh, edited, False, MH)
    # character 5-grams lose ~5 shingles per edit; space-separated "words" are whole clauses, so
    # each edit changes every word n-gram around its clause
    assert by_chars > 0.85 and by_chars > by_spaces + 0.05, (by_chars, by_spaces)


# ------------------------------------------------------------------------------ components


def union_find_labels(edges) -> dict:
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in list(parent) if find(x) != x}


@pytest.mark.parametrize("seed,partitions", [(1, 1), (2, 3), (3, 7)])
def test_components_in_beam_equal_union_find(seed, partitions):
    rng = random.Random(seed)
    nodes = [(f"n{i:03d}",) for i in range(120)]
    edges = [(rng.choice(nodes), rng.choice(nodes)) for _ in range(90)]
    edges += [(nodes[i], nodes[i + 1]) for i in range(60, 79)]  # a long chain
    edges = [(a, b) for a, b in edges if a != b]
    want = sorted(union_find_labels(edges).items())
    with local_pipeline() as p:
        labels = connected_components(p | beam.Create(edges), rounds=6, partitions=partitions)
        assert_that(labels, lambda got: _equal(sorted(got), want))


def test_components_cut_short_keep_more_never_fewer():
    """A shuffled chain of 300 nodes over 16 partitions: 8 rounds finish it; after 1 round every
    label still points inside the component, and the minimum is never labelled (never removed)."""
    rng = random.Random(4)
    order = rng.sample(range(10_000), 300)
    nodes = [(1, i, 0, f"c{i:05d}") for i in order]
    edges = list(zip(nodes, nodes[1:]))
    smallest = min(nodes)
    for rounds, check in [
        (8, lambda got: _equal(sorted(got), sorted((n, smallest) for n in nodes if n != smallest))),
        (1, lambda got: _check(len(got) < 299 and all(m in nodes and m < n for n, m in got)
                               and smallest not in dict(got), got)),
    ]:
        with local_pipeline() as p:
            assert_that(connected_components(p | beam.Create(edges), rounds=rounds, partitions=16), check)


def _check(ok: bool, got) -> None:
    assert ok, got[:5]


def _equal(got, want):
    assert got == want, (len(got), len(want), [g for g in got if g not in want][:5])


# ------------------------------------------------------------------------------ NearDedup


def keys_for(texts: list[str], lang: str, start: int = 0) -> list[DocKey]:
    hasher = MinHasher(MH)
    unspaced = lang in ("ja", "zh")
    out = []
    for i, (text, sig) in enumerate(zip(texts, hasher.signatures(texts, [unspaced] * len(texts)))):
        n = start + i
        out.append(DocKey(f"{n:032x}", f"https://site{n}.example/{lang}/page.html", lang,
                          T0 + timedelta(days=n), len(text.encode()), sig.astype("<u4").tobytes()))
    return out


def run_near(keys: list[DocKey], config, check) -> None:
    with local_pipeline() as p:
        pairs = p | beam.Create(keys) | NearDedup(config.near_dedup)
        out = pairs | beam.MapTuple(lambda key, dup: (dup.id, dup.duplicate_of, dup.kind, dup.similarity, key.lang))
        assert_that(out, check)


def test_near_duplicates_found_unrelated_kept(gold, config):
    rng = random.Random(11)
    de = pages_of(gold, "de", 4)
    zh = pages_of(gold, "zh", 3)
    boilerplate = "\n".join(pages_of(gold, "en", 1)[0].split("\n")[:4])  # real lines shared by two pages
    docs_de = [de[0], replace_sentence(de[0], de[3], rng),  # a changed sentence
               de[1] + "\n" + boilerplate, de[2] + "\n" + boilerplate]  # unrelated, shared lines
    docs_zh = [zh[0], replace_sentence(zh[0], zh[2], rng), zh[1]]
    keys = keys_for(docs_de, "de") + keys_for(docs_zh, "zh", start=10)

    def check(got):
        got = sorted(got)
        assert [(d, of) for d, of, *_ in got] == [(keys[1].id, keys[0].id), (keys[5].id, keys[4].id)], got
        assert all(kind == "near" and 0.7 <= sim < 1.0 for _, _, kind, sim, _ in got)
        assert [lang for *_, lang in got] == ["de", "zh"]

    run_near(keys, config, check)


def test_chain_collapses_to_its_earliest_page(gold, config):
    rng = random.Random(3)
    fr = pages_of(gold, "fr", 3)
    a = fr[0]
    b = replace_sentence(replace_sentence(a, fr[2], rng), fr[2], rng)
    c = replace_sentence(replace_sentence(b, fr[1], rng), fr[1], rng)
    keys = keys_for([c, b, a], "fr")  # c is fetched first: the representative of all three
    relaxed = replace(config, near_dedup=replace(config.near_dedup, min_similarity=0.0))

    def check(got):
        assert sorted((d, of) for d, of, *_ in got) == [(keys[1].id, keys[0].id), (keys[2].id, keys[0].id)], got

    run_near(keys, relaxed, check)


def test_unverified_chance_candidates_are_cut_by_the_full_signature(config):
    # two signatures that agree on exactly one band (8 values) and nothing else: an LSH candidate
    # with an estimated Jaccard of 8/112
    base = np.arange(112, dtype="<u4")
    other = base + 1000
    other[:8] = base[:8]
    keys = [DocKey(f"{i:032x}", f"https://e.org/{i}", "en", T0, 10, sig.tobytes())
            for i, sig in enumerate((base, other))]
    relaxed = replace(config, near_dedup=replace(config.near_dedup, min_similarity=0.0))

    def linked(got):
        assert [(d, round(s, 3)) for d, _, _, s, _ in got] == [(keys[1].id, round(8 / 112, 3))]

    run_near(keys, relaxed, linked)
    run_near(keys, config, lambda got: _equal(list(got), []))


def test_character_classes_cover_all_of_unicode():
    """The table scans only the planes with assigned letters; check that against every code point."""
    import unicodedata

    from transforms.minhash import _char_classes

    table = _char_classes()
    wrong = [cp for cp in range(0x110000) if table[cp] != {"L": 1, "M": 1, "N": 2}.get(
        unicodedata.category(chr(cp))[0], 0)]
    assert wrong == []


def test_band_hashes_equal_exactly_when_a_band_is_equal():
    from transforms.minhash import band_hashes

    rng = np.random.default_rng(4)
    a = rng.integers(0, 1 << 32, size=112, dtype=np.uint64).astype(np.uint32)
    b = a.copy()
    b[8:] += 1  # equal in band 0 only
    c = a.copy()
    c[8 * 13] += 1  # differs in band 13 only
    h = band_hashes(np.stack([a, b, c]), MH)
    assert h.shape == (3, 14)
    assert (h[0] == h[1]).tolist() == [True] + [False] * 13
    assert (h[0] == h[2]).tolist() == [True] * 13 + [False]
    assert len(set(h[0].tolist())) == 14  # the same values in two bands still hash apart
