"""Bitext alignment against real gold: sentence (unit) pairs and document pairs, dev and held-out;
and the sentence aligner's speed.

    .venv/bin/python benchmarks/bitext_quality.py              # dev + held-out, ~2 min
    .venv/bin/python benchmarks/bitext_quality.py --dev-only   # while tuning: never look at held-out

Gold (benchmarks/bitext/, built by make_gold.py from Debian packages; see its README):
- units: gettext catalogues (dev: coreutils, tar, findutils, diffutils; held-out: grep, wget,
  gettext-tools, bash, sed), documents of 40–150 messages in their source order, each message one
  unit; gold = the 1-1 links, untranslated messages being natural deletions. 10 language pairs.
  Strict scores (transforms/bitext_eval.py): a predicted bead counts only if it is exactly a gold link.
- documents: hosts of Debian manual pages in several languages (+ untranslated distractors); gold =
  the same page in two languages. Aligned with the URLs carrying a language marker and with opaque
  URLs (content evidence only), no hreflang links.

Speed: unit pairs aligned per CPU-second (`time.process_time`) over the dev units, in one process;
a 5,000-unit pair (all dev documents of de-en, one after the other) — cells visited and time; and
the bitext stage inside a build: the bundled sample built twice from a warm staging cache, with
and without bitext (CPU seconds of the build process and its children), the difference per
document pair.

Writes benchmarks/results/bitext_quality.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from dataclasses import replace

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
GOLD = os.path.join(HERE, "bitext", "gold")


def load(name: str) -> list[dict]:
    with gzip.open(os.path.join(GOLD, name), "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def main() -> int:
    from transforms.bitext import align_params
    from transforms.bitext_eval import evaluate_documents, evaluate_units, long_pair
    from transforms.config import load_config
    from transforms.sentalign import AnchorScorer, align

    ap = argparse.ArgumentParser()
    ap.add_argument("--dev-only", action="store_true")
    args = ap.parse_args()
    config = load_config()
    splits = ["dev"] if args.dev_only else ["dev", "heldout"]
    out: dict = {"units": {}, "documents": {}}
    for split in splits:
        rows = load(f"units-{split}.jsonl.gz")
        t = time.process_time()
        result = evaluate_units(rows, config)
        cpu = time.process_time() - t
        result["units"] = sum(len(r["src_units"]) for r in rows)
        result["unit_pairs_per_cpu_s"] = result["overall"]["gold"] / cpu
        out["units"][split] = result
        o = result["overall"]
        print(f"units {split:8} P {o['precision']:.3f} R {o['recall']:.3f} F1 {o['f1']:.3f}  "
              f"({o['gold']} gold links, {cpu:.1f} CPU s)")
        for pair, v in result["per_pair"].items():
            print(f"   {pair:6} P {v['precision']:.3f} R {v['recall']:.3f} F1 {v['f1']:.3f}  ({v['gold']})")
        docs = load(f"docs-{split}.jsonl.gz")
        for field in ("url_marked", "url_opaque"):
            d = evaluate_documents(docs, config, field)
            out["documents"][f"{split}/{field}"] = d
            o = d["overall"]
            print(f"documents {split:8} {field:10} P {o['precision']:.3f} R {o['recall']:.3f} F1 {o['f1']:.3f} "
                  f"({o['gold']} gold pairs); worst pair: "
                  + min(((p, v["f1"]) for p, v in d["per_pair"].items()), key=lambda x: x[1])[0])
    # a long pair: every dev de-en document, one after the other
    rows = [r for r in load("units-dev.jsonl.gz") if r["pair"] == "de-en"]
    src, tgt, gold = long_pair(rows, 5000)
    ratio = sum(map(len, tgt)) / sum(map(len, src))
    t = time.process_time()
    alignment = align(src, tgt, replace(align_params(config.bitext), ratio=ratio), AnchorScorer())
    cpu = time.process_time() - t
    found = sum(1 for b in alignment.beads if len(b.src) == len(b.tgt) == 1 and (b.src[0], b.tgt[0]) in gold)
    out["long_pair"] = {"src": len(src), "tgt": len(tgt), "cells": alignment.cells, "cpu_s": cpu,
                        "recall": found / len(gold), "full_matrix_cells": len(src) * len(tgt)}
    print(f"long pair {len(src)} × {len(tgt)} units: {alignment.cells:,} cells "
          f"({alignment.cells / (len(src) * len(tgt)):.1%} of the matrix), {cpu:.2f} CPU s, "
          f"recall of gold links {found / len(gold):.3f}")
    print(f"speed: {out['units']['dev']['unit_pairs_per_cpu_s']:.0f} gold unit pairs aligned per CPU-second (dev)")
    if not args.dev_only:
        out["build"] = build_cost()
        b = out["build"]
        print(f"sample build (warm staging): {b['cpu_s_with_bitext']:.1f} CPU s with bitext, "
              f"{b['cpu_s_without_bitext']:.1f} without; {b['document_pairs']:,} document pairs, "
              f"{b['sentence_pairs_kept']:,} kept: {b['ms_per_document_pair']:.1f} ms per document pair, "
              f"{b['candidates_per_cpu_s']:.0f} candidate sentence pairs per CPU-second")
    if not args.dev_only:
        path = os.path.join(HERE, "results", "bitext_quality.json")
        with open(path, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
        print(f"wrote {os.path.relpath(path, ROOT)}")
    return 0


def build_cost() -> dict:
    """CPU seconds of the bitext stage in a build of the bundled sample (warm staging cache)."""
    import resource
    import subprocess
    import tempfile

    from pipelines.sample import SAMPLE_WARC

    def build(out: str, cache: str, config: str | None) -> float:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        cmd = [sys.executable, "-m", "pipelines.cli", "build", str(SAMPLE_WARC), "--out", out,
               "--cache", cache, "--quiet"] + (["--config", config] if config else [])
        subprocess.run(cmd, check=True, cwd=ROOT)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    with tempfile.TemporaryDirectory() as tmp:
        cache, off = os.path.join(tmp, "cache"), os.path.join(tmp, "off.toml")
        with open(off, "w") as f:
            f.write("[bitext]\nenabled = false\n")
        build(os.path.join(tmp, "warm"), cache, off)  # fills the staging cache
        without = build(os.path.join(tmp, "without"), cache, off)
        with_bitext = build(os.path.join(tmp, "with"), cache, None)
        with open(os.path.join(tmp, "with", "stats.json")) as f:
            stats = json.load(f)["bitext"]
    return {"cpu_s_with_bitext": with_bitext, "cpu_s_without_bitext": without,
            "document_pairs": stats["document_pairs"], "candidates": stats["candidates"],
            "sentence_pairs_kept": stats["kept"],
            "ms_per_document_pair": 1000 * (with_bitext - without) / stats["document_pairs"],
            "candidates_per_cpu_s": stats["candidates"] / (with_bitext - without)}


if __name__ == "__main__":
    sys.exit(main())
