"""`polycorp train`: a build's shards → tokenizer → multi-task model, on CPU or GPU, under torchrun.

θ* = argmin Σ λ_i L_i over language modelling (monolingual windows), translation (bitext as
`<2tgt> source <sep> target`, loss on the target) and retrieval (in-batch contrastive loss between
both sides of a pair), each logged on its own. One `Objectives` module computes all of a batch's
losses in one forward, so DistributedDataParallel sees every parameter used in one call and
averages the gradients of the weighted sum.

The loop: AdamW (weight decay on matrices, the tied embedding included; none on norm gains),
linear warmup then cosine to `min_lr_ratio · lr`, gradient clipping, gradient accumulation (DDP
syncs only the last micro-batch), bf16 autocast on CUDA, optional `torch.compile`. Checkpoints
(`RUN/checkpoints/step-<n>/`: model.safetensors, optimizer.pt with the scheduler, each rank's
loader state and RNG states) every `checkpoint_every` steps, at the end and on SIGTERM, written to
`step-<n>.part/` and renamed when complete, so a half-written checkpoint is never resumed from
(atomic against a crash of the process; files are not fsynced, so not against a power loss).
`--resume` continues from the newest complete one with exactly the batches, dropout masks and
learning rates of an uninterrupted run (tested bit for bit on CPU).

`--tokens TOKENS_DIR` (token-id shards of the build, `polycorp tokenize`): the run's tokenizer is
TOKENS_DIR/tokenizer.model (copied into RUN_DIR) and the loader reads the stored ids instead of
encoding text — the same batches. config.json records the directory (`tokens`), so `--resume`
reads them again; `--tokens` given at a resume wins (a run may switch: the batches are the same).

Under `torchrun --nproc_per_node N`, each process is one rank (gloo on CPU, NCCL on GPU); the
loader gives each rank its own slots, and ranks agree every step on whether to stop.
"""

from __future__ import annotations

import json
import math
from datetime import timedelta
import os
import random
import re
import shutil
import signal
import sys
import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from training.data import (DataError, LoaderConfig, Plan, StreamingDataset, StreamingLoader, check_tokenizer, load_plan,
                           read_tokens_manifest)
from training.model import DecoderLM, ModelConfig, combined_loss, count_parameters, flops_per_token, lm_loss, mt_loss, retrieval_loss
from training.split import SPLIT
from training.tokenizer import Tokenizer, train_tokenizer
from transforms import fs
from transforms.progress import duration

# Model sizes by name (d_model, n_layers, n_heads, d_ff); d_ff ≈ 8/3 · d_model rounded to 64 (SwiGLU).
MODEL_SIZES = {
    "tiny": (128, 2, 4, 384),  # ~1.5 M parameters with an 8 k vocabulary: seconds per step on a CPU
    "small": (256, 4, 4, 704),
    "base": (512, 8, 8, 1408),
    "100m": (768, 12, 12, 2048),  # ~110 M with a 32 k vocabulary (benchmarks/gpu_train.sh)
}


class TrainError(Exception):
    """A run that cannot start or continue; the message is one line saying what to do."""


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1000
    model: str = "tiny"  # a key of MODEL_SIZES
    vocab_size: int = 8000
    tokenizer_chars: int = 50_000_000  # characters sampled to train the tokenizer
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup: int = 50
    weight_decay: float = 0.1
    beta2: float = 0.95
    clip: float = 1.0
    grad_accum: int = 1
    weights: dict = field(default_factory=lambda: {"lm": 1.0, "mt": 1.0, "retrieval": 0.5})
    temperature: float = 0.05  # of the contrastive loss
    dropout: float = 0.0
    checkpoint_every: int = 200
    log_every: int = 10
    num_workers: int = 1
    compile: bool = False
    seed: int = 0

    def __post_init__(self):
        for name in ("steps", "grad_accum", "log_every", "checkpoint_every", "warmup", "vocab_size"):
            if getattr(self, name) < (0 if name == "warmup" else 1):
                raise TrainError(f"{name} must be at least {0 if name == 'warmup' else 1}, got {getattr(self, name)}")
        if self.model not in MODEL_SIZES:
            raise TrainError(f"unknown model size {self.model!r}: use one of {', '.join(MODEL_SIZES)}")
        unknown = set(self.weights) - {"lm", "mt", "retrieval"}
        if unknown:
            raise TrainError(f"unknown objective weight(s) {', '.join(sorted(unknown))}: use lm, mt, retrieval")
        if not all(isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0 for w in self.weights.values()):
            raise TrainError(f"objective weights are numbers >= 0, got {self.weights}")
        if not any(self.weights.values()):
            raise TrainError("every objective weight is 0: nothing to train (e.g. --weights lm=1,mt=1,retrieval=0.5)")
        ranges = {"num_workers": (self.num_workers >= 0, ">= 0"), "lr": (self.lr > 0, "> 0"),
                  "tokenizer_chars": (self.tokenizer_chars > 0, "> 0"),
                  "min_lr_ratio": (0 <= self.min_lr_ratio <= 1, "in [0, 1]"),
                  "weight_decay": (self.weight_decay >= 0, ">= 0"), "beta2": (0 <= self.beta2 < 1, "in [0, 1)"),
                  "clip": (self.clip > 0, "> 0"), "temperature": (self.temperature > 0, "> 0"),
                  "dropout": (0 <= self.dropout < 1, "in [0, 1)")}
        for name, (ok, allowed) in ranges.items():
            if not ok:
                raise TrainError(f"{name} must be {allowed}, got {getattr(self, name)}")


