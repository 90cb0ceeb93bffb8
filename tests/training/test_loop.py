"""The training loop on the bundled sample's build: losses fall, retrieval learns, resume is bit-exact
(also after a SIGTERM), checkpoints round-trip, two gloo ranks stay identical, errors are one line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tests.helpers import flip_middle_byte
from training.data import LoaderConfig
from training.evaluate import embed, evaluate, heldout_pairs, load_run, precision_at_1
from training.loop import Dist, TrainConfig, TrainError, model_config, resolve_device, train
from training.model import DecoderLM
from training.tokenizer import TokenizerError, train_tokenizer

ROOT = Path(__file__).resolve().parents[2]
LOADER = LoaderConfig(seq_len=128, pair_len=48, batch_size=32, bitext_share=0.5, pair_share=0.75, heldout_fraction=0.1)


@pytest.fixture(scope="module")
def tokenizer_file(sample_build, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tok") / "tokenizer.model"
    train_tokenizer(sample_build, path, vocab_size=3000, max_chars=1_500_000, heldout_fraction=LOADER.heldout_fraction)
    return path


def new_run(path: Path, tokenizer_file: Path) -> Path:
    """A run directory with the module's tokenizer already in place (training one takes seconds)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    shutil.copy(tokenizer_file, path / "tokenizer.model")
    return path


def config(steps: int, **kw) -> TrainConfig:
    settings = {"warmup": 10, "lr": 2e-3, "log_every": 10, "checkpoint_every": 1000, "num_workers": 0,
                "vocab_size": 3000}
    return TrainConfig(steps=steps, **{**settings, **kw})


@pytest.fixture(scope="module")
def runs(sample_build, tokenizer_file, tmp_path_factory) -> dict:
    """100 steps with the retrieval loss (λ 1) and 100 without (λ 0), the same data and seed."""
    out = {}
    for name, weight in (("with", 1.0), ("without", 0.0)):
        run = new_run(tmp_path_factory.mktemp(name), tokenizer_file)
        result = train(str(sample_build), run, config(100, weights={"lm": 1.0, "mt": 1.0, "retrieval": weight}),
                       LOADER, device="cpu", quiet=True)
        out[name] = (run, result)
    return out


def test_training_reduces_each_loss(runs):
    run, _ = runs["with"]
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(10, 101, 10))
    first, last = records[0], records[-1]
    for name in ("lm", "mt", "retrieval"):
        assert last[name] < first[name] - 0.2, (name, first[name], last[name])
    assert last["tokens_per_s"] > 0 and last["eta_s"] == 0 and "lr" in last


def mean_p_at_1(model: DecoderLM, tok, build: Path) -> tuple[float, float]:
    """Mean precision@1 (both directions) over the held-out pairs of language pairs with ≥ 20 of
    them, and mean chance (1 / candidates)."""
    manifest = json.loads((build / "manifest.json").read_text())
    scores, chance = [], []
    for rows in heldout_pairs(build, manifest, LOADER.heldout_fraction, 100).values():
        if len(rows) >= 20:
            with torch.no_grad():
                a = embed(model, tok, [x for x, _ in rows], LOADER.pair_len, torch.device("cpu"))
                b = embed(model, tok, [y for _, y in rows], LOADER.pair_len, torch.device("cpu"))
            scores += precision_at_1(a, b)
            chance.append(1 / len(rows))
    return sum(scores) / len(scores), sum(chance) / len(chance)


def test_retrieval_on_heldout_pairs_is_learned(runs, sample_build):
    """Held-out sentence pairs of ~58 language pairs (20–100 candidates each), after 100 CPU steps.
    Measured: 0.103 with the contrastive loss against 0.055 without it (1.9×; LM and MT alone pull
    sentence means apart), chance 0.012; with a 4,000-piece tokenizer 0.143 against 0.047 (3×).
    An untrained model's bag of shared tokens (numbers, commands) already scores ~0.17, which is why
    the margin is asserted against the run without the loss, not against chance alone."""
    with_model, tok = runs["with"][1]["model"].eval(), runs["with"][1]["tokenizer"]
    without_model = runs["without"][1]["model"].eval()
    with_p, chance = mean_p_at_1(with_model, tok, sample_build)
    without_p, _ = mean_p_at_1(without_model, tok, sample_build)
    assert with_p > 5 * chance, (with_p, chance)
    assert with_p > 1.5 * without_p, (with_p, without_p)


