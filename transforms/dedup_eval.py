"""Scoring document dedup against gold clusters (benchmarks/neardup/, tests/data/neardup-dev).

`run_dedup` runs the build's dedup stages (exact, then near) on texts with gold clusters, in
process; `score` compares what they removed with the gold: a correct dedup keeps exactly one
document per gold cluster. A removal is a true positive when the document it points at is in its
gold cluster; recall is over the Σ (size − 1) removals the gold asks for. `lost_clusters` counts
gold clusters of which nothing is left, the worst error (content gone from the corpus).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import numpy as np

from transforms.config import BuildConfig
from transforms.langid import dominant_script
from transforms.minhash import UNSPACED_SCRIPTS, MinHasher
from transforms.normalise import dedup_key
from transforms.records import Doc

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def gold_docs(rows: list[dict], config: BuildConfig) -> list[Doc]:
    """Gold rows ({"id", "lang", "text"}) as documents with their hashes and signatures, fetched
    in file order (so the first of a cluster is the preferred one)."""
    hasher = MinHasher(config.near_dedup.minhash())
    scripts = [dominant_script(r["text"][:config.langid.max_chars]) for r in rows]
    signatures = hasher.signatures([r["text"] for r in rows], [s in UNSPACED_SCRIPTS for s in scripts])
    docs = []
    for i, (row, script, sig) in enumerate(zip(rows, scripts, signatures)):
        docs.append(Doc(row["id"], f"https://gold.example/{row['id']}", "gold.example",
                        T0 + timedelta(minutes=i), f"gold@{i}", None, row["text"], row["lang"], 1.0,
                        script, len(row["text"]), "utf-8", dedup_key(row["text"]),
                        None if sig is None else sig.astype("<u4").tobytes()))
    return docs


def run_dedup(docs: list[Doc], config: BuildConfig) -> list[dict]:
    """The removals of exact + near dedup: [{"id", "duplicate_of", "kind", "similarity"}]."""
    import apache_beam as beam

    from transforms.dedup import ExactDedup
    from transforms.neardup import NearDedup

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "removed.json")
        with beam.Pipeline(runner="FnApiRunner") as p:
            exact = p | beam.Create(docs) | ExactDedup()
            removed = exact.removed
            if config.near_dedup.enabled:
                removed = (removed, exact.kept | NearDedup(config.near_dedup)) | beam.Flatten()
            (
                removed
                | beam.MapTuple(lambda key, dup: {"id": dup.id, "duplicate_of": dup.duplicate_of,
                                                  "kind": dup.kind, "similarity": dup.similarity})
                | beam.combiners.ToList()
                | beam.Map(lambda rows: open(out, "w").write(json.dumps(rows)))
            )
        with open(out) as f:
            return json.load(f)


def score(rows: list[dict], removed: list[dict]) -> dict:
    """Precision, recall and errors of `removed` against the gold clusters of `rows`."""
    cluster = {r["id"]: r["cluster"] for r in rows}
    sizes = Counter(cluster.values())
    expected = sum(n - 1 for n in sizes.values())
    tp = sum(cluster[r["id"]] == cluster[r["duplicate_of"]] for r in removed)
    removed_per_cluster = Counter(cluster[r["id"]] for r in removed)
    lost = sum(removed_per_cluster[c] >= n for c, n in sizes.items())
    # per origin: the share of documents of multi-document clusters that dedup linked to their
    # cluster (removed pointing inside it, or pointed at by a removal from inside it)
    linked = {r["id"] for r in removed if cluster[r["id"]] == cluster[r["duplicate_of"]]}
    linked |= {r["duplicate_of"] for r in removed if cluster[r["id"]] == cluster[r["duplicate_of"]]}
    by_origin: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        if sizes[r["cluster"]] > 1:
            origin = ":".join(r.get("origin", "").split(":")[:2])
            by_origin[origin][0] += r["id"] in linked
            by_origin[origin][1] += 1
    return {
        "documents": len(rows), "clusters": len(sizes), "expected_removals": expected,
        "removed": len(removed), "true_positives": tp, "false_positives": len(removed) - tp,
        "precision": tp / len(removed) if removed else 1.0,
        "recall": tp / expected if expected else 1.0,
        "lost_clusters": lost,
        "linked_by_origin": {o: round(a / b, 3) for o, (a, b) in sorted(by_origin.items())},
    }


def candidate_pairs(rows: list[dict], config: BuildConfig) -> dict:
    """The LSH candidate pairs of the gold rows (every pair sharing a band key; exact duplicates
    excluded) and how many join two gold clusters: the false-positive rate of the candidates before
    and after verification on the full signature (`near_dedup.min_similarity`)."""
    from transforms.minhash import band_hashes, similarity

    rows = [r for r in rows if not r.get("ambiguous")]
    docs = gold_docs(rows, config)
    cluster = {r["id"]: r["cluster"] for r in rows}
    mh = config.near_dedup.minhash()
    buckets: dict[tuple, list[Doc]] = defaultdict(list)
    signed = [doc for doc in docs if doc.minhash is not None]
    hashes = band_hashes(np.stack([np.frombuffer(d.minhash, dtype="<u4") for d in signed]), mh)
    for doc, row in zip(signed, hashes):
        for band, h in enumerate(row.tolist()):
            buckets[band, h].append(doc)
    pairs = {}
    for members in buckets.values():
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if a.text_hash != b.text_hash:
                    pairs[tuple(sorted((a.id, b.id)))] = similarity(a.minhash, b.minhash)
    wrong = {p for p in pairs if cluster[p[0]] != cluster[p[1]]}
    kept = {p for p, sim in pairs.items() if sim >= config.near_dedup.min_similarity}
    return {
        "candidates": len(pairs), "candidates_across_clusters": len(wrong),
        "candidate_fp_rate": len(wrong) / len(pairs) if pairs else 0.0,
        "verified": len(kept), "verified_across_clusters": len(kept & wrong),
        "verified_fp_rate": len(kept & wrong) / len(kept) if kept else 0.0,
    }


def evaluate(rows: list[dict], config: BuildConfig, **near) -> dict:
    """Dedup the gold rows (ambiguous ones left out) and score it; `near` overrides near_dedup keys."""
    rows = [r for r in rows if not r.get("ambiguous")]
    if near:
        config = replace(config, near_dedup=replace(config.near_dedup, **near))
    return score(rows, run_dedup(gold_docs(rows, config), config))
