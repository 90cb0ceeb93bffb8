"""The `polycorp` command line. Exit 0 on success; otherwise one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time

from transforms.config import ConfigError, load_config


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="polycorp", description="Multilingual corpus builder.")
    sub = parser.add_subparsers(dest="command", required=True)

    build = sub.add_parser(
        "build", help="WARC/WET files → language-partitioned Parquet shards",
        description="Build a corpus. Unrecognised --options are passed to Apache Beam "
                    "(e.g. --runner, --direct_running_mode, --direct_num_workers).")
    build.add_argument("inputs", nargs="+", metavar="INPUT",
                       help="WARC/WET files or globs (.warc, .warc.gz), or a crawl output directory")
    build.add_argument("--out", required=True, help="output directory (must not hold a build)")
    build.add_argument("--cache", help="staging cache directory (default: OUT.cache beside the output)")
    build.add_argument("--config", help="TOML file overriding transforms/resources/default_config.toml")
    build.add_argument("--overwrite", action="store_true", help="replace an existing build at --out")
    build.add_argument("--previous", metavar="BUILD_DIR",
                       help="an earlier build: documents duplicating (exactly or near) one of its "
                            "documents are removed and recorded against it (scheduled re-crawls)")
    build.add_argument("--print-config", action="store_true", help="print the effective config and exit")
    build.add_argument("--quiet", action="store_true", help="print nothing but errors")

    crawl = sub.add_parser(
        "crawl", help="fetch pages from seed URLs politely into WARC files",
        description="Crawl from seed URLs (robots.txt, per-host delay, limits). Unrecognised "
                    "--options are passed to Apache Beam.")
    crawl.add_argument("seeds", nargs="+", metavar="SEED_URL")
    crawl.add_argument("--out", required=True, help="output directory: warc/ and crawl_log.parquet")
    crawl.add_argument("--max-pages", type=int, default=1000, help="pages to fetch in all (1000)")
    crawl.add_argument("--max-pages-per-host", type=int, default=1000, help="pages per host (1000)")
    crawl.add_argument("--max-depth", type=int, default=3, help="link hops from a seed (3)")
    crawl.add_argument("--delay", type=float, default=1.0,
                       help="seconds between requests to one host (1.0; robots Crawl-delay may raise it)")
    crawl.add_argument("--same-host", action="store_true", help="only follow links to the seeds' hosts")
    crawl.add_argument("--include", action="append", default=[], metavar="REGEX",
                       help="only crawl URLs matching one of these (repeatable)")
    crawl.add_argument("--exclude", action="append", default=[], metavar="REGEX",
                       help="never crawl URLs matching these (repeatable)")
    crawl.add_argument("--allow-private", action="store_true",
                       help="allow loopback/private/link-local addresses (e.g. a local test server)")
    crawl.add_argument("--user-agent", help="User-Agent header and robots.txt agent")
    crawl.add_argument("--timeout", type=float, default=30.0, help="read timeout in seconds (30)")
    crawl.add_argument("--max-bytes", type=int, default=5_000_000,
                       help="largest body kept, decoded (5,000,000); longer ones are cut and logged")
    crawl.add_argument("--retries", type=int, default=3, help="retries on 429/5xx/network errors (3)")
    crawl.add_argument("--max-redirects", type=int, default=5, help="redirect hops per URL (5)")
    crawl.add_argument("--warc-max-bytes", type=int, default=1 << 30,
                       help="roll WARC files at this size (1 GiB)")
    crawl.add_argument("--resume", action="store_true",
                       help="continue the crawl in --out: URLs already fetched are not fetched again")
    crawl.add_argument("--quiet", action="store_true", help="no progress line; the summary and errors only")

    report = sub.add_parser("report", help="summarise a build and (re)write its report.html, plots and audit pages")
    report.add_argument("build", help="a build directory (with manifest.json)")

    train = sub.add_parser(
        "train", help="train a tokenizer and a multilingual model on a build's shards",
        description="Train SentencePiece + a decoder-only Transformer (language modelling, translation, "
                    "retrieval) on a build. Multi-process: torchrun --nproc_per_node N -m pipelines.cli train ...")
    train.add_argument("--data", required=True, metavar="BUILD_DIR", help="a finished build (with manifest.json)")
    train.add_argument("--out", required=True, metavar="RUN_DIR", help="run directory: tokenizer, checkpoints, metrics")
    train.add_argument("--tokens", metavar="TOKENS_DIR",
                       help="token-id shards of the build (polycorp tokenize): read instead of its text, with their "
                            "tokenizer (the same batches; with --resume, default: the run's own)")
    train.add_argument("--steps", type=int, help="optimizer steps in all (1000)")
    train.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="auto: cuda if present")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its newest checkpoint")
    train.add_argument("--config", help="TOML file with [train] and [loader] tables (keys: training/default_train.toml); "
                                        "flags override it")
    train.add_argument("--print-config", action="store_true", help="print the effective settings and exit")
    train.add_argument("--model", help="model size: tiny, small, base, 100m (tiny)")
    train.add_argument("--vocab-size", type=int, help="SentencePiece vocabulary (8000)")
    train.add_argument("--batch-size", type=int, help="examples per batch and rank, all kinds (16)")
    train.add_argument("--seq-len", type=int, help="tokens per language-modelling window (512)")
    train.add_argument("--mt-len", type=int, help="tokens per translation example, at most --seq-len (256)")
    train.add_argument("--pair-len", type=int, help="tokens per side of a retrieval pair (128)")
    train.add_argument("--bitext-share", type=float, help="share of a batch from bitext (0.25)")
    train.add_argument("--pair-share", type=float, help="share of the bitext examples used for retrieval (0.5)")
    train.add_argument("--alpha", type=float, help="language sampling temperature, p ∝ n^α (0.3)")
    train.add_argument("--heldout-fraction", type=float, help="documents kept out for eval (0.05)")
    train.add_argument("--lr", type=float, help="peak learning rate (1e-3)")
    train.add_argument("--warmup", type=int, help="warmup steps (50)")
    train.add_argument("--grad-accum", type=int, help="micro-batches per optimizer step (1)")
    train.add_argument("--num-workers", type=int, help="data loader worker processes per rank (1)")
    train.add_argument("--checkpoint-every", type=int, help="steps between checkpoints (200)")
    train.add_argument("--log-every", type=int, help="steps between progress lines (10)")
    train.add_argument("--weights", help="objective weights λ, e.g. lm=1,mt=1,retrieval=0.5 (an objective not named "
                                         "gets 0)")
    train.add_argument("--compile", action="store_true", default=None, help="torch.compile the model")
    train.add_argument("--seed", type=int)
    train.add_argument("--quiet", action="store_true", help="no progress lines")

    tokenize = sub.add_parser(
        "tokenize", help="write token-id shards of a build, so training jobs do not tokenize",
        description="Tokenize a build's docs and bitext shards once (a Beam pipeline, a shard per element) into "
                    "token-id shards at the same paths, for polycorp train --tokens. Without --tokenizer, first "
                    "trains the tokenizer polycorp train would (--config and the flags below as for train). "
                    "Unrecognised --options are passed to Apache Beam (e.g. --direct_running_mode=multi_processing "
                    "--direct_num_workers=N).")
    tokenize.add_argument("build", metavar="BUILD_DIR", help="a finished build (with manifest.json)")
    tokenize.add_argument("--out", required=True, metavar="TOKENS_DIR",
                          help="output directory (must be empty or absent; --overwrite replaces token shards)")
    tokenize.add_argument("--tokenizer", metavar="MODEL", help="a trained SentencePiece model (e.g. RUN_DIR/tokenizer.model)")
    tokenize.add_argument("--config", help="TOML file with [train] and [loader] tables, as for polycorp train")
    tokenize.add_argument("--vocab-size", type=int, help="SentencePiece vocabulary of the tokenizer trained (8000)")
    tokenize.add_argument("--alpha", type=float, help="language sampling temperature of its sample (0.3)")
    tokenize.add_argument("--heldout-fraction", type=float, help="documents kept out of its sample (0.05)")
    tokenize.add_argument("--seed", type=int)
    tokenize.add_argument("--overwrite", action="store_true", help="replace existing token shards at --out")
    tokenize.add_argument("--quiet", action="store_true", help="print nothing but the summary and errors")

    evaluate = sub.add_parser("eval", help="evaluate a run on held-out documents and pairs: eval.json + plots")
    evaluate.add_argument("--run", required=True, metavar="RUN_DIR")
    evaluate.add_argument("--data", metavar="BUILD_DIR", help="the build (default: the one the run trained on)")
    evaluate.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    evaluate.add_argument("--chrf-language-pairs", type=int, default=10,
                          help="translate (chrF) this many language pairs, those with most held-out pairs (10)")

    demo = sub.add_parser("demo", help="build the bundled multilingual sample end to end")
    demo.add_argument("--out", default="demo-out", help="directory for the demo's outputs")
    demo.add_argument("--train-steps", type=int, default=1000,
                      help="steps of the tiny model trained on the corpus (1000, ~3 minutes on 2 CPU cores; 0: no training)")
    return parser


def _summary(out_dir: str, elapsed: float) -> str:
    from transforms import fs

    stats = fs.read_json(fs.join(out_dir, "stats.json"))
    lines = [
        f"built {out_dir} in {elapsed:.1f} s: {stats['input_records']} input records → "
        f"{stats['kept']} kept, {sum(stats['filtered'].values())} filtered, "
        f"{sum(stats['duplicates'].values())} duplicates, {sum(stats['rejected'].values())} rejected",
        f"  {'lang':<6} {'kept':>6} {'chars':>10}",
    ]
    for lang, row in sorted(stats["per_language"].items(), key=lambda kv: -kv[1]["kept"]):
        if row["kept"]:
            lines.append(f"  {lang:<6} {row['kept']:>6} {row['chars']:>10}")
    for what in ("filtered", "duplicates", "rejected"):
        if stats[what]:
            lines.append(f"  {what}: " + ", ".join(f"{k}={v}" for k, v in stats[what].items()))
    lines += _bitext_lines(stats.get("bitext"))
    return "\n".join(lines)


def _bitext_lines(bitext: dict | None) -> list[str]:
    """Sentence pairs per language pair (kept of candidates), document pairs by evidence."""
    if not bitext or not bitext["per_pair"]:
        return []
    lines = [f"  bitext: {bitext['document_pairs']} document pairs → {bitext['candidates']} sentence pairs aligned "
             f"→ {bitext['kept']} kept, {sum(bitext['filtered'].values())} filtered, {bitext['duplicates']} duplicates",
             f"  {'pair':<7} {'docs':>5} {'kept':>7} {'aligned':>8}  document evidence"]
    for pair, row in sorted(bitext["per_pair"].items(), key=lambda kv: -kv[1]["kept"]):
        evidence = ", ".join(f"{k}={v}" for k, v in row["document_pairs"].items())
        lines.append(f"  {pair:<7} {sum(row['document_pairs'].values()):>5} {row['kept']:>7} {row['candidates']:>8}  {evidence}")
    if bitext["filtered"]:
        lines.append("  bitext filtered: " + ", ".join(f"{k}={v}" for k, v in bitext["filtered"].items()))
    return lines


def cmd_report(args, beam_args: list[str]) -> int:
    """What a build holds, from its stats.json: documents per language, outcomes, bitext per pair."""
    from pipelines.build import BuildError
    from transforms import fs

    manifest_path = fs.join(args.build, "manifest.json")
    if not fs.exists(manifest_path):
        raise BuildError(f"{args.build} is not a complete build (no manifest.json)")
    text = _summary(args.build, 0.0).split("\n", 1)
    print(text[0].replace(" in 0.0 s", ""))
    if len(text) > 1:
        print(text[1])
    from transforms.report import write_report

    path = write_report(args.build, fs.read_json(manifest_path))
    print(f"report: {path} (plots/, audit/<lang>.html)")
    return 0


def cmd_build(args, beam_args: list[str]) -> int:
    from pipelines.build import plan_build, run_build

    config = load_config(args.config)
    if args.print_config:
        print(json.dumps(config.to_dict(), indent=2, ensure_ascii=False))
        return 0
    plan = plan_build(args.inputs, args.out, args.cache, config, overwrite=args.overwrite,
                      previous=args.previous)
    if not args.quiet:
        reused = len(plan.inputs) - len(plan.to_stage)
        print(f"building {len(plan.inputs)} input file(s) ({reused} from staging cache) → {plan.out_dir}",
              file=sys.stderr)
    start = time.monotonic()
    with _build_progress(plan, enabled=not args.quiet, beam_args=beam_args):
        run_build(plan, beam_args, args.config)
    if not args.quiet:
        print(_summary(plan.out_dir, time.monotonic() - start))
    unreadable = _unreadable_inputs(plan.out_dir)
    if unreadable:  # even with --quiet: input that was not built is what a scheduled job must hear about
        print(f"polycorp build: warning: {len(unreadable)} input file(s) could not be read and were skipped "
              f"(recorded in rejects/): " + "; ".join(unreadable), file=sys.stderr)
    return 0


def _unreadable_inputs(out_dir: str) -> list[str]:
    """'file (error: message)' for each input file the build could not open or that is not a WARC."""
    import pyarrow.parquet as pq

    from transforms import fs

    found = []
    for path in fs.list_files(fs.join(out_dir, "rejects")):
        if not path.endswith(".parquet"):
            continue
        with fs.open_read(path) as f:
            rows = pq.read_table(f, columns=["source", "stage", "error", "message"]).to_pylist()
        for r in rows:
            whole_file = r["source"].endswith("@0") and r["stage"] == "read"
            if whole_file and (r["error"] == "not_warc" or r["message"].startswith("cannot open input")):
                found.append(f"{r['source'][:-2]} ({r['error']}: {r['message'][:120]})")
    return found


def _build_progress(plan, enabled: bool, beam_args: list[str]):
    """A live line while a build runs: records read of the inputs being staged (bytes give the
    ETA), errors, then document pairs aligned and shards written."""
    from transforms.progress import build_line
    from transforms.read import input_size

    total = sum(input_size(i.path) for i in plan.to_stage)
    return _progress(lambda counts, elapsed: build_line(counts, elapsed, total), enabled, beam_args)


@contextlib.contextmanager
def _progress(line, enabled: bool, beam_args: list[str]):
    """The progress line (when enabled), and stderr of Beam's local worker processes (when the
    options start some) without their INFO lines."""
    from transforms.progress import ProgressReporter, quiet_worker_stderr, spawns_workers

    with quiet_worker_stderr(spawns_workers(beam_args)), ProgressReporter(line, enabled=enabled) as reporter:
        yield reporter


def cmd_crawl(args, beam_args: list[str]) -> int:
    from dataclasses import replace

    from pipelines.crawl import run_crawl
    from transforms.crawl import CrawlConfig
    from transforms.fetch import FetchConfig

    fetch_config = FetchConfig(read_timeout=args.timeout, max_bytes=args.max_bytes,
                               max_retries=args.retries, allow_private=args.allow_private)
    if args.user_agent:
        fetch_config = replace(fetch_config, user_agent=args.user_agent)
    config = CrawlConfig(
        fetch=fetch_config, delay=args.delay, max_pages=args.max_pages,
        max_pages_per_host=args.max_pages_per_host, max_depth=args.max_depth,
        max_redirects=args.max_redirects, same_host=args.same_host,
        include=tuple(args.include), exclude=tuple(args.exclude), warc_max_bytes=args.warc_max_bytes)
    start = time.monotonic()
    with _crawl_progress(config.max_pages, enabled=not args.quiet, beam_args=beam_args):
        summary = run_crawl(args.seeds, args.out, config, beam_args, resume=args.resume)
    print(f"crawled {args.out} in {time.monotonic() - start:.1f} s: {summary['urls_tried']} URLs tried, "
          f"{summary['fetched']} fetched ({summary['ok']} 2xx), {len(summary['warc_files'])} WARC file(s)")
    return 0


def _crawl_progress(max_pages: int, enabled: bool, beam_args: list[str]):
    from transforms.progress import crawl_line

    from pipelines.crawl import default_crawl_options

    return _progress(lambda counts, elapsed: crawl_line(counts, elapsed, max_pages), enabled,
                     default_crawl_options() + beam_args)  # the crawl's options, as run_crawl sees them


def cmd_demo(args, beam_args: list[str]) -> int:
    """The main job on the bundled sample: serve it as a website on 127.0.0.1, crawl it, build it."""
    import shutil

    from pipelines.build import plan_build, run_build
    from pipelines.crawl import run_crawl
    from pipelines.sample_site import DEMO_PORT, SampleSite
    from transforms.crawl import CrawlConfig
    from transforms.fetch import FetchConfig

    out = os.path.abspath(args.out)
    crawl_dir, corpus = os.path.join(out, "crawl"), os.path.join(out, "corpus")
    shutil.rmtree(crawl_dir, ignore_errors=True)  # the demo always starts from a fresh crawl
    start = time.monotonic()
    with SampleSite(prefer_port=DEMO_PORT) as site:
        taken = "" if site.base.endswith(f":{DEMO_PORT}") else (
            f" (port {DEMO_PORT} is taken, so URLs and the held-out documents differ from other demo runs)")
        print(f"serving the bundled sample at {site.base}/{taken} ; crawling it", file=sys.stderr)
        config = CrawlConfig(fetch=FetchConfig(allowed_addresses=("127.0.0.1",)), delay=0.0,
                             max_pages=5000, max_depth=6, same_host=True)
        with _crawl_progress(config.max_pages, enabled=True, beam_args=[]):
            summary = run_crawl([site.base + "/"], crawl_dir, config, [])
    print(f"crawled {crawl_dir} in {time.monotonic() - start:.1f} s: {summary['urls_tried']} URLs tried, "
          f"{summary['ok']} pages fetched, {len(summary['warc_files'])} WARC file(s)")
    plan = plan_build([crawl_dir], corpus, os.path.join(out, "cache"), load_config(), overwrite=True)
    start = time.monotonic()
    with _build_progress(plan, enabled=True, beam_args=beam_args):
        run_build(plan, beam_args)
    print(_summary(corpus, time.monotonic() - start))
    print(f"corpus: {corpus}/ (manifest.json, stats.json, docs/lang=*/, bitext/pair=*/, dups/, filtered/, "
          f"bitext_filtered/, rejects/)")
    if args.train_steps:
        _demo_train(corpus, os.path.join(out, "run"), args.train_steps)
    return 0


def _demo_train(corpus: str, run: str, steps: int) -> None:
    """A tiny model on the demo corpus (CPU unless a GPU is there), then its evaluation."""
    import shutil

    from training.data import LoaderConfig
    from training.evaluate import evaluate
    from training.loop import TrainConfig, train

    shutil.rmtree(run, ignore_errors=True)
    start = time.monotonic()
    print(f"training a tiny model for {steps} steps on {corpus} → {run}", file=sys.stderr)
    train(corpus, run, TrainConfig(steps=steps, model="tiny", vocab_size=4000, warmup=min(30, steps),
                                   checkpoint_every=max(steps // 2, 1), log_every=max(steps // 10, 1)),
          LoaderConfig(seq_len=128, pair_len=48, batch_size=24, bitext_share=0.5, heldout_fraction=0.1))
    result = evaluate(run, corpus, chrf_language_pairs=4, chrf_per_pair=8)
    print(f"trained and evaluated in {time.monotonic() - start:.1f} s; {run}/eval.json, one line per key:")
    for key, value in result.items():
        print(f"  {key}: {json.dumps(value, ensure_ascii=False)}")
    bpb, p_at_1, chance, chrf = (result[k] for k in ("bits_per_byte", "retrieval_p_at_1", "retrieval_chance", "chrf"))
    mean = lambda d: sum(d.values()) / max(len(d), 1)  # noqa: E731
    print(f"held-out: bits per byte {min(bpb.values(), default=0):.2f}–{max(bpb.values(), default=0):.2f} over "
          f"{len(bpb)} languages; retrieval P@1 mean {mean(p_at_1):.3f} over {len(p_at_1)} directions (chance "
          f"{mean(chance):.3f}); chrF mean {mean(chrf):.1f} over {len(chrf)} directions (a tiny model after minutes)")


def cmd_train(args, beam_args: list[str]) -> int:
    from training.loop import TrainError, config_from_args, train

    if beam_args:
        raise TrainError(f"unknown option {beam_args[0]} (see polycorp train --help)")
    if args.tokens and args.vocab_size is not None:
        raise TrainError("--vocab-size sets the tokenizer a run trains, and --tokens brings the one its token shards "
                         "were made with: drop --vocab-size")
    if args.weights:
        try:
            args.weights = {k.strip(): float(v) for k, v in (kv.split("=") for kv in args.weights.split(","))}
        except ValueError:
            raise TrainError(f"--weights {args.weights!r}: write name=value pairs, e.g. lm=1,mt=1,retrieval=0.5")
    options = {k: v for k, v in vars(args).items()
               if k not in ("data", "out", "tokens", "device", "resume", "quiet", "command", "print_config")}
    train_config, loader_config = config_from_args(argparse.Namespace(**options))
    if args.print_config:
        from dataclasses import asdict

        print(json.dumps({"train": asdict(train_config), "loader": asdict(loader_config)}, indent=2))
        return 0
    start = time.monotonic()
    if args.resume and os.environ.get("RANK", "0") == "0":  # once, not per torchrun rank
        print("polycorp train: resuming with the run's saved settings (flags other than --steps, --device and "
              "--tokens are ignored)", file=sys.stderr)
    result = train(args.data, args.out, train_config, loader_config, device=args.device, resume=args.resume,
                   quiet=args.quiet, steps=args.steps, tokens_dir=args.tokens)
    if result["rank"] == 0 and not args.quiet:
        how = "stopped (checkpointed) at" if result["stopped"] else "trained to"
        print(f"{how} step {result['step']} in {time.monotonic() - start:.1f} s: {args.out}/ "
              f"(config.json, tokenizer.model, metrics.jsonl, checkpoints/)", file=sys.stderr)
    return 0


def cmd_tokenize(args, beam_args: list[str]) -> int:
    from pipelines.tokenize import TokenizeError, plan_tokenize, run_tokenize
    from training.loop import config_from_args

    settings = {k: getattr(args, k) for k in ("config", "vocab_size", "alpha", "heldout_fraction", "seed")}
    given = [f"--{k.replace('_', '-')}" for k, v in settings.items() if v is not None]
    if args.tokenizer and given:
        raise TokenizeError(f"{given[0]} sets how a tokenizer is trained, and --tokenizer gives one: drop one of them")
    train_config, loader_config = config_from_args(argparse.Namespace(**settings))
    plan = plan_tokenize(args.build, args.out, args.tokenizer, overwrite=args.overwrite)
    if not args.quiet:
        how = f"with {args.tokenizer}" if args.tokenizer else f"training a {train_config.vocab_size}-piece tokenizer first"
        print(f"tokenizing {len(plan.shards)} shard(s) of {plan.build_dir} → {plan.out_dir} ({how})", file=sys.stderr)
    from transforms.progress import quiet_worker_stderr, spawns_workers

    start = time.monotonic()
    with quiet_worker_stderr(spawns_workers(beam_args)):
        manifest = run_tokenize(plan, beam_args, train_config, loader_config)
    shards = manifest["shards"]
    print(f"tokenized {plan.build_dir} → {plan.out_dir} in {time.monotonic() - start:.1f} s: {len(shards)} shards, "
          f"{sum(s['rows'] for s in shards):,} rows, {sum(s['tokens'] for s in shards):,} tokens")
    return 0


def cmd_eval(args, beam_args: list[str]) -> int:
    from training.evaluate import evaluate

    result = evaluate(args.run, args.data, device=args.device, chrf_language_pairs=args.chrf_language_pairs)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


COMMANDS = {"build": cmd_build, "crawl": cmd_crawl, "demo": cmd_demo, "report": cmd_report,
            "train": cmd_train, "tokenize": cmd_tokenize, "eval": cmd_eval}


def _quiet_beam_logging() -> None:
    """Our warnings and everyone's errors; Beam's info and warnings (some logged on the root logger
    at import time, e.g. about optional cloud clients) only with POLYCORP_BEAM_LOGS=1."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if os.environ.get("POLYCORP_BEAM_LOGS") == "1":
        return

    def keep(record: logging.LogRecord) -> bool:
        from_beam = "apache_beam" in record.pathname or record.name.startswith(("apache_beam", "absl"))
        return record.levelno >= logging.ERROR or not from_beam

    for handler in logging.getLogger().handlers:
        handler.addFilter(keep)