def test_checkpoint_round_trip_and_eval_json(runs, sample_build):
    run, result = runs["with"]
    _, _, loaded, step = load_run(run, torch.device("cpu"))
    assert step == 100
    for name, tensor in result["model"].state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name]), name
    evaluation = evaluate(str(run), str(sample_build), device="cpu", chrf_language_pairs=1, chrf_per_pair=4)
    saved = json.loads((run / "eval.json").read_text())
    assert saved == json.loads(json.dumps(evaluation)) and saved["step"] == 100
    assert len(saved["bits_per_byte"]) >= 6 and all(0.5 < v < 8 for v in saved["bits_per_byte"].values())
    pairs = [p for p in saved["heldout"]["pairs"]]
    assert all(f"{p.split('-')[1]}-{p.split('-')[0]}" in saved["retrieval_p_at_1"] for p in pairs)  # both directions
    assert len(saved["chrf"]) == 2 and (run / "plots" / "loss.png").stat().st_size > 1000


def weights(model: DecoderLM) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_resume_after_stop_is_bit_exact(sample_build, tokenizer_file, tmp_path):
    """Stopped at step 7 (as by SIGTERM: checkpoint, return) and resumed to step 12: the same
    weights, bit for bit, as 12 uninterrupted steps — same batches, dropout masks and learning
    rates (dropout on, a DataLoader worker process, so all of those are exercised)."""
    cfg = config(12, dropout=0.1, num_workers=1, log_every=1)
    straight = train(str(sample_build), new_run(tmp_path / "a", tokenizer_file), cfg, LOADER, device="cpu", quiet=True)
    run = new_run(tmp_path / "b", tokenizer_file)
    first = train(str(sample_build), run, cfg, LOADER, device="cpu", quiet=True, stop_at=7)
    assert first["stopped"] and first["step"] == 7 and (run / "checkpoints" / "step-7").is_dir()
    # the saved settings win on resume (here: 12 steps, not the 99 passed)
    resumed = train(str(sample_build), run, replace(cfg, steps=99), LOADER, device="cpu", quiet=True, resume=True)
    assert resumed["step"] == 12 and not resumed["stopped"]
    a, b = weights(straight["model"]), weights(resumed["model"])
    assert all(torch.equal(a[k], b[k]) for k in a)
    logged = lambda r: [json.loads(x) for x in (r / "metrics.jsonl").read_text().splitlines()]  # noqa: E731
    assert [x["loss"] for x in logged(tmp_path / "a")] == [x["loss"] for x in logged(run)]


def polycorp_env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_sigterm_checkpoints_and_resume_continues(sample_build, tokenizer_file, tmp_path):
    run = new_run(tmp_path / "run", tokenizer_file)
    args = [sys.executable, "-m", "pipelines.cli", "train", "--data", str(sample_build), "--out", str(run),
            "--steps", "400", "--device", "cpu", "--vocab-size", "3000", "--batch-size", "8", "--seq-len", "64",
            "--pair-len", "32", "--log-every", "1", "--num-workers", "1", "--heldout-fraction", "0.1"]
    proc = subprocess.Popen(args, cwd=ROOT, env=polycorp_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while not ((run / "metrics.jsonl").exists() and (run / "metrics.jsonl").read_text().count("\n") >= 2):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGTERM)  # as a scheduler does: the whole group, loader worker included
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    stopped = int(err.strip().splitlines()[-1].split("stopped (checkpointed) at step ")[1].split()[0])
    assert 2 <= stopped < 400 and (run / "checkpoints" / f"step-{stopped}").is_dir()
    assert not list((run / "checkpoints").glob("*.part"))
    resumed = subprocess.run(args + ["--resume", "--steps", str(stopped + 2)],
                             cwd=ROOT, env=polycorp_env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"trained to step {stopped + 2}" in resumed.stderr
    steps = [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, stopped + 3))  # the log continues where it stopped, no step twice
    assert json.loads((run / "config.json").read_text())["train"]["steps"] == stopped + 2  # what the run now does


