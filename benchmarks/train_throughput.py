"""Training throughput on this machine's CPU: can the streaming loader keep up with the model?

    .venv/bin/python benchmarks/train_throughput.py                       # ~2.5 min on 2 cores
    .venv/bin/python benchmarks/train_throughput.py --build BUILD_DIR     # reuse a build of the sample

Input: the bundled sample (`polycorp build sample/sample.warc.gz`, ~40 s; reused from
benchmarks/work/train_sample or --build when it holds a manifest.json), one SentencePiece
tokenizer trained on it (`training.tokenizer.train_tokenizer`, 8 k pieces), and the build's token-id
shards made with that tokenizer (`pipelines.tokenize.run_tokenize`, what `polycorp tokenize
--tokenizer` runs: default runner, timed; rewritten every run). Every figure uses the
same `LoaderConfig` (that of `polycorp train`: the defaults, seq_len 512, 16 examples a batch) and
counts tokens as the training loop does (`training.loop._tokens`: the model's input positions,
padding excluded), so the figures divide into each other:

1. loader tokens/s: `StreamingLoader` with num_workers 0 (in the main process), 1 and 2, batches
   timed after a warm-up (the workers' start and first row groups); per worker = total / workers;
   once from the build's text (the loader encodes) and once from its token-id shards (the loader
   reads stored ids: the same batches), and the ratio tokens ÷ text per worker count; with
   workers also the tokens they made per CPU-second of the worker processes (what a worker makes
   per core, whether or not the main process, which receives every batch, is the limit);
2. model tokens/s: forward + backward + clipping + AdamW step of `Objectives` (all three losses, as
   the loop computes them) for the "tiny" and "small" `MODEL_SIZES`, on batches fetched beforehand
   into a list, so nothing but the model is timed;
3. end-to-end tokens/s of `training.loop.train()` itself ("tiny", its default one loader worker),
   the mean of metrics.jsonl's `tokens_per_s` over its logging windows but the first (which holds
   the worker's start);
4. ratios: loader ÷ model (> 1: the loader is not the bottleneck; by how much) and end-to-end ÷
   model alone (what feeding the model costs it: on 2 cores a loader worker takes CPU from torch).

Each phase records `other_cores`: CPU used on the machine meanwhile by anything but this process
and its children (/proc/stat minus getrusage), in cores. Another job on the machine (a test run)
lowers every figure; compare runs only where it is ~0.

Prints a table; writes benchmarks/results/train_throughput.json (benchmarks/work/
train_throughput-last.json with --quick).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)  # benchmarks/ as a folder of scripts sharing benchlib
sys.path.insert(0, ROOT)
from benchlib import code_version, machine_busy_s  # noqa: E402

import torch  # noqa: E402

from training.data import LoaderConfig, StreamingDataset, StreamingLoader  # noqa: E402
from training.loop import MODEL_SIZES, Objectives, TrainConfig, _tokens, make_optimizer, model_config, train  # noqa: E402
from training.model import DecoderLM, combined_loss, count_parameters, flops_per_token  # noqa: E402
from training.tokenizer import Tokenizer, train_tokenizer  # noqa: E402

WORK = os.path.join(HERE, "work", "train_throughput")
SAMPLE_BUILD = os.path.join(HERE, "work", "train_sample")
RESULTS = os.path.join(HERE, "results", "train_throughput.json")
QUICK_RESULTS = os.path.join(HERE, "work", "train_throughput-last.json")


# --- the corpus and tokenizer ------------------------------------------------------------------

def ensure_build(build_dir: str) -> dict:
    """The sample's build at `build_dir`, built unless it already holds a manifest.json."""
    manifest = Path(build_dir) / "manifest.json"
    info = {"path": os.path.relpath(build_dir, ROOT), "built_now": False}
    if not manifest.exists():
        print(f"building the sample into {build_dir} (~40 s) ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pipelines.cli", "build", os.path.join(ROOT, "sample", "sample.warc.gz"),
                        "--out", build_dir, "--overwrite", "--quiet"], cwd=ROOT, check=True)
        info.update(built_now=True, build_wall_s=round(time.perf_counter() - t0, 1))
    shards = json.loads(manifest.read_text())["shards"]
    info["docs_rows"] = sum(s["rows"] for s in shards if s["kind"] == "docs")
    info["bitext_rows"] = sum(s["rows"] for s in shards if s["kind"] == "bitext")
    return info