def model_config(train: TrainConfig, vocab_size: int, loader: LoaderConfig, pad_id: int) -> ModelConfig:
    d_model, n_layers, n_heads, d_ff = MODEL_SIZES[train.model]
    return ModelConfig(vocab_size=vocab_size, d_model=d_model, n_layers=n_layers, n_heads=n_heads, d_ff=d_ff,
                       max_seq_len=max(loader.seq_len, loader.translation_len, loader.pair_len), dropout=train.dropout, pad_id=pad_id)


class Objectives(nn.Module):
    """All losses of a batch in one forward: {"lm", "mt", "retrieval"} plus "retrieval_acc"."""

    def __init__(self, model: DecoderLM, sep_id: int, pad_id: int, temperature: float):
        super().__init__()
        self.model, self.sep_id, self.pad_id, self.temperature = model, sep_id, pad_id, temperature

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        out = {}
        if "lm" in batch:
            out["lm"] = lm_loss(self.model, batch["lm"]["input_ids"], batch["lm"]["labels"])
        if "mt" in batch:
            out["mt"] = mt_loss(self.model, batch["mt"]["input_ids"], batch["mt"]["labels"], self.sep_id)
        if "pair" in batch and len(batch["pair"]["src_ids"]) > 1:  # in-batch negatives need two pairs
            out["retrieval"], out["retrieval_acc"] = retrieval_loss(
                self.model, batch["pair"]["src_ids"], batch["pair"]["tgt_ids"], self.pad_id, self.temperature)
        return out


def lr_at(step: int, config: TrainConfig) -> float:
    """Multiplier of the base learning rate after `step` optimizer steps: linear warmup, cosine
    decay to min_lr_ratio at the last step."""
    if step < config.warmup:
        return (step + 1) / config.warmup
    progress = min(1.0, (step - config.warmup) / max(1, config.steps - config.warmup))
    return config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def make_optimizer(model: nn.Module, config: TrainConfig, fused: bool) -> torch.optim.Optimizer:
    """AdamW; weight decay on matrices only (not on norms' gains)."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    keep = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": keep, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, config.beta2), fused=fused or None)


# ------------------------------------------------------------------------------ distributed set-up


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device_type: str) -> Dist:
    """Rank and world size from torchrun's environment; the process group (gloo on CPU, NCCL on
    GPU) when there is more than one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Dist()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        # rank 0 may train the tokenizer while the others wait at a barrier: a long timeout
        if device_type == "cuda":  # NCCL bound to this rank's GPU (barriers otherwise guess it)
            torch.cuda.set_device(local_rank)
            dist.init_process_group("nccl", timeout=timedelta(hours=2), device_id=torch.device("cuda", local_rank))
        else:
            dist.init_process_group("gloo", timeout=timedelta(hours=2))
    return Dist(dist.get_rank(), dist.get_world_size(), local_rank)


def barrier(d: Dist) -> None:
    if d.world_size > 1:
        dist.barrier()


def resolve_device(name: str, d: Dist) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise TrainError("--device cuda was asked for but torch sees no CUDA GPU: use --device cpu "
                             "(or auto), or run on a machine with a GPU and a CUDA build of torch")
        torch.cuda.set_device(d.local_rank)
        return torch.device("cuda", d.local_rank)
    if name != "cpu":
        raise TrainError(f"unknown device {name!r}: use cpu, cuda or auto")
    return torch.device("cpu")