def test_two_gloo_ranks_hold_identical_weights(sample_build, tokenizer_file, tmp_path):
    """torchrun, 2 processes, gloo: after 3 steps on different batches both ranks' weights are the
    same (DDP averaged the gradients) and differ from the initial ones."""
    run = new_run(tmp_path / "ddp", tokenizer_file)
    out = tmp_path / "weights"
    out.mkdir()
    worker = ROOT / "tests" / "training" / "ddp_worker.py"
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             str(worker), str(sample_build), str(run), str(out)],
                            cwd=ROOT, env=polycorp_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [torch.load(out / f"rank{r}.pt") for r in (0, 1)]
    assert ranks[0]["batch_hash"] != ranks[1]["batch_hash"]  # each rank trained on its own data
    assert all(torch.equal(ranks[0]["weights"][k], ranks[1]["weights"][k]) for k in ranks[0]["weights"])
    assert any(not torch.equal(ranks[0]["weights"][k], ranks[0]["initial"][k]) for k in ranks[0]["weights"])
    assert {f"loader-rank{r}.json" for r in (0, 1)} <= {p.name for p in (run / "checkpoints" / "step-3").iterdir()}


def test_a_corrupt_shard_stops_every_rank_checked_once_per_node(sample_build, tmp_path):
    """torchrun, 2 ranks on one node, a new run (no tokenizer yet): only local rank 0 hashes the
    shards, before any tokenizer is trained; its verdict reaches rank 1, so both stop at once (no
    rank left waiting in a collective), rank 0 naming the shard."""
    build = tmp_path / "build"
    shutil.copytree(sample_build, build)
    shard = flip_middle_byte(sorted((build / "docs" / "lang=de").glob("*.parquet"))[0])
    run = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             "-m", "pipelines.cli", "train", "--data", str(build), "--out", str(run), "--steps", "2",
                             "--device", "cpu", "--quiet"],
                            cwd=ROOT, env=polycorp_env(), capture_output=True, text=True, timeout=180)
    assert result.returncode != 0
    assert result.stderr.count(f"shard {shard} does not match its sha256") == 1, result.stderr[-3000:]
    assert "failed its check on another rank" in result.stderr
    assert not (run / "checkpoints").exists() and not (run / "tokenizer.model").exists()


def test_a_new_run_hashes_each_shard_once_and_before_the_tokenizer(sample_build, tmp_path, monkeypatch):
    """The shards are checked (load_plan) before the tokenizer is trained, which then samples them
    unchecked: every docs and bitext shard is hashed exactly once, and not after sampling began."""
    from transforms import fs
    import training.tokenizer as tokenizer_module

    events: list[str] = []  # list.append is atomic: the plan hashes from several threads
    sha256, sample = fs.sha256, tokenizer_module.sample_lines
    monkeypatch.setattr(fs, "sha256", lambda path: events.append(str(path)) or sha256(path))
    monkeypatch.setattr(tokenizer_module, "sample_lines",
                        lambda *a, **kw: events.append("sampling") or sample(*a, **kw))
    run = tmp_path / "run"
    train(str(sample_build), run, config(1, tokenizer_chars=200_000), LOADER, device="cpu", quiet=True)
    shards = sorted(str(sample_build / e["path"]) for e in json.loads((sample_build / "manifest.json").read_text())["shards"]
                    if e["kind"] in ("docs", "bitext"))
    assert events[-1] == "sampling" and events.count("sampling") == 1, events[-5:]
    assert sorted(events[:-1]) == shards  # each once, all before sampling
    assert (run / "tokenizer.model").stat().st_size > 10_000 and (run / "checkpoints" / "step-1").is_dir()