def main(argv: list[str] | None = None) -> int:
    args, beam_args = _build_parser().parse_known_args(argv)
    # Beam options: --name=value, --flag, or --name value
    unknown = [a for i, a in enumerate(beam_args) if not a.startswith("--")
               and not (i and beam_args[i - 1].startswith("--") and "=" not in beam_args[i - 1])]
    if unknown:
        print(f"polycorp: unexpected argument {unknown[0]!r}", file=sys.stderr)
        return 2
    _quiet_beam_logging()
    from transforms.fs import StorageError, configure

    try:
        rest = configure(beam_args)  # e.g. a FileSystem for a storage scheme, here as on workers
    except (ImportError, StorageError) as e:
        print(f"polycorp {args.command}: error: {e}", file=sys.stderr)
        return 2
    if args.command in ("train", "eval", "report"):  # no pipeline: only the plugins were for them
        beam_args = rest
    from training.data import DataError
    from training.loop import TrainError
    from training.tokenizer import TokenizerError

    errors: tuple[type[Exception], ...] = (ConfigError, TrainError, DataError, TokenizerError, StorageError)
    if args.command not in ("train", "eval"):  # those two also run where Beam is not installed (a GPU image)
        from pipelines.build import BuildError  # imports Beam: after logging is set up
        from pipelines.crawl import CrawlError
        from transforms.stats import InvariantError
        from transforms.tokenize import TokenizeError

        errors += (BuildError, CrawlError, InvariantError, TokenizeError)
    try:
        return COMMANDS[args.command](args, beam_args)
    except errors as e:
        print(f"polycorp {args.command}: error: {one_line(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"polycorp {args.command}: interrupted", file=sys.stderr)
        return 130


def one_line(error: Exception) -> str:
    """The error's message; one raised in a DataLoader worker comes back as "Caught X in DataLoader
    worker process N." with the worker's traceback: its own message is the traceback's last line."""
    text = str(error)
    if text.startswith("Caught ") and "Original Traceback" in text:
        last = text.strip().splitlines()[-1]
        return last.split(": ", 1)[1] if ": " in last else last
    return text


if __name__ == "__main__":
    sys.exit(main())
