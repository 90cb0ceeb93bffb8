"""datatrove's equivalent of `polycorp build`'s per-document work, for build_vs_datatrove.py.

Run with the datatrove venv (benchmarks/setup_datatrove.sh):

    benchmarks/.venv-datatrove/bin/python benchmarks/datatrove_pipeline.py WARC --out DIR

WarcReader → Trafilatura (datatrove's defaults) → LanguageFilter (lid.176, all languages,
threshold 0.5 like polycorp's `langid.min_score.default`) → ParquetWriter, on a
LocalPipelineExecutor with tasks=1, workers=1 (one process; datatrove's extractor runs trafilatura
in a forked sandbox process). Prints one JSON line with datatrove's own per-step stats.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv-datatrove")


def use_local_model_cache() -> None:
    """Point huggingface_hub's asset cache at the one setup_datatrove.sh pre-filled (before import)."""
    os.environ.setdefault("HF_ASSETS_CACHE", os.path.join(VENV, "hf-assets"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def allow_fasttext_numpy2() -> None:
    """datatrove checks that the *distribution* fasttext-numpy2-wheel is installed before it uses
    fastText; fasttext-numpy2 installs the same `fasttext` module (with the same
    `fasttext.FastText._FastText`), so let it satisfy that check. Nothing else is changed."""
    from datatrove.utils import _import_utils

    original = _import_utils._is_distribution_available

    def is_distribution_available(name: str):
        if name == "fasttext-numpy2-wheel":
            return original(name) or original("fasttext-numpy2")
        return original(name)

    _import_utils._is_distribution_available = is_distribution_available


def run(warc: str, out_dir: str, logging_dir: str, threshold: float) -> dict:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import LanguageFilter
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import ParquetWriter

    warc = os.path.abspath(warc)
    executor = LocalPipelineExecutor(
        pipeline=[
            WarcReader(os.path.dirname(warc), glob_pattern=os.path.basename(warc), recursive=False),
            Trafilatura(),  # datatrove defaults: favour_precision=True, deduplicate=True, timeout=1 s
            LanguageFilter(languages=None, language_threshold=threshold),  # backend ft176 = lid.176
            ParquetWriter(out_dir),
        ],
        tasks=1,
        workers=1,
        logging_dir=logging_dir,
        skip_completed=False,
    )
    start = time.monotonic()
    stats = executor.run()
    wall = time.monotonic() - start
    steps = {}
    for step in stats.stats:
        steps[step.name] = {k: v.total if hasattr(v, "total") else v for k, v in step.stats.items()}
    return {"wall_s": wall, "steps": steps}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("warc")
    ap.add_argument("--out", required=True, help="directory for the Parquet output")
    ap.add_argument("--logging-dir", help="datatrove's logging directory (default: OUT/../<OUT>-logs)")
    ap.add_argument("--threshold", type=float, default=0.5)
    args = ap.parse_args()
    use_local_model_cache()
    allow_fasttext_numpy2()
    logging_dir = args.logging_dir or args.out.rstrip("/") + "-logs"
    result = run(args.warc, args.out, logging_dir, args.threshold)
    print("DATATROVE_RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
