"""The training stage where apache_beam is not installed (a GPU image with torch, pyarrow and
sentencepiece but no Beam): train, resume and evaluate a local build; a URL is a one-line error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter in which importing apache_beam fails, as where it is not installed.
WITHOUT_BEAM = '''
import importlib.abc, sys

class NoBeam(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "apache_beam":
            raise ModuleNotFoundError(f"No module named {name!r}")

sys.meta_path.insert(0, NoBeam())
'''

SCRIPT = WITHOUT_BEAM + '''
import json, sys
from pathlib import Path
from training.data import LoaderConfig
from training.evaluate import evaluate
from training.loop import TrainConfig, train
from transforms import fs

build, run = sys.argv[1], Path(sys.argv[2])
loader = LoaderConfig(seq_len=64, pair_len=32, batch_size=8, bitext_share=0.5)
config = TrainConfig(steps=4, vocab_size=2000, tokenizer_chars=300_000, warmup=1, log_every=1, num_workers=1)
first = train(build, run, config, loader, device="cpu", quiet=True, stop_at=2)
resumed = train(build, run, config, loader, device="cpu", quiet=True, resume=True)
evaluate(str(run), build, device="cpu", docs_per_lang=2, pairs_per_pair=8, chrf_per_pair=2, chrf_language_pairs=1,
         max_new_tokens=4)
try:
    fs.exists("gs://bucket/corpus/manifest.json")
    remote = "no error"
except fs.StorageError as e:
    remote = str(e)
print(json.dumps({"steps": [first["step"], resumed["step"]], "beam": "apache_beam" in sys.modules, "remote": remote}))
'''


def test_train_resume_and_eval_without_beam(sample_build, tmp_path):
    build = tmp_path / "corpus"
    shutil.copytree(sample_build, build)
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(build), str(tmp_path / "run")], capture_output=True,
                            text=True, timeout=300, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["steps"] == [2, 4] and out["beam"] is False
    assert out["remote"] == ("no file system for gs://bucket/corpus/manifest.json: apache-beam is not installed here, "
                             "so only local paths work")
    evaluation = json.loads((tmp_path / "run" / "eval.json").read_text())
    assert evaluation["step"] == 4 and evaluation["bits_per_byte"]


def test_cli_train_and_eval_errors_are_one_line_without_beam(tmp_path):
    def cli(*args: str) -> subprocess.CompletedProcess:
        script = WITHOUT_BEAM + "from pipelines.cli import main\nsys.exit(main(sys.argv[1:]))\n"
        return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120,
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})

    remote = cli("train", "--data", "gs://bucket/corpus", "--out", str(tmp_path / "run"), "--device", "cpu")
    missing = cli("eval", "--run", str(tmp_path / "absent"))
    option = cli("train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--beam_plugins", "a.B")
    for result, code, says in ((remote, 1, "apache-beam is not installed here"), (missing, 1, "holds no run"),
                               (option, 2, "--beam_plugins a.B: Beam options and plugins need apache-beam")):
        assert result.returncode == code and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert says in result.stderr


def test_the_blocker_really_blocks_beam():
    """The test above means something only if Beam cannot be imported under WITHOUT_BEAM."""
    script = WITHOUT_BEAM + "import apache_beam\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 1 and "No module named 'apache_beam'" in result.stderr
