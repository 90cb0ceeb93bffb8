#!/usr/bin/env bash
# Create benchmarks/.venv-sent: the sentence segmenters that benchmarks/sentence_split.py compares
# (issue 5). Idempotent: does nothing when the venv already holds this package set. Run from anywhere:
#
#     bash benchmarks/setup_sentences.sh      # PYTHON=python3.11 to choose the interpreter
#
# - sentencex (Wikimedia; a Rust extension since 1.0), pysbd, blingfire: the candidates;
# - syntok (+ regex): cheap extra, pure Python, European languages;
# - pyicu: ICU's BreakIterator. No wheel on PyPI: pip builds it from the sdist against the system
#   ICU (Debian's libicu-dev, pkg-config and a C++ compiler; all three are on the project's machine
#   image), ~90 s on 2 cores;
# - numpy: blingfire imports it but does not declare it (same version as the project venv).
# Not here: nltk (punkt data is a run-time download; `nltk-punkt` fetches it at install time) and
# wtpsplit (downloads its models from a hub at run time).
#
# It also keeps the released artefacts (pip download --no-deps, from pip's cache) in
# benchmarks/work/sentences/dists/, where sentence_split.py reads their build timestamps.
# The gold's Debian packages (GNU, GNOME and KDE catalogues; ~25 MB) are not fetched here:
# sentence_split.py downloads them with `apt-get download` on its first run (`apt-get update` first).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv-sent"
DISTS="$HERE/work/sentences/dists"
PYTHON="${PYTHON:-python3.11}"
STAMP="$VENV/.setup-complete"

PACKAGES=(
  "sentencex==1.0.32" "pysbd==0.3.4" "blingfire==0.1.8" "numpy==2.4.6"
  "syntok==1.4.4" "regex==2026.12.2" "pyicu==2.17"
)
SPEC="$(printf '%s\n' "${PACKAGES[@]}")"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$SPEC" && -x "$VENV/bin/python" ]]; then
  echo "setup_sentences: $VENV is already set up"
  exit 0
fi

if ! pkg-config --exists icu-i18n 2>/dev/null; then
  echo "setup_sentences: pyicu builds against the system ICU: apt-get install libicu-dev pkg-config g++" >&2
  exit 1
fi

test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
pip_quiet() {
  "$VENV/bin/python" -m pip "$@" -q --disable-pip-version-check \
    2> >(grep -v -e "is ignored: it is neither a file nor a directory" >&2)
}
pip_quiet install "${PACKAGES[@]}"
mkdir -p "$DISTS"
for p in sentencex==1.0.32 pysbd==0.3.4 blingfire==0.1.8 syntok==1.4.4 pyicu==2.17; do
  pip_quiet download --no-deps -d "$DISTS" "$p"
done

# Check that each segmenter imports and splits, with no network.
"$VENV/bin/python" - <<'EOF'
import socket
def _no_network(*a, **k):
    raise OSError("network use during the check")
socket.socket.connect = _no_network
socket.getaddrinfo = _no_network

import blingfire, icu, pysbd, sentencex
from syntok import segmenter, tokenizer
text = "Mehr als ein Datum angegeben. Prüfsumme passt."
assert len(list(sentencex.segment("de", text))) == 2
# hi ends sentences with । (dolphin's hi catalogue), ar asks with ؟ (gnome-control-center's)
assert len(list(sentencex.segment("hi", "यह इस विंडो को बंद कर देता है। पहले देखे गए फ़ोल्डर पर लौटें।"))) == 2
assert len(list(sentencex.segment("ar", "أأحذف كل الملفات المؤقتة؟ أأحذف البصمات المسجّلة؟"))) == 2
assert len(pysbd.Segmenter(language="de", clean=False).segment(text)) == 2
assert len(blingfire.text_to_sentences(text).split("\n")) == 2
assert len(list(segmenter.split(tokenizer.Tokenizer().tokenize(text)))) == 2
bi = icu.BreakIterator.createSentenceInstance(icu.Locale("de@ss=standard"))
bi.setText(text)
assert len(list(bi)) == 2
from importlib.metadata import version
print("setup_sentences: ok (" + ", ".join(f"{d} {version(d)}" for d in
      ("sentencex", "pysbd", "blingfire", "syntok", "pyicu")) + f", ICU {icu.ICU_VERSION})")
EOF

echo "$SPEC" > "$STAMP"