def test_errors_are_one_line(sample_build, tmp_path, tokenizer_file):
    if torch.cuda.is_available():
        assert resolve_device("cuda", Dist()).type == "cuda"
    else:
        with pytest.raises(TrainError, match="no CUDA GPU"):
            train(str(sample_build), tmp_path / "r", config(1), LOADER, device="cuda")
    with pytest.raises(TrainError, match="holds no run"):
        train(str(sample_build), tmp_path / "nothing", config(1), LOADER, device="cpu", resume=True)
    old = new_run(tmp_path / "old", tokenizer_file)  # a run of an older polycorp: its config has no split
    (old / "config.json").write_text(json.dumps({"train": {}, "loader": {"seq_len": 128}}))
    with pytest.raises(TrainError, match="started by an older polycorp .* held out by id"):
        train(str(sample_build), old, config(1), LOADER, device="cpu", resume=True)
    (old / "config.json").write_text(json.dumps({"train": {}, "loader": {}, "split": "url"}))
    (old / "tokenizer.model").unlink()
    with pytest.raises(TrainError, match="tokenizer.model is missing; restore it"):
        train(str(sample_build), old, config(1), LOADER, device="cpu", resume=True)
    with pytest.raises(TokenizerError, match="cannot train a 300-piece tokenizer .*: .*Vocabulary size is smaller"):
        train(str(sample_build), tmp_path / "r3", config(1, vocab_size=300, tokenizer_chars=100_000), LOADER, device="cpu")
    cli = subprocess.run([sys.executable, "-m", "pipelines.cli", "train", "--data", str(tmp_path / "absent"),
                          "--out", str(tmp_path / "r2"), "--steps", "1", "--device", "cpu"],
                         cwd=ROOT, env=polycorp_env(), capture_output=True, text=True, timeout=120)
    assert cli.returncode == 1 and len(cli.stderr.strip().splitlines()) == 1, cli.stderr
    assert "not a finished build" in cli.stderr


def test_untrained_model_config_matches_the_run(runs, tokenizer_file):
    run, result = runs["with"]
    saved = json.loads((run / "config.json").read_text())
    cfg = model_config(TrainConfig(**saved["train"]), result["tokenizer"].vocab_size, LoaderConfig(**saved["loader"]),
                       result["tokenizer"].pad_id)
    assert cfg.to_dict() == saved["model"] and saved["parameters"] == sum(p.numel() for p in result["model"].parameters())


def test_config_file_documents_every_default_and_flags_override_it(tmp_path):
    from training.loop import load_train_config

    assert load_train_config(ROOT / "training" / "default_train.toml") == (TrainConfig(), LoaderConfig())
    bad = tmp_path / "bad.toml"
    bad.write_text("[loader]\nalpah = 0.5\n")
    with pytest.raises(TrainError, match="unknown config key 'loader.alpah'"):
        load_train_config(bad)
    bad.write_text("[train]\nsteps = 'many'\n")
    with pytest.raises(TrainError, match="'train.steps' must be int"):
        load_train_config(bad)
    good = tmp_path / "good.toml"
    good.write_text("[train]\nsteps = 77\nmodel = 'small'\n[loader]\nalpha = 0.5\nbatch_size = 8\n")
    shown = subprocess.run([sys.executable, "-m", "pipelines.cli", "train", "--data", "x", "--out", "y",
                            "--config", str(good), "--batch-size", "12", "--print-config"],
                           cwd=ROOT, env=polycorp_env(), capture_output=True, text=True, timeout=120)
    effective = json.loads(shown.stdout)
    assert effective["train"]["steps"] == 77 and effective["train"]["model"] == "small"
    assert effective["loader"]["alpha"] == 0.5 and effective["loader"]["batch_size"] == 12  # the flag wins


def test_one_pair_per_batch_turns_the_retrieval_loss_off_with_a_warning(sample_build, tokenizer_file, tmp_path, capsys):
    """Batch 8 at the default shares holds one pair example: an in-batch contrastive loss over one
    pair is 0 whatever the model does, so it is not trained (nor logged), and the run says so."""
    loader = LoaderConfig(seq_len=64, pair_len=32, batch_size=8, heldout_fraction=0.1)
    run = new_run(tmp_path / "one-pair", tokenizer_file)
    train(str(sample_build), run, config(2, log_every=1), loader, device="cpu", quiet=True)
    assert "one retrieval pair per batch" in capsys.readouterr().err
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert records and all("retrieval" not in r and "lm" in r and "mt" in r for r in records)


def test_settings_out_of_range_are_one_line_errors(tmp_path):
    for bad, message in (({"lr": -1.0}, "lr must be > 0"), ({"dropout": 1.5}, r"dropout must be in \[0, 1\)"),
                         ({"beta2": 1.5}, r"beta2 must be in \[0, 1\)"), ({"temperature": 0.0}, "temperature must be > 0"),
                         ({"num_workers": -1}, "num_workers must be >= 0"),
                         ({"weights": {"lm": "a"}}, "weights are numbers"),
                         ({"weights": {"lm": 0, "mt": 0}}, "every objective weight is 0")):
        with pytest.raises(TrainError, match=message):
            TrainConfig(**bad)
    with pytest.raises(ValueError, match=r"heldout_fraction is a share in \[0, 1\)"):
        LoaderConfig(heldout_fraction=1.0)
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(TrainError, match="exists and is not a directory"):
        train("/nonexistent-build", afile, config(1), LOADER, device="cpu")


