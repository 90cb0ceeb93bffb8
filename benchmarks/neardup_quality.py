"""Near-duplicate removal measured on gold: precision and recall at the document level.

    .venv/bin/python benchmarks/neardup_quality.py      # ~1 min; writes results/neardup_quality.json

Gold: benchmarks/neardup/gold.jsonl.gz (real Debian manual pages in 8 languages, two releases
of each page plus edits with known labels; see benchmarks/neardup/README.md). Documents flagged
`ambiguous` are left out. The build's dedup stages (exact, then MinHash near dedup, in Beam) run on
each split through `transforms.dedup_eval`; a removal is right when it points inside its gold
cluster; recall is over the Σ (cluster size − 1) removals the gold asks for.

The dev split is where `near_dedup.min_similarity` was chosen (the sweep is printed); the held-out
split is scored once, with the shipped configuration.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)
from benchlib import code_version  # noqa: E402

from transforms.config import load_config  # noqa: E402
from transforms.dedup_eval import candidate_pairs, evaluate  # noqa: E402

GOLD = os.path.join(HERE, "neardup", "gold.jsonl.gz")
RESULTS = os.path.join(HERE, "results", "neardup_quality.json")
SWEEP = (0.0, 0.5, 0.6, 0.7, 0.8)


def line(name: str, r: dict) -> str:
    return (f"{name:<28} {r['documents']:>5} {r['clusters']:>5} {r['expected_removals']:>6} {r['removed']:>6} "
            f"{r['false_positives']:>4} {r['precision']:>9.4f} {r['recall']:>7.4f} {r['lost_clusters']:>5}")


def main() -> int:
    with gzip.open(GOLD, "rt", encoding="utf-8") as f:
        rows = [json.loads(x) for x in f]
    config = load_config()
    print(f"polycorp {code_version()}; gold {len(rows)} documents; shipped min_similarity "
          f"{config.near_dedup.min_similarity}, {config.near_dedup.bands}×{config.near_dedup.rows}")
    print(f"{'run':<28} {'docs':>5} {'clus':>5} {'asked':>6} {'remov':>6} {'FP':>4} {'precision':>9} "
          f"{'recall':>7} {'lost':>5}")
    out = {"code": code_version(), "config": config.to_dict()["near_dedup"], "dev": {}, "heldout": None}
    dev = [r for r in rows if r["split"] == "dev"]
    for threshold in SWEEP:
        t = time.perf_counter()
        result = evaluate(dev, config, min_similarity=threshold)
        result["seconds"] = round(time.perf_counter() - t, 1)
        out["dev"][str(threshold)] = result
        print(line(f"dev, min_similarity {threshold}", result))
    heldout = evaluate([r for r in rows if r["split"] == "heldout"], config)
    out["heldout"] = heldout
    print(line("held-out, shipped config", heldout))
    pairs = candidate_pairs([r for r in rows if r["split"] == "heldout"], config)
    out["heldout_candidate_pairs"] = pairs
    print(f"\nheld-out LSH candidate pairs (sharing a band, exact duplicates excluded): {pairs['candidates']}, "
          f"{pairs['candidates_across_clusters']} of them across gold clusters (false-positive rate "
          f"{pairs['candidate_fp_rate']:.3f}); verified (estimated Jaccard ≥ {config.near_dedup.min_similarity}): "
          f"{pairs['verified']}, {pairs['verified_across_clusters']} across clusters (rate {pairs['verified_fp_rate']:.3f})")
    print("\nheld-out, share of documents of multi-document clusters linked to their cluster, by origin:")
    for origin, share in heldout["linked_by_origin"].items():
        print(f"  {origin:<32} {share:.3f}")
    with open(RESULTS, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print(f"wrote {os.path.relpath(RESULTS, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