def ensure_tokenizer(build_dir: str, path: str, vocab_size: int) -> Tokenizer:
    if os.path.exists(path):
        return Tokenizer(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return train_tokenizer(build_dir, path, vocab_size=vocab_size)


def make_tokens(build_dir: str, tokenizer: Tokenizer, out: str) -> dict:
    """The build's token-id shards at `out` (rewritten), as `polycorp tokenize --tokenizer` makes them."""
    from pipelines.tokenize import plan_tokenize, run_tokenize  # Beam: not needed by gpu_train.py's imports

    record = {"path": os.path.relpath(out, ROOT)}
    with phase(record):
        manifest = run_tokenize(plan_tokenize(build_dir, out, tokenizer.path, overwrite=True), [])
    shards = manifest["shards"]
    source = {s["path"]: s["bytes"] for s in json.loads((Path(build_dir) / "manifest.json").read_text())["shards"]}
    record.update(shards=len(shards), rows=sum(s["rows"] for s in shards), tokens=sum(s["tokens"] for s in shards),
                  bytes=sum(s["bytes"] for s in shards), source_bytes=sum(source[s["path"]] for s in shards))
    record["tokens_per_s"] = round(record["tokens"] / record["phase_wall_s"])
    return record


# --- measuring ---------------------------------------------------------------------------------

def own_cpu_s() -> float:
    """CPU of this process and of its waited-for children (loader workers once joined, the build)."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


@contextmanager
def phase(record: dict):
    """Adds wall_s, own_cores and other_cores (CPU of anything else on the machine) to `record`."""
    busy0, own0, t0 = machine_busy_s(), own_cpu_s(), time.perf_counter()
    yield record
    wall = time.perf_counter() - t0
    own = own_cpu_s() - own0
    record.update(phase_wall_s=round(wall, 2), own_cores=round(own / wall, 2),
                  other_cores=round(max(0.0, machine_busy_s() - busy0 - own) / wall, 2))


def cpu_s(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def loader_throughput(dataset: StreamingDataset, num_workers: int, batches: int, warmup_per_worker: int) -> dict:
    """Tokens/s of the batches a StreamingLoader yields, after `warmup_per_worker` batches per worker;
    with workers also what they make per CPU-second of their own (all batches they handed over, the
    warm-up's included, over the CPU of the worker processes): their rate were the main process,
    which receives every batch from them, never the limit."""
    pad = dataset.tokenizer.pad_id
    record = {"num_workers": num_workers}
    main0, workers0 = cpu_s(resource.RUSAGE_SELF), cpu_s(resource.RUSAGE_CHILDREN)
    with phase(record):
        stream = iter(StreamingLoader(dataset, num_workers=num_workers))
        warm_tokens = sum(_tokens(next(stream), pad) for _ in range(warmup_per_worker * max(1, num_workers)))
        tokens = positions = 0
        t0 = time.perf_counter()
        for _ in range(batches):
            batch = next(stream)
            tokens += _tokens(batch, pad)
            positions += sum(t.numel() for part in batch.values() for k, t in part.items() if k.endswith("_ids"))
        seconds = time.perf_counter() - t0
        stream.close()  # the DataLoader's workers are joined, so their CPU counts as ours
    workers_cpu = cpu_s(resource.RUSAGE_CHILDREN) - workers0
    record.update(batches=batches, tokens=tokens, padding_share=round(1 - tokens / positions, 4),
                  seconds=round(seconds, 3), tokens_per_s=round(tokens / seconds),
                  tokens_per_s_per_worker=round(tokens / seconds / max(1, num_workers)),
                  main_cpu_s=round(cpu_s(resource.RUSAGE_SELF) - main0, 2), workers_cpu_s=round(workers_cpu, 2))
    if num_workers:
        record["worker_tokens_per_cpu_s"] = round((warm_tokens + tokens) / workers_cpu)
    return record


def prefetch(dataset: StreamingDataset, n: int) -> list[dict]:
    stream = iter(StreamingLoader(dataset, num_workers=0))
    return [next(stream) for _ in range(n)]


def model_throughput(size: str, tokenizer: Tokenizer, loader_config: LoaderConfig, batches: list[dict],
                     warmup: int, steps: int) -> dict:
    """Training tokens/s of one model size on batches already in memory: the model's consumption."""
    config = TrainConfig(model=size)
    torch.manual_seed(config.seed)
    model = DecoderLM(model_config(config, tokenizer.vocab_size, loader_config, tokenizer.pad_id))
    objectives = Objectives(model, tokenizer.sep_id, tokenizer.pad_id, config.temperature)
    optimizer = make_optimizer(model, config, fused=False)
    model.train()

    def step(batch: dict) -> None:  # what one step of training.loop.train does on CPU (grad_accum 1)
        losses = objectives(batch)
        loss = combined_loss({k: v for k, v in losses.items() if k in config.weights}, config.weights)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        float(loss.detach())

    for batch in batches[:warmup]:
        step(batch)
    record = {"model": size, "shape": dict(zip(("d_model", "n_layers", "n_heads", "d_ff"), MODEL_SIZES[size])),
              "parameters": count_parameters(model),
              "flops_per_token": flops_per_token(model, loader_config.seq_len)}
    timed = [batches[warmup + i % (len(batches) - warmup)] for i in range(steps)]
    with phase(record):
        t0 = time.perf_counter()
        for batch in timed:
            step(batch)
        seconds = time.perf_counter() - t0
    tokens = sum(_tokens(b, tokenizer.pad_id) for b in timed)
    record.update(steps=steps, tokens=tokens, seconds=round(seconds, 3), s_per_step=round(seconds / steps, 3),
                  tokens_per_s=round(tokens / seconds), flops_per_s=round(tokens / seconds * record["flops_per_token"]))
    return record


def end_to_end(build_dir: str, tokenizer: Tokenizer, loader_config: LoaderConfig, size: str, steps: int,
               log_every: int) -> dict:
    """tokens/s that `train()` itself logs (metrics.jsonl), its first window (worker start) left out."""
    run_dir = Path(WORK) / f"run-{size}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    shutil.copy(tokenizer.path, run_dir / "tokenizer.model")  # train() reuses it instead of training one
    config = TrainConfig(model=size, steps=steps, log_every=log_every, checkpoint_every=10 ** 9)
    record = {"model": size, "num_workers": config.num_workers, "steps": steps, "log_every": log_every}
    with phase(record):
        train(build_dir, run_dir, config, loader_config, device="cpu", quiet=True)
    windows = [json.loads(line)["tokens_per_s"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    steady = windows[1:] or windows
    record.update(windows_tokens_per_s=[round(w) for w in windows], tokens_per_s=round(sum(steady) / len(steady)))
    return record


# --- the run -----------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=SAMPLE_BUILD, help="a build of the sample (built there if absent)")
    ap.add_argument("--vocab-size", type=int, default=8000)
    ap.add_argument("--loader-batches", type=int, default=1000, help="batches timed per worker count")
    ap.add_argument("--tiny-steps", type=int, default=20)
    ap.add_argument("--small-steps", type=int, default=8)
    ap.add_argument("--e2e-steps", type=int, default=60)
    ap.add_argument("--quick", action="store_true", help="a few batches and steps; writes to benchmarks/work/")
    args = ap.parse_args()
    if args.quick:
        args.loader_batches, args.tiny_steps, args.small_steps, args.e2e_steps = 20, 2, 1, 6

    t_start, busy_start, own_start = time.perf_counter(), machine_busy_s(), own_cpu_s()
    print(f"polycorp {code_version()}; torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} CPUs", file=sys.stderr, flush=True)
    build = ensure_build(args.build)
    tokenizer = ensure_tokenizer(args.build, os.path.join(WORK, f"tokenizer-{args.vocab_size}.model"), args.vocab_size)
    loader_config = LoaderConfig()
    dataset = StreamingDataset(args.build, tokenizer, loader_config)
    tokens = make_tokens(args.build, tokenizer, os.path.join(WORK, "tokens"))
    print(f"  tokenize: {tokens['tokens']:,} tokens in {tokens['phase_wall_s']} s", file=sys.stderr, flush=True)
    from_tokens = StreamingDataset(args.build, tokenizer, loader_config, tokens_dir=os.path.join(WORK, "tokens"))

    loader, loader_tokens = [], []
    for workers in (0, 1, 2):
        for rows, source, name in ((loader, dataset, "text"), (loader_tokens, from_tokens, "token shards")):
            rows.append(loader_throughput(source, workers, args.loader_batches, warmup_per_worker=4))
            print(f"  loader from {name}, {workers} workers: {rows[-1]['tokens_per_s']:,} tokens/s",
                  file=sys.stderr, flush=True)
        loader_tokens[-1]["over_text"] = round(loader_tokens[-1]["tokens_per_s"] / loader[-1]["tokens_per_s"], 2)
    warmup = 2
    batches = prefetch(dataset, warmup + 8)
    models = {}
    for size, steps in (("tiny", args.tiny_steps), ("small", args.small_steps)):
        models[size] = model_throughput(size, tokenizer, loader_config, batches, warmup, steps)
        print(f"  model {size}: {models[size]['tokens_per_s']:,} tokens/s", file=sys.stderr, flush=True)
    e2e = end_to_end(args.build, tokenizer, loader_config, "tiny", args.e2e_steps, log_every=max(1, args.e2e_steps // 6))
    print(f"  train() tiny: {e2e['tokens_per_s']:,} tokens/s", file=sys.stderr, flush=True)

    for row in loader + loader_tokens:
        row["over_model"] = {size: round(row["tokens_per_s"] / m["tokens_per_s"], 1) for size, m in models.items()}
    e2e["over_model_alone"] = round(e2e["tokens_per_s"] / models["tiny"]["tokens_per_s"], 3)
    wall = time.perf_counter() - t_start
    result = {
        "code": code_version(), "date": time.strftime("%Y-%m-%d"), "quick": args.quick,
        "machine": {"cpus": os.cpu_count(), "torch": torch.__version__, "torch_threads": torch.get_num_threads()},
        "build": build, "tokenizer_vocab_size": tokenizer.vocab_size,
        "loader_config": asdict(loader_config), "composition": dataset.composition,
        "tokenize": tokens, "loader": loader, "loader_tokens": loader_tokens, "model": models, "end_to_end": e2e,
        "run": {"wall_s": round(wall, 1),
                "machine_busy_cores": round((machine_busy_s() - busy_start) / wall, 2),
                "other_cores": round(max(0.0, machine_busy_s() - busy_start - (own_cpu_s() - own_start)) / wall, 2)},
    }
    path = QUICK_RESULTS if args.quick else RESULTS
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print_table(result)
    print(f"wrote {os.path.relpath(path, ROOT)}")
    return 0


def print_table(r: dict) -> None:
    c, m = r["loader_config"], r["model"]
    comp = ", ".join(f"{n} {k}" for k, n in r["composition"].items() if n)
    print(f"loader (seq_len {c['seq_len']}, pair_len {c['pair_len']}, {c['batch_size']} examples a batch: {comp}); "
          f"tokens = model inputs without padding ({r['loader'][0]['padding_share']:.0%} of positions are padding)")
    print(f"  {'source':<8}{'workers':<16}{'tokens/s':>10}{'per worker':>12}{'÷ text':>8}{'÷ tiny':>9}{'÷ small':>9}"
          f"{'worker tok/CPU-s':>18}{'other cores':>13}")
    for source, rows in (("text", r["loader"]), ("tokens", r["loader_tokens"])):
        for row in rows:
            name = f"{row['num_workers']}" + (" (in-process)" if row["num_workers"] == 0 else "")
            over_text = f"{row['over_text']:>7.2f}×" if "over_text" in row else f"{'':>8}"
            per_cpu = f"{row['worker_tokens_per_cpu_s']:>18,}" if "worker_tokens_per_cpu_s" in row else f"{'':>18}"
            print(f"  {source:<8}{name:<16}{row['tokens_per_s']:>10,}{row['tokens_per_s_per_worker']:>12,}{over_text}"
                  f"{row['over_model']['tiny']:>8.1f}×{row['over_model']['small']:>8.1f}×{per_cpu}{row['other_cores']:>13.2f}")
    t = r["tokenize"]
    print(f"token-id shards (run_tokenize, default runner): {t['shards']} shards, {t['rows']:,} rows, {t['tokens']:,} "
          f"tokens in {t['phase_wall_s']} s ({t['tokens_per_s']:,} tokens/s, {t['own_cores']:.2f} cores); "
          f"{t['bytes'] / 2 ** 20:.1f} MiB against {t['source_bytes'] / 2 ** 20:.1f} MiB of docs + bitext shards")
    print(f"model training on CPU, batches in memory (forward + backward + AdamW), "
          f"{r['machine']['torch_threads']} torch threads")
    print(f"  {'model':<8}{'parameters':>12}{'FLOPs/token':>13}{'tokens/s':>10}{'s/step':>8}{'GFLOP/s':>9}{'other cores':>13}")
    for size, row in m.items():
        print(f"  {size:<8}{row['parameters']:>12,}{row['flops_per_token'] / 1e6:>12.1f}M{row['tokens_per_s']:>10,}"
              f"{row['s_per_step']:>8.2f}{row['flops_per_s'] / 1e9:>9.1f}{row['other_cores']:>13.2f}")
    e = r["end_to_end"]
    print(f"train() end to end, {e['model']}, {e['num_workers']} loader worker: {e['tokens_per_s']:,} tokens/s "
          f"= {e['over_model_alone']:.2f} × the model alone (other cores {e['other_cores']:.2f})")
    one = next(row for row in r["loader"] if row["num_workers"] == 1)
    one_tokens = next(row for row in r["loader_tokens"] if row["num_workers"] == 1)
    print(f"one loader worker feeds {one['over_model']['tiny']:.0f}× what tiny consumes, "
          f"{one['over_model']['small']:.0f}× what small consumes from text, {one_tokens['over_model']['tiny']:.0f}× "
          f"and {one_tokens['over_model']['small']:.0f}× from token shards; whole run {r['run']['wall_s']:.0f} s, "
          f"machine busy {r['run']['machine_busy_cores']:.2f} cores, other jobs {r['run']['other_cores']:.2f}")


if __name__ == "__main__":
    sys.exit(main())