# ------------------------------------------------------------------------------ checkpoints


def checkpoint_dirs(run_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    root = run_dir / "checkpoints"
    if not root.exists():
        return []
    done = [p for p in root.iterdir() if p.is_dir() and re.fullmatch(r"step-\d+", p.name)]  # not step-<n>.part
    return sorted(done, key=checkpoint_step)


def checkpoint_step(path: Path) -> int:
    """The step of a checkpoint directory `step-<n>`."""
    return int(path.name.split("-")[1])


def check_vocab(tokenizer: Tokenizer, vocab_size: int, run_dir: Path) -> None:
    """TrainError unless the run's tokenizer.model is the size of the run's model's vocabulary."""
    if tokenizer.vocab_size != vocab_size:
        raise TrainError(f"{tokenizer.path} has {tokenizer.vocab_size} pieces, the model of {run_dir} {vocab_size}: it "
                         "is not the tokenizer the run was trained with; restore that one")


def load_weights(path: Path, model: nn.Module, device) -> None:
    """A checkpoint's model.safetensors into `model`; a missing, damaged or other model's file is a
    TrainError naming the checkpoint."""
    from safetensors.torch import load_file

    try:
        model.load_state_dict(load_file(str(path / "model.safetensors"), device=str(device)))
    except Exception as e:  # noqa: BLE001 — FileNotFoundError, SafetensorError, size mismatches: one line
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TrainError(f"cannot load the checkpoint {path} ({type(e).__name__}: {reason[:300]}); restore it, or "
                         "delete it to fall back to the one before") from None


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(run_dir: Path, step: int, model: DecoderLM, optimizer, scheduler, loader: StreamingLoader,
                    d: Dist) -> Path:
    from safetensors.torch import save_file

    root = run_dir / "checkpoints"
    part, final = root / f"step-{step}.part", root / f"step-{step}"
    if d.main:
        shutil.rmtree(part, ignore_errors=True)
        part.mkdir(parents=True)
    barrier(d)
    if d.main:
        save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()},
                  str(part / "model.safetensors"))
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "step": step},
                   part / "optimizer.pt")
    (part / f"loader-rank{d.rank}.json").write_text(json.dumps(loader.state_dict()))
    torch.save(_rng_state(), part / f"rng-rank{d.rank}.pt")
    barrier(d)
    if d.main:
        shutil.rmtree(final, ignore_errors=True)
        os.replace(part, final)
    barrier(d)
    return final


def load_checkpoint(path: Path, model: DecoderLM, optimizer, scheduler, loader: StreamingLoader, d: Dist) -> int:
    device = next(model.parameters()).device
    load_weights(path, model, device)
    try:
        saved = torch.load(path / "optimizer.pt", weights_only=False, map_location=device)
        rng = torch.load(path / f"rng-rank{d.rank}.pt", weights_only=False, map_location="cpu")
    except FileNotFoundError as e:
        raise TrainError(f"the checkpoint {path} is incomplete (no {Path(e.filename).name}); restore it, or delete "
                         "it to fall back to the one before") from None
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    loader_state = path / f"loader-rank{d.rank}.json"
    if not loader_state.exists():
        raise TrainError(f"{path} holds no loader state for rank {d.rank}: resume with the number of "
                         "processes the run was started with")
    loader.load_state_dict(json.loads(loader_state.read_text()))
    _set_rng_state(rng)
    return saved["step"]


# ------------------------------------------------------------------------------ the run


class _Stop:
    """SIGTERM (a scheduler's pre-emption, torchrun stopping its workers): finish the step,
    checkpoint, return."""

    def __init__(self):
        self.requested = False

    def __call__(self, signum, frame):
        self.requested = True


def _to_device(batch: dict, device: torch.device) -> dict:
    return {kind: {k: v.to(device, non_blocking=True) for k, v in part.items()} for kind, part in batch.items()}


def _tokens(batch: dict, pad_id: int) -> int:
    """Tokens the model reads in a batch (padding excluded)."""
    total = 0
    for part in batch.values():
        for key in ("input_ids", "src_ids", "tgt_ids"):
            if key in part:
                total += int((part[key] != pad_id).sum())
    return total


