#!/usr/bin/env bash
# Train a ~100M-parameter model in bf16 on one GPU for a few minutes; print tokens/s and MFU.
#
#   bash benchmarks/gpu_train.sh                                      # CUDA: ~6 min in all
#   bash benchmarks/gpu_train.sh --minutes 3 --peak-flops 989e12      # options: gpu_train.py --help
#   bash benchmarks/gpu_train.sh --device cpu --steps 3 --model tiny  # dry run without a GPU
#
# Python: $PYTHON if set, else the first of .venv/bin/python, benchmarks/.venv-gpu/bin/python,
# python3 whose torch sees a CUDA GPU (any torch with --device cpu). torch is never installed here
# (pip would fetch the CPU pin of pyproject.toml); the few other modules training needs, when that
# Python lacks them, go into benchmarks/.venv-gpu, a venv over its site-packages (keeps its torch).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "[gpu_train.sh] $*" >&2; }

want_cuda=1
case " $* " in *" --device cpu "* | *" --device=cpu "*) want_cuda=0 ;; esac
if [ "$want_cuda" = 1 ]; then
    probe='import sys, torch; sys.exit(0 if torch.cuda.is_available() else 3)'
else
    probe='import torch'
fi

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    for candidate in .venv/bin/python benchmarks/.venv-gpu/bin/python python3 python; do
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c "$probe" 2>/dev/null; then PY="$candidate"; break; fi
    done
fi
if [ -z "$PY" ]; then
    if [ "$want_cuda" = 1 ]; then
        echo "gpu_train.sh: no Python here has a torch that sees a CUDA GPU (tried \$PYTHON, .venv, python3): run on a GPU machine with a CUDA build of torch, or dry-run with --device cpu --steps 3 --model tiny" >&2
    else
        echo "gpu_train.sh: no Python with torch found (tried \$PYTHON, .venv/bin/python, python3)" >&2
    fi
    exit 2
fi

# module -> requirement (pins as in pyproject.toml)
missing=$("$PY" - <<'EOF'
import importlib.util
pins = {"sentencepiece": "sentencepiece==0.2.3", "pyarrow": "pyarrow>=25.0.1,<26", "numpy": "numpy>=2.0,<2.5",
        "xxhash": "xxhash>=3.4,<5", "safetensors": "safetensors==0.8.0"}
print(" ".join(req for mod, req in pins.items() if importlib.util.find_spec(mod) is None))
EOF
)
if [ -n "$missing" ]; then
    say "$PY lacks: $missing; installing them into benchmarks/.venv-gpu (over its site-packages)"
    if ! { "$PY" -m venv --system-site-packages benchmarks/.venv-gpu \
           && benchmarks/.venv-gpu/bin/python -m pip install -q $missing; }; then
        echo "gpu_train.sh: could not install $missing for $PY (no network or no venv module): install them for that Python, or set PYTHON to one that has them" >&2
        exit 2
    fi
    PY=benchmarks/.venv-gpu/bin/python
fi

say "python: $PY"
exec "$PY" -u benchmarks/gpu_train.py "$@"
