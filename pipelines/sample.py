"""Where the bundled sample lives (see sample/README.md)."""

from pathlib import Path

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample"
SAMPLE_WARC = SAMPLE_DIR / "sample.warc.gz"
SAMPLE_GOLD = SAMPLE_DIR / "gold.jsonl.gz"
