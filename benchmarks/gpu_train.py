"""A ~100M-parameter model trained in bf16 on one GPU for a few minutes: tokens/s and model FLOPs
utilisation. Run through gpu_train.sh, which picks a Python whose torch sees the GPU:

    bash benchmarks/gpu_train.sh                                    # CUDA, "100m", 4 min of training
    bash benchmarks/gpu_train.sh --device cpu --steps 3 --model tiny   # dry run without a GPU, ~1 min

Each step prints a line (a run cut short by a timeout still shows how far it got):
1. the sample's build, benchmarks/work/train_sample (`polycorp build sample/sample.warc.gz` if it
   holds no manifest.json; that needs the pipeline's dependencies: on a machine without them, copy
   a build made elsewhere there — it is 13 MB);
2. a tokenizer of --vocab-size (32 000) pieces trained on it, cached in benchmarks/work/gpu_train/;
   SentencePiece may give fewer (hard_vocab_limit=False) and the model follows it: the parameter
   count reported is the model's own;
3. a loader check: `StreamingLoader` with --num-workers workers, tokens/s (padding excluded), to
   compare with what the model consumes (CPU only: the GPU waits);
4. `training.loop.train(device="cuda")`: bf16 autocast, fused AdamW, torch.compile (unless
   --no-compile; if compiling fails the run is redone without it), one loader worker pool,
   --model "100m" (d_model 768, 12 layers, 12 heads, SwiGLU 2048, tied embedding), seq_len 1024,
   --batch-size 64 examples a step (the training mix: 75 % lm windows, 12.5 % mt rows of 256
   tokens, 12.5 % pairs of 2 × 128).
   After --minutes of training (compilation included) a SIGTERM asks train() to finish the step,
   checkpoint and return — the same path a scheduler's pre-emption takes;
5. figures: tokens/s = the mean of metrics.jsonl's `tokens_per_s` over its windows but the first two
   (compilation, warm-up); MFU = flops_per_token × tokens/s ÷ --peak-flops (H100/H200 SXM dense
   bf16: 989e12). Tokens exclude padding, which the GPU computes anyway (`padding_share` of the
   loader check), so MFU is the useful share, not the busy share.

Writes benchmarks/results/gpu_train.json on CUDA (benchmarks/work/gpu_train-<device>.json otherwise,
or --json); with $OUT set (a device runner's output folder), also copies it and metrics.jsonl there.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

import torch  # noqa: E402

from benchlib import code_version  # noqa: E402
from training.data import LoaderConfig, StreamingDataset  # noqa: E402
from training.loop import MODEL_SIZES, TrainConfig, train  # noqa: E402
from training.model import count_parameters, flops_per_token  # noqa: E402
from train_throughput import ensure_tokenizer, loader_throughput  # noqa: E402

SAMPLE_BUILD = os.path.join(HERE, "work", "train_sample")
WORK = os.path.join(HERE, "work", "gpu_train")
STARTED = time.perf_counter()


def say(message: str) -> None:
    print(f"[gpu_train {time.perf_counter() - STARTED:5.0f}s] {message}", file=sys.stderr, flush=True)


def ensure_build(build_dir: str) -> None:
    if (Path(build_dir) / "manifest.json").exists():
        say(f"build: {os.path.relpath(build_dir, ROOT)} (reused)")
        return
    say(f"build: none at {build_dir}; building the sample (~40 s on 2 cores)")
    try:
        subprocess.run([sys.executable, "-m", "pipelines.cli", "build", os.path.join(ROOT, "sample", "sample.warc.gz"),
                        "--out", build_dir, "--overwrite", "--quiet"], cwd=ROOT, check=True)
    except subprocess.CalledProcessError:
        sys.exit(f"gpu_train: could not build the sample with {sys.executable} (it needs the pipeline's dependencies): "
                 f"build it elsewhere with `polycorp build sample/sample.warc.gz --out {os.path.relpath(build_dir, ROOT)}` "
                 "and copy the folder here")


def stop_after(seconds: float) -> threading.Timer:
    """SIGTERM to this process after `seconds`: train() then finishes its step, checkpoints, returns."""
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGTERM))
    timer.daemon = True
    timer.start()
    return timer


def run_training(args, build_dir: str, tokenizer_path: str, loader_config: LoaderConfig, compile_model: bool,
                 seconds: float) -> tuple[dict, Path]:
    run_dir = Path(WORK) / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    shutil.copy(tokenizer_path, run_dir / "tokenizer.model")  # train() reuses it
    config = TrainConfig(model=args.model, steps=args.steps or 10 ** 9, vocab_size=args.vocab_size,
                         num_workers=args.num_workers, compile=compile_model, log_every=args.log_every,
                         checkpoint_every=10 ** 9, warmup=100)
    say(f"train: {args.model} on {args.device}, compile={compile_model}, batch {loader_config.batch_size} × "
        f"seq_len {loader_config.seq_len}, {args.num_workers} loader workers, "
        + (f"{args.steps} steps" if args.steps else f"stopping after {seconds:.0f} s"))
    signal.signal(signal.SIGTERM, lambda *_: None)  # what train() restores: a late timer is then harmless
    timer = stop_after(seconds)
    try:
        out = train(build_dir, run_dir, config, loader_config, device=args.device)
    finally:
        timer.cancel()
    return out, run_dir


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--model", default="100m", choices=list(MODEL_SIZES))
    ap.add_argument("--minutes", type=float, default=4.0, help="training time, compilation included (4)")
    ap.add_argument("--steps", type=int, default=0, help="stop after this many steps instead (0: --minutes only)")
    ap.add_argument("--batch-size", type=int, help="examples a step (64 on cuda, 8 on cpu)")
    ap.add_argument("--seq-len", type=int, default=1024)
    ap.add_argument("--bitext-share", type=float, default=LoaderConfig.bitext_share,
                    help="share of mt + pair examples in a batch (0.25, the training default)")
    ap.add_argument("--vocab-size", type=int, default=32000)
    ap.add_argument("--num-workers", type=int, default=min(8, max(1, (os.cpu_count() or 2) // 2)))
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--peak-flops", type=float, default=989e12, help="dense bf16 FLOP/s of the GPU (H200: 989e12)")
    ap.add_argument("--log-every", type=int, help="steps per metrics window (10 on cuda, 1 on cpu)")
    ap.add_argument("--loader-check-batches", type=int, default=200, help="0: skip the loader check")
    ap.add_argument("--build", default=SAMPLE_BUILD)
    ap.add_argument("--json", help="where to write the figures")
    args = ap.parse_args()
    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        print(f"gpu_train: torch {torch.__version__} ({sys.executable}) sees no CUDA GPU: run on a GPU machine with a "
              "CUDA build of torch, or dry-run with --device cpu --steps 3 --model tiny", file=sys.stderr)
        return 2
    args.batch_size = args.batch_size or (64 if cuda else 8)
    args.log_every = args.log_every or (10 if cuda else 1)
    json_path = args.json or (os.path.join(HERE, "results", "gpu_train.json") if cuda
                              else os.path.join(WORK + f"-{args.device}.json"))
    gpu = torch.cuda.get_device_name() if cuda else None
    say(f"polycorp {code_version()}, torch {torch.__version__}, {sys.executable}, {os.cpu_count()} CPUs"
        + (f", {gpu}" if gpu else ""))

    ensure_build(args.build)
    t0 = time.perf_counter()
    tokenizer = ensure_tokenizer(args.build, os.path.join(WORK, f"tokenizer-{args.vocab_size}.model"), args.vocab_size)
    say(f"tokenizer: {tokenizer.vocab_size:,} pieces ({args.vocab_size:,} asked), {time.perf_counter() - t0:.0f} s")
    loader_config = LoaderConfig(seq_len=args.seq_len, batch_size=args.batch_size, bitext_share=args.bitext_share)
    loader = None
    if args.loader_check_batches:
        dataset = StreamingDataset(args.build, tokenizer, loader_config)
        loader = loader_throughput(dataset, args.num_workers, args.loader_check_batches, warmup_per_worker=2)
        say(f"loader: {loader['tokens_per_s']:,} tokens/s with {args.num_workers} workers "
            f"({loader['tokens_per_s_per_worker']:,} each), padding {loader['padding_share']:.0%} of positions")

    seconds = args.minutes * 60
    compile_model = not args.no_compile
    t_train = time.perf_counter()
    failure = None
    try:
        out, run_dir = run_training(args, args.build, tokenizer.path, loader_config, compile_model, seconds)
    except Exception as e:  # noqa: BLE001 — a compiler failure should not cost the whole session
        if not compile_model:
            raise
        failure = f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:200]}"
    if failure:  # outside the except block: its traceback held the failed run (model, optimizer, workers)
        say(f"train with torch.compile failed ({failure}); again without it")
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        compile_model = False
        left = max(60.0, seconds - (time.perf_counter() - t_train))
        out, run_dir = run_training(args, args.build, tokenizer.path, loader_config, compile_model, left)
    train_wall = time.perf_counter() - t_train

    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    if not records:
        say(f"no window was logged before the timer stopped the run (step {out['step']}, log every "
            f"{args.log_every}): raise --minutes or lower --log-every; metrics in {run_dir}")
        return 1
    steady = records[2:] if len(records) >= 4 else records[1:] or records
    tokens_per_s = sum(r["tokens_per_s"] for r in steady) / len(steady)
    model = out["model"]
    flops = flops_per_token(model, loader_config.seq_len)
    mfu = flops * tokens_per_s / args.peak_flops
    result = {
        "code": code_version(), "date": time.strftime("%Y-%m-%d"), "device": args.device, "gpu": gpu,
        "torch": torch.__version__, "cpus": os.cpu_count(), "compile": compile_model,
        "model": args.model, "shape": dict(zip(("d_model", "n_layers", "n_heads", "d_ff"), MODEL_SIZES[args.model])),
        "vocab_size": tokenizer.vocab_size, "vocab_size_asked": args.vocab_size,
        "parameters": count_parameters(model), "flops_per_token": flops,
        "loader_config": asdict(loader_config), "num_workers": args.num_workers, "loader_check": loader,
        "steps": out["step"], "stopped_by_timer": out["stopped"], "train_wall_s": round(train_wall, 1),
        "windows": [{k: r[k] for k in ("step", "tokens_per_s", "loss", "elapsed_s")} for r in records],
        "steady_windows": len(steady), "tokens_per_s": round(tokens_per_s),
        "peak_flops": args.peak_flops, "model_flops_per_s": round(flops * tokens_per_s), "mfu": round(mfu, 4),
        "loader_over_model": round(loader["tokens_per_s"] / tokens_per_s, 2) if loader else None,
        "max_memory_allocated_gib": round(torch.cuda.max_memory_allocated() / 2 ** 30, 1) if cuda else None,
        "total_wall_s": round(time.perf_counter() - STARTED, 1),
    }
    os.makedirs(os.path.dirname(json_path), exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    if os.path.isdir(os.environ.get("OUT", "")):
        shutil.copy(json_path, os.environ["OUT"])
        shutil.copy(run_dir / "metrics.jsonl", os.path.join(os.environ["OUT"], "gpu_train-metrics.jsonl"))
    print(f"{args.model}: {result['parameters']:,} parameters (vocab {tokenizer.vocab_size:,}), "
          f"{flops / 1e6:,.0f} MFLOP/token; {out['step']} steps in {train_wall:.0f} s, compile={compile_model}")
    print(f"tokens/s {tokens_per_s:,.0f} (mean of {len(steady)} windows of {args.log_every} steps); "
          f"model FLOP/s {flops * tokens_per_s / 1e12:,.1f} T; MFU {mfu:.1%} of {args.peak_flops / 1e12:,.0f} TFLOP/s"
          + (" (aim ≥ 40 %)" if cuda else " (CPU dry run: MFU against a GPU peak means nothing)"))
    if loader:
        print(f"loader: {loader['tokens_per_s']:,} tokens/s with {args.num_workers} workers = "
              f"{result['loader_over_model']:.1f}× what training consumed")
    print(f"wrote {os.path.relpath(json_path, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
