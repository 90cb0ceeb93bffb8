#!/usr/bin/env bash
# Create benchmarks/.venv-dedup: the near-duplicate baselines that benchmarks/neardup_speed.py
# compares polycorp with. Idempotent: does nothing when the venv already holds this package set.
# Run from anywhere:
#
#     bash benchmarks/setup_dedup.sh          # PYTHON=python3.11 to choose the interpreter
#
# - datasketch: MinHash(num_perm=112).update_batch, the signature baseline;
# - datatrove: its four MinHash stages (MinhashDedupSignature → Buckets → Cluster → Filter).
#   Not benchmarks/.venv-datatrove: datatrove's MinHash stages tokenize words with spaCy
#   (datatrove/assets/tokenizer_assignment.csv: English → SpaCyTokenizer("en")), and the
#   datatrove venv (setup_datatrove.sh, for the WARC pipeline) has no spaCy. Same datatrove version
#   as there, plus spaCy and what its extras give these stages: xxhash < 4, regex and tokenizers
#   (`processing`; tokenizers is imported by datatrove.pipeline.dedup), orjson (`io`: JsonlReader);
# - text-dedup: its MinHash module (text_dedup.minhash). Installed with --no-deps: its metadata
#   requires pyspark, unisim (TensorFlow), sphinxcontrib-bibtex, pybloom-live, … that the MinHash
#   module never imports, and urllib3 <= 2.0. The packages below are what `text_dedup` and
#   `text_dedup.utils` import (datasets, click, click-option-group, ftfy, regex, rich, scipy,
#   tqdm, xxhash, numpy), at versions inside its constraints where it has one (rich < 14).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv-dedup"
PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.setup-complete"

PACKAGES=(
  "datasketch==2.0.0"
  "datatrove==0.10.1" "spacy==3.8.18" "xxhash==3.8.2" "regex==2026.12.2" "tokenizers==0.23.3"
  "orjson==3.13.0"
  "datasets==5.2.0" "click-option-group==0.5.10" "ftfy==6.3.1" "rich==13.9.4" "scipy==1.17.1" "tqdm"
)
NODEPS=("text-dedup==0.4.0")
SPEC="$(printf '%s\n' "${PACKAGES[@]}" "nodeps:" "${NODEPS[@]}")"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$SPEC" && -x "$VENV/bin/python" ]]; then
  echo "setup_dedup: $VENV is already set up"
  exit 0
fi

test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
# (on a re-run, pip complains about text-dedup's undeclared-here dependencies: expected, filtered)
pip_quiet() {
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@" \
    2> >(grep -v -e "is ignored: it is neither a file nor a directory" -e "^text-dedup 0.4.0 requires" \
         -e "^ERROR: pip's dependency resolver does not currently take into account" \
         -e "^This behaviour is the source of the following dependency conflicts" >&2)
}
pip_quiet "${PACKAGES[@]}"
pip_quiet --no-deps "${NODEPS[@]}"

# Check that what the benchmark uses imports and works, offline.
HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 "$VENV/bin/python" - <<'EOF'
import datasketch, datatrove, spacy, text_dedup.minhash
from datasketch import MinHash
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

JsonlReader("/tmp"), JsonlWriter("/tmp/setup-dedup-check")  # their dependency checks

m = MinHash(num_perm=112)
m.update_batch([b"a b c d e", b"b c d e f"])
step = MinhashDedupSignature(output_folder="/tmp/setup-dedup-check", config=MinhashConfig())
shingles = step.get_shingles("The quick brown fox jumps over the lazy dog, twice over.")
assert shingles.shape[0] > 0, shingles
from importlib.metadata import version
print(f"setup_dedup: ok (datasketch {version('datasketch')}, datatrove {version('datatrove')}, "
      f"text-dedup {version('text-dedup')}, spacy {spacy.__version__}, datasets {version('datasets')})")
EOF

echo "$SPEC" > "$STAMP"
