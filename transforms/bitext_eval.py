"""Scoring bitext alignment against gold (benchmarks/bitext/, tests/data/bitext-*).

Units (`evaluate_units`): documents made of gettext catalogue entries in catalogue order, each entry
one unit, gold = its 1-1 links (entries without translation are natural deletions). The aligner
runs on the units as they are (no sentence splitting), with the language pair's length ratio
learned from the rows like the build learns it, and a FreeDict lexicon where one is installed.
Strict scores: a predicted bead counts only if it is exactly a gold link (so a 2-1 bead is wrong
even if it contains one); recall is over the gold links.

Documents (`evaluate_documents`): hosts of manual pages in several languages, gold = the same page
in two languages; the document aligner pairs them with marked or opaque URLs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from transforms.bitext import align_params, learned_ratio
from transforms.config import BuildConfig
from transforms.docalign import align_host, doc_features
from transforms.sentalign import AlignParams, AnchorScorer, align


def _prf(correct: int, predicted: int, gold: int) -> dict:
    p = correct / predicted if predicted else 0.0
    r = correct / gold if gold else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
            "correct": correct, "predicted": predicted, "gold": gold}


def evaluate_units(rows: list[dict], config: BuildConfig, lexicons: bool | None = None,
                   params: AlignParams | None = None) -> dict:
    """Strict precision / recall / F1 of aligned units, per language pair and over all rows."""
    b = config.bitext
    lexicons = b.use_lexicon if lexicons is None else lexicons
    lengths = defaultdict(lambda: [0, 0])
    for r in rows:
        lengths[r["src_lang"], r["tgt_lang"]][0] += sum(map(len, r["src_units"]))
        lengths[r["src_lang"], r["tgt_lang"]][1] += sum(map(len, r["tgt_units"]))
    counts = defaultdict(lambda: [0, 0, 0])
    lexicon_cache = {}
    for r in rows:
        key = r["src_lang"], r["tgt_lang"]
        ratio = learned_ratio(*lengths[key], b.ratio_prior_chars)
        p = replace(params or align_params(b), ratio=ratio)
        if key not in lexicon_cache:
            lexicon_cache[key] = None
            if lexicons:
                from transforms.lexicon import find_lexicon

                lexicon_cache[key] = find_lexicon(key[0], key[1], tuple(b.lexicon_dirs))
        alignment = align(r["src_units"], r["tgt_units"], p, AnchorScorer(lexicon_cache[key]))
        predicted = [(bead.src, bead.tgt) for bead in alignment.beads if bead.src and bead.tgt]
        gold = {((i,), (j,)) for i, j in r["alignment"]}
        c = counts[r["pair"]]
        c[0] += sum(1 for bead in predicted if bead in gold)
        c[1] += len(predicted)
        c[2] += len(gold)
    per_pair = {pair: _prf(*c) for pair, c in sorted(counts.items())}
    total = [sum(c[k] for c in counts.values()) for k in range(3)]
    return {"overall": _prf(*total), "per_pair": per_pair,
            "lexicons": sorted(f"{a}-{b_}" for (a, b_), lex in lexicon_cache.items() if lex is not None)}


def long_pair(rows: list[dict], min_units: int) -> tuple[list[str], list[str], set[tuple[int, int]]]:
    """Gold unit documents one after the other (again from the first while there are fewer than
    `min_units` source units): one long pair with its gold links, for the aligner's scaling."""
    src, tgt, gold = [], [], set()
    while len(src) < min_units:
        for r in rows:
            base_s, base_t = len(src), len(tgt)
            src += r["src_units"]
            tgt += r["tgt_units"]
            gold |= {(base_s + i, base_t + j) for i, j in r["alignment"]}
    return src, tgt, gold


def evaluate_documents(rows: list[dict], config: BuildConfig, url_field: str = "url_opaque") -> dict:
    """Precision / recall of document pairs per language pair, the aligner run per host on
    `url_field` URLs (no hreflang links)."""
    b = config.bitext
    by_host = defaultdict(list)
    for r in rows:
        by_host[r["host"]].append(r)
    counts = defaultdict(lambda: [0, 0, 0])
    for host, pages in sorted(by_host.items()):
        page_of = {r["id"]: r for r in pages}
        feats = [doc_features(r["id"], r[url_field], r["lang"], r["text"]) for r in pages]
        pairs = align_host(feats, b.min_content_score, b.min_linked_score, b.max_postings)
        gold = set()
        for i, x in enumerate(pages):
            for y in pages[i + 1:]:
                if x["lang"] != y["lang"] and x["page"] == y["page"]:
                    gold.add((min(x["lang"], y["lang"]),) + tuple(sorted((x["id"], y["id"]))))
        found = {(p.a_lang,) + tuple(sorted((p.a_id, p.b_id))) for p in pairs}
        for g in gold:
            pair = "-".join(sorted((page_of[g[1]]["lang"], page_of[g[2]]["lang"])))
            counts[pair][2] += 1
            counts[pair][0] += g in found
        for f in found:
            pair = "-".join(sorted((page_of[f[1]]["lang"], page_of[f[2]]["lang"])))
            counts[pair][1] += 1
    per_pair = {pair: _prf(*c) for pair, c in sorted(counts.items())}
    total = [sum(c[k] for c in counts.values()) for k in range(3)]
    return {"overall": _prf(*total), "per_pair": per_pair}