def train_run_tokenizer(build_dir: str, path: str | os.PathLike, train: TrainConfig, loader: LoaderConfig,
                        verify: bool = True) -> Tokenizer:
    """The tokenizer a run with these settings trains (`polycorp tokenize` trains the same one)."""
    return train_tokenizer(build_dir, path, vocab_size=train.vocab_size, alpha=loader.alpha,
                           max_chars=train.tokenizer_chars, seed=train.seed, heldout_fraction=loader.heldout_fraction,
                           verify=verify)


def agreed_plan(build_dir: str, loader: LoaderConfig, tokens_dir: str | None, d: Dist, device: torch.device,
                tokenizer_path: Path) -> Plan:
    """The loader's plan of the build (or its token shards), the shards checked once per node: by its
    first local rank, whose verdict the other ranks wait for — ranks of a node read the same files,
    and hashing a corpus per rank would multiply the start-up time. A failed check stops every rank.
    With token shards and a tokenizer already in RUN_DIR, rank 0 first checks that they match."""
    failure = plan = None
    try:
        if tokens_dir is not None and d.main and tokenizer_path.exists():  # before the shards' long check
            check_tokenizer(tokens_dir, Tokenizer(tokenizer_path))
        plan = load_plan(build_dir, loader.heldout_fraction, tokens_dir, verify=d.local_rank == 0)
    except DataError as e:
        failure = e
    if _agree(failure is not None, d, device):
        raise failure or DataError("a shard of the build failed its check on another rank; see that rank's error")
    return plan


@contextmanager
def _new_run_files(run_dir: Path, d: Dist, resume: bool):
    """A new run that fails before its config.json is written removes the tokenizer.model it made:
    a later start would take it for one put there on purpose (and keep its vocabulary)."""
    made = d.main and not resume and not (run_dir / "tokenizer.model").exists()
    try:
        yield
    except BaseException:
        if made and run_dir.is_dir() and not (run_dir / "config.json").exists():
            (run_dir / "tokenizer.model").unlink(missing_ok=True)
        raise


def check_run_dir(run_dir: Path, resume: bool) -> None:
    """A one-line TrainError, before any work, when the run directory cannot be used."""
    if run_dir.exists() and not run_dir.is_dir():
        raise TrainError(f"--out {run_dir} exists and is not a directory")
    if not resume:
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise TrainError(f"cannot create --out {run_dir}: {e.strerror}") from None
    if run_dir.is_dir() and not os.access(run_dir, os.W_OK):
        raise TrainError(f"--out {run_dir} is not writable")