def test_a_failed_start_leaves_no_tokenizer_and_no_weighted_objective_is_refused(sample_build, tmp_path):
    run = tmp_path / "run"
    only_bitext = replace(LOADER, bitext_share=1.0, pair_share=1.0)  # pairs only, but only lm weighted
    with pytest.raises(TrainError, match="no objective with a weight is in the batches"):
        train(str(sample_build), run, config(2, weights={"lm": 1.0}, tokenizer_chars=200_000), only_bitext, device="cpu")
    assert not (run / "tokenizer.model").exists() and not (run / "config.json").exists()


def test_divergence_stops_the_run_in_one_line(sample_build, tokenizer_file, tmp_path):
    """A temperature of 1e-45 makes the contrastive logits infinite: the loss is nan at once."""
    run = new_run(tmp_path / "run", tokenizer_file)
    with pytest.raises(TrainError, match=r"the loss became nan by step 1 \(training diverged\)"):
        train(str(sample_build), run, config(3, temperature=1e-45, log_every=1), LOADER, device="cpu", quiet=True)


def test_broken_checkpoints_and_tokenizers_are_named_not_tracebacks(runs, sample_build, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs["with"][0], run)
    (run / "checkpoints" / "step-abc").mkdir()  # not a checkpoint: ignored
    with pytest.raises(TrainError, match="is at step 100 already"):
        train(str(sample_build), run, config(1), LOADER, device="cpu", resume=True, steps=50)
    other = tmp_path / "other.model"
    train_tokenizer(sample_build, other, vocab_size=2000, max_chars=300_000)
    shutil.copy(run / "tokenizer.model", tmp_path / "kept.model")
    shutil.copy(other, run / "tokenizer.model")
    with pytest.raises(TrainError, match="has 2000 pieces, the model of .* 3000"):
        train(str(sample_build), run, config(1), LOADER, device="cpu", resume=True, steps=101)
    with pytest.raises(TrainError, match="has 2000 pieces"):
        evaluate(str(run), str(sample_build), device="cpu")
    shutil.copy(tmp_path / "kept.model", run / "tokenizer.model")
    weights_file = run / "checkpoints" / "step-100" / "model.safetensors"
    weights_file.write_bytes(weights_file.read_bytes()[:1000])
    with pytest.raises(TrainError, match="cannot load the checkpoint .*step-100 .*delete it to fall back"):
        evaluate(str(run), str(sample_build), device="cpu")
    (run / "checkpoints" / "step-100" / "optimizer.pt").unlink()
    shutil.rmtree(run / "checkpoints" / "step-100")
    (run / "checkpoints" / "step-100").mkdir()  # an empty checkpoint
    with pytest.raises(TrainError, match="cannot load the checkpoint .*FileNotFoundError"):
        train(str(sample_build), run, config(1), LOADER, device="cpu", resume=True, steps=101)
    saved = json.loads((run / "config.json").read_text())
    saved["loader"]["heldout_fraction"] = 0.0
    (run / "config.json").write_text(json.dumps(saved))
    shutil.rmtree(run / "checkpoints" / "step-100")
    shutil.copytree(runs["with"][0] / "checkpoints" / "step-100", run / "checkpoints" / "step-100")
    with pytest.raises(TrainError, match="trained with nothing held out"):
        evaluate(str(run), str(sample_build), device="cpu")


def test_an_error_in_a_loader_worker_is_one_line():
    from torch._utils import ExceptionWrapper

    from pipelines.cli import one_line
    from training.tokenizer import TokenizerError

    try:
        try:
            raise TokenizerError("the tokenizer has no tag for language 'fr' (it knows de, en)")
        except TokenizerError:
            ExceptionWrapper(where="in DataLoader worker process 0").reraise()
    except TokenizerError as e:
        assert "Original Traceback" in str(e)  # what torch hands the main process
        assert one_line(e) == "the tokenizer has no tag for language 'fr' (it knows de, en)"