def prepare_run(run_dir: Path, build_dir: str, train: TrainConfig, loader: LoaderConfig, resume: bool,
                d: Dist, device: torch.device, steps: int | None = None,
                tokens_dir: str | None = None) -> tuple[TrainConfig, LoaderConfig, Tokenizer, str | None, Plan]:
    """config.json and tokenizer.model of the run: written for a new run (the tokenizer trained on
    rank 0 while the others wait, or copied from `tokens_dir`, unless a tokenizer.model was put in
    RUN_DIR beforehand), read back when resuming — the saved settings win, except `steps` when
    given (a longer run; the cosine schedule then follows the new length) and `tokens_dir` (the
    saved one when not given). The shards are checked (`agreed_plan`) before the tokenizer is
    trained, which then samples them unchecked: a bad shard stops the run at once, and none is
    hashed twice. Returns the settings, the tokenizer, the token shards' directory and the plan."""
    config_path = run_dir / "config.json"
    tokenizer_path = run_dir / "tokenizer.model"
    check_run_dir(run_dir, resume)
    if resume:
        if not config_path.exists():
            raise TrainError(f"--resume: {run_dir} holds no run (no config.json); start one without --resume")
        saved = json.loads(config_path.read_text())
        if saved.get("split") != SPLIT:
            raise TrainError(f"--resume: {run_dir} was started by an older polycorp (documents held out by id, "
                             "translation rows of seq_len), which this one cannot continue; evaluate it with "
                             "polycorp eval, or start a new run")
        if not tokenizer_path.exists():
            raise TrainError(f"--resume: {tokenizer_path} is missing; restore it (the checkpoints were trained with "
                             "it) or start a new run")
        check_vocab(Tokenizer(tokenizer_path), saved["model"]["vocab_size"], run_dir)
        train = TrainConfig(**saved["train"])
        loader = LoaderConfig(**saved["loader"])
        tokens_dir = tokens_dir or saved.get("tokens")
        done = checkpoint_dirs(run_dir)
        at = checkpoint_step(done[-1]) if done else 0
        if steps is not None and steps < at:
            raise TrainError(f"--resume --steps {steps}: {run_dir} is at step {at} already; give more steps")
    elif config_path.exists():
        if checkpoint_dirs(run_dir):
            raise TrainError(f"{run_dir} already holds a run: add --resume to continue it, or choose another --out")
        if d.main:  # a run that failed before its first checkpoint: start it again from nothing
            for stale in ("config.json", "tokenizer.model", "metrics.jsonl"):
                (run_dir / stale).unlink(missing_ok=True)
    if steps is not None:
        train = replace(train, steps=steps)
    if tokens_dir is not None:  # one-line errors before anything is written
        made = read_tokens_manifest(tokens_dir)["tokenizer"].get("trained") or {}
        if made.get("heldout_fraction", loader.heldout_fraction) < loader.heldout_fraction:
            raise TrainError(f"the tokenizer of {tokens_dir} was trained holding out {made['heldout_fraction']} of the "
                             f"documents, so some this run holds out ({loader.heldout_fraction}) reached it; tokenize "
                             f"again with --heldout-fraction {loader.heldout_fraction}, or train with its fraction")
    plan = agreed_plan(build_dir, loader, tokens_dir, d, device, tokenizer_path)
    if d.main and resume and (steps, tokens_dir) != (None, saved.get("tokens")):
        # once they are known to be usable: config.json says what the run now does
        saved["train"]["steps"] = train.steps
        saved["tokens"] = fs.absolute(tokens_dir) if tokens_dir else None
        fs.write_bytes(str(config_path), (json.dumps(saved, indent=2) + "\n").encode())
    if d.main:  # run_dir exists: check_run_dir made a new run's, a resumed run's holds config.json
        if not tokenizer_path.exists() and tokens_dir is not None:
            fs.write_bytes(str(tokenizer_path), fs.read_bytes(fs.join(tokens_dir, "tokenizer.model")))
        elif not tokenizer_path.exists():  # the shards it samples were checked on this node just now
            train_run_tokenizer(build_dir, tokenizer_path, train, loader, verify=False)
    barrier(d)
    return train, loader, Tokenizer(tokenizer_path), tokens_dir, plan


def train(build_dir: str, run_dir: str | os.PathLike, train_config: TrainConfig = TrainConfig(),
          loader_config: LoaderConfig = LoaderConfig(), device: str = "auto", resume: bool = False,
          quiet: bool = False, stop_at: int | None = None, steps: int | None = None,
          tokens_dir: str | None = None) -> dict:
    """Train; returns {"step", "model" (the trained DecoderLM), "stopped" (True if by SIGTERM or
    `stop_at`)}. `stop_at`: checkpoint and return after that step (as a SIGTERM would). `steps`:
    overrides train_config.steps, also when resuming (whose saved settings otherwise win).
    `tokens_dir`: read the build's token-id shards there (and use their tokenizer)."""
    run_dir = Path(run_dir)
    d = init_distributed("cuda" if device in ("cuda", "auto") and torch.cuda.is_available() else "cpu")
    dev = resolve_device(device, d)
    with _new_run_files(run_dir, d, resume):  # a failed start leaves no tokenizer of its own behind
        train_config, loader_config, tokenizer, tokens_dir, plan = prepare_run(
            run_dir, build_dir, train_config, loader_config, resume, d, dev, steps, tokens_dir)
        dataset = StreamingDataset(build_dir, tokenizer, loader_config, rank=d.rank, world_size=d.world_size,
                                   tokens_dir=tokens_dir, plan=plan)
        present = {"lm": dataset.composition["lm"], "mt": dataset.composition["mt"],
                   "retrieval": dataset.composition["pair"] > 1}
        if not any(present[k] and train_config.weights.get(k, 0) for k in present):
            raise TrainError(f"no objective with a weight is in the batches (weights {train_config.weights}, per batch "
                             f"{dataset.composition}): change --weights, --bitext-share or --pair-share")
        loader = StreamingLoader(dataset, num_workers=train_config.num_workers, pin_memory=dev.type == "cuda")
        if loader_config.bitext_share > 0 and not dataset.plan.bitext and d.main:
            print(f"polycorp train: warning: {build_dir} has no bitext, so every batch is language modelling only "
                  "(translation and retrieval are off)", file=sys.stderr)
        if dataset.composition["pair"] == 1 and d.main:
            print("polycorp train: warning: one retrieval pair per batch gives the contrastive loss no negatives, "
                  "so it is off; raise --batch-size or --pair-share to train retrieval", file=sys.stderr)

        torch.manual_seed(train_config.seed)  # the same initial weights on every rank
        config = model_config(train_config, tokenizer.vocab_size, loader_config, tokenizer.pad_id)
        model = DecoderLM(config).to(dev)
        objectives = Objectives(model, tokenizer.sep_id, tokenizer.pad_id, train_config.temperature)
        optimizer = make_optimizer(model, train_config, fused=dev.type == "cuda")
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_at(s, train_config))
        step = 0
        checkpoints = checkpoint_dirs(run_dir)
        if resume and checkpoints:
            step = load_checkpoint(checkpoints[-1], model, optimizer, scheduler, loader, d)
        else:
            torch.manual_seed(train_config.seed + 1 + d.rank)  # dropout masks differ across ranks
        if d.main and not resume:
            (run_dir / "config.json").write_text(json.dumps(
                {"data": fs.absolute(build_dir), "tokens": fs.absolute(tokens_dir) if tokens_dir else None, "split": SPLIT,
                 "tokenizer": "tokenizer.model", "model": config.to_dict(),
                 "train": asdict(train_config), "loader": asdict(loader_config),
                 "parameters": count_parameters(model)}, indent=2) + "\n")
    forward = objectives
    if d.world_size > 1:
        forward = nn.parallel.DistributedDataParallel(objectives, device_ids=[dev.index] if dev.type == "cuda" else None)
    if train_config.compile:
        forward = torch.compile(forward)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if dev.type == "cuda" else nullcontext()

    stop = _Stop()
    previous_handler = signal.signal(signal.SIGTERM, stop) if _main_thread() else None
    if d.main and resume:
        _truncate_metrics(run_dir / "metrics.jsonl", step)
    metrics = open(run_dir / "metrics.jsonl", "a") if d.main else None
    flops = flops_per_token(model, loader_config.seq_len)
    window = {"tokens": 0, "time": 0.0, "steps": 0, "losses": {}}
    started, batches, stopped = time.monotonic(), iter(loader), False
    model.train()
    try:
        while step < train_config.steps:
            t0 = time.monotonic()
            for micro in range(train_config.grad_accum):
                batch = next(batches)
                window["tokens"] += _tokens(batch, tokenizer.pad_id)  # on the CPU copy: no GPU sync
                batch = _to_device(batch, dev)
                sync = micro == train_config.grad_accum - 1 or d.world_size == 1
                with (nullcontext() if sync else forward.no_sync()), autocast:
                    losses = forward(batch)
                    weighted = {k: v for k, v in losses.items() if k in train_config.weights}
                    loss = combined_loss(weighted, train_config.weights) / train_config.grad_accum
                loss.backward()
                # summed as tensors, read (one GPU sync) only when a line is logged
                for k, v in losses.items():
                    window["losses"][k] = window["losses"].get(k, 0.0) + v.detach() / train_config.grad_accum
                window["losses"]["loss"] = window["losses"].get("loss", 0.0) + loss.detach()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), train_config.clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            window["steps"] += 1
            log_now = step % train_config.log_every == 0 or step == train_config.steps
            if log_now and dev.type == "cuda":
                # the CPU queues steps ahead of the GPU: wait for them, or the window's time would
                # miss the GPU work still queued (and tokens/s overstate); _log waits anyway
                torch.cuda.synchronize(dev)
            window["time"] += time.monotonic() - t0
            if log_now:
                _log(window, step, train_config, scheduler, float(grad_norm), flops, started, metrics, quiet, d, dev)
                window = {"tokens": 0, "time": 0.0, "steps": 0, "losses": {}}
            # ranks agree on stopping at log steps (a collective and a GPU sync: not every step) —
            # a SIGTERM is answered within log_every steps
            agree_now = d.world_size == 1 or step % train_config.log_every == 0 or step in (stop_at, train_config.steps)
            stopping = agree_now and _agree(stop.requested or step == stop_at, d, dev)
            if stopping or step % train_config.checkpoint_every == 0 or step == train_config.steps:
                save_checkpoint(run_dir, step, model, optimizer, scheduler, loader, d)
            if stopping:
                stopped = True
                break
    finally:
        if metrics:
            metrics.close()
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
    return {"step": step, "model": model, "stopped": stopped, "tokenizer": tokenizer, "rank": d.rank}


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop records of steps after the checkpoint resumed from (logged before a crash, trained again
    now), so each step appears once."""
    if path.exists():
        kept = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line)["step"] <= step]
        path.with_suffix(".part").write_text("".join(line + "\n" for line in kept))
        os.replace(path.with_suffix(".part"), path)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _agree(flag: bool, d: Dist, device: torch.device) -> bool:
    """True on every rank if any rank wants to stop (so all stop at the same step). On the run's
    device: NCCL reduces CUDA tensors only."""
    if d.world_size == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def _log(window: dict, step: int, config: TrainConfig, scheduler, grad_norm: float, flops: int, started: float,
         metrics, quiet: bool, d: Dist, device: torch.device) -> None:
    """Mean losses over the window (averaged across ranks), tokens/s of all ranks, ETA."""
    names = sorted(window["losses"])
    values = torch.tensor([float(window["losses"][k]) / window["steps"] for k in names] + [window["tokens"]],
                          dtype=torch.float64)
    if d.world_size > 1:
        values = values.to(device)
        dist.all_reduce(values)
        values = values.cpu()
        values[:-1] /= d.world_size
    means = dict(zip(names, values[:-1].tolist()))
    if not math.isfinite(means["loss"]):  # the same on every rank (all-reduced): all stop
        raise TrainError(f"the loss became {means['loss']} by step {step} (training diverged): lower --lr, raise "
                         "--warmup or --temperature; checkpoints before it are kept")
    tokens_per_s = float(values[-1]) / max(window["time"], 1e-9)
    elapsed = time.monotonic() - started
    eta = (config.steps - step) * window["time"] / window["steps"]
    if not d.main:
        return
    record = {"step": step, "lr": scheduler.get_last_lr()[0], "grad_norm": grad_norm, **means,
              "tokens_per_s": tokens_per_s, "model_flops_per_s": tokens_per_s * flops, "elapsed_s": elapsed,
              "eta_s": eta}
    metrics.write(json.dumps(record) + "\n")
    metrics.flush()
    if not quiet:
        parts = " ".join(f"{k} {means[k]:.3f}" for k in ("lm", "mt", "retrieval", "retrieval_acc") if k in means)
        print(f"step {step}/{config.steps}  loss {means['loss']:.3f} ({parts})  {tokens_per_s:,.0f} tok/s  "
              f"lr {record['lr']:.2e}  ETA {duration(eta)}", file=sys.stderr, flush=True)


def load_train_config(path: str | os.PathLike | None) -> tuple[TrainConfig, LoaderConfig]:
    """[train] and [loader] tables of a TOML file over the defaults (training/default_train.toml
    lists every key); an unknown table or key, or a value of the wrong type, is an error naming it."""
    from transforms.config import ConfigError, check_type, read_toml

    if path is None:
        return TrainConfig(), LoaderConfig()
    out = []
    try:
        tree = read_toml(path)
        for section, cls in (("train", TrainConfig), ("loader", LoaderConfig)):
            table = tree.pop(section, {})
            defaults = {f.name: getattr(cls(), f.name) for f in fields(cls)}
            for key, value in table.items():
                if key not in defaults:
                    raise TrainError(f"unknown config key '{section}.{key}' in {path}")
                check_type(f"{section}.{key}", value, defaults[key])
            out.append(cls(**{**defaults, **table}))
    except ConfigError as e:  # the build's checks, this command's error type
        raise TrainError(str(e)) from None
    if tree:
        raise TrainError(f"unknown config table '{next(iter(tree))}' in {path}: use [train] and [loader]")
    return out[0], out[1]


def config_from_args(args) -> tuple[TrainConfig, LoaderConfig]:
    """The config file's settings (args.config, if given) with the CLI's flags over them (only those
    given)."""
    train, loader = load_train_config(getattr(args, "config", None))
    given = {k: v for k, v in vars(args).items() if v is not None and k != "config"}
    train = replace(train, **{k: v for k, v in given.items() if k in {f.name for f in fields(TrainConfig)}})
    try:
        loader = replace(loader, **{k: v for k, v in given.items() if k in {f.name for f in fields(LoaderConfig)}})
    except ValueError as e:
        raise TrainError(str(e)) from None
    return train, loader
