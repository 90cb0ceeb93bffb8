"""Throughput of `polycorp build` vs datatrove's equivalent pipeline, on the same WARC file.

Run with the project venv from the repository root (sets up the datatrove venv if needed):

    .venv/bin/python benchmarks/build_vs_datatrove.py                 # full benchmark WARC
    .venv/bin/python benchmarks/build_vs_datatrove.py --limit 2000    # its first 2,000 responses
    .venv/bin/python benchmarks/build_vs_datatrove.py --warc other.warc.gz

What it measures, all on one core (single-process runners):

1. `polycorp build WARC` (FnApiRunner, the default) and datatrove's WarcReader → Trafilatura →
   LanguageFilter(lid.176) → ParquetWriter (LocalPipelineExecutor, tasks=1, workers=1), each as a
   subprocess: CPU seconds of the child and everything it waited for (user+sys, from
   getrusage(RUSAGE_CHILDREN) deltas), wall seconds, documents per CPU-second. Start-up cost is
   included; a run on a one-response WARC measures it, and "net" figures subtract it.
2. The language-ID stage inside a Beam pipeline (FnApiRunner) vs raw batched fastText prediction
   (`LanguageIdentifier.predict`, batches of 256) on the same kept texts from polycorp's output, in
   process CPU time (see `lid_benchmark`).
3. A projection to one Common Crawl dump (~3 billion pages) next to C4's published ~335 CPU-days.

Figures are printed and written to benchmarks/results/build_vs_datatrove.json.
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)  # benchmarks/ as a folder of scripts sharing benchlib
from benchlib import code_version  # noqa: E402
sys.path.insert(0, ROOT)
logging.getLogger().setLevel(logging.ERROR)  # Beam's import-time "apitools not found" warning

WORK = os.path.join(HERE, "work")
RESULTS = os.path.join(HERE, "results")
DEFAULT_WARC = os.path.join(WORK, "full.warc.gz")
PROJECT_PY = os.path.join(ROOT, ".venv", "bin", "python")
POLYCORP = os.path.join(ROOT, ".venv", "bin", "polycorp")
DT_VENV = os.path.join(HERE, ".venv-datatrove")
DT_PY = os.path.join(DT_VENV, "bin", "python")

CC_PAGES = 3_000_000_000  # one Common Crawl dump, roughly
CC_AVG_HTML_BYTES = 65_000  # ~60-70 KB average HTML payload (brief's figure; approximate)
C4_CPU_HOURS = 335 * 24  # C4's published ~335 CPU-days
LID_BATCH = 256


# ---------------------------------------------------------------------------------------------
# Input


def ensure_warc(path: str, default: bool) -> str:
    if os.path.exists(path):
        return path
    if not default:
        sys.exit(f"build_vs_datatrove: {path} not found")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    print(f"{path} is missing: making it with sample/make_sample.py --full (takes a while)", flush=True)
    subprocess.run([PROJECT_PY, os.path.join(ROOT, "sample", "make_sample.py"), "--full", path],
                   check=True, cwd=ROOT)
    return path


def cut_warc(src: str, n_responses: int, dst: str) -> str:
    """Copy the records of `src` up to (not including) its (n+1)-th response record to `dst`.

    The file is copied byte for byte (one gzip member per record), so both tools read the same
    bytes as in the full file."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    cut = None
    seen = 0
    with open(src, "rb") as f:
        for record in ArchiveIterator(f, parse_http=False, record_types=WarcRecordType.any_type):
            if record.record_type == WarcRecordType.response:
                if seen == n_responses:
                    cut = record.stream_pos
                    break
                seen += 1
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(src, "rb") as f, open(dst + ".part", "wb") as out:
        if cut is None:
            shutil.copyfileobj(f, out)
        else:
            remaining = cut
            while remaining:
                chunk = f.read(min(1 << 20, remaining))
                if not chunk:
                    break
                out.write(chunk)
                remaining -= len(chunk)
    os.replace(dst + ".part", dst)
    return dst


def warc_profile(path: str) -> dict:
    """Counts and sizes of the WARC's response records (HTTP bodies as polycorp reads them)."""
    from transforms.config import load_config
    from transforms.read import read_warc
    from transforms.records import RawRecord

    config = load_config().read
    responses = html = html_bytes = 0
    for result in read_warc(path, config):
        if isinstance(result, RawRecord):
            responses += 1
            if result.content_type in ("text/html", "application/xhtml+xml") and result.http_status == 200:
                html += 1
                html_bytes += len(result.payload)
    return {
        "path": os.path.relpath(path, ROOT),
        "file_bytes": os.path.getsize(path),
        "response_records_read": responses,
        "html_200_pages": html,
        "html_bytes": html_bytes,
        "avg_html_bytes": round(html_bytes / html) if html else 0,
    }


# ---------------------------------------------------------------------------------------------
# Subprocess timing


def timed_child(cmd: list[str], env: dict | None = None) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run `cmd`; returns (result, CPU seconds of it and its waited-for descendants, wall seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"build_vs_datatrove: {cmd[0]} … failed with exit code {proc.returncode}")
    return proc, cpu, wall


def run_polycorp(warc: str, out_dir: str) -> dict:
    cache = tempfile.mkdtemp(prefix="polycorp-bench-cache-")
    try:
        _, cpu, wall = timed_child([POLYCORP, "build", warc, "--out", out_dir, "--cache", cache,
                                    "--overwrite", "--quiet"])
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    with open(os.path.join(out_dir, "stats.json")) as f:
        stats = json.load(f)
    return {"documents": stats["input_records"], "kept": stats["kept"], "cpu_s": cpu, "wall_s": wall,
            "filtered": stats["filtered"], "duplicates": stats["duplicates"], "rejected": stats["rejected"]}


def ensure_datatrove_venv() -> None:
    """setup_datatrove.sh is idempotent (~0.02 s when the venv is up to date)."""
    subprocess.run(["bash", os.path.join(HERE, "setup_datatrove.sh")], check=True)


def run_datatrove(warc: str, out_dir: str) -> dict:
    logs = out_dir.rstrip("/") + "-logs"
    for d in (out_dir, logs):
        shutil.rmtree(d, ignore_errors=True)
    env = dict(os.environ, HF_ASSETS_CACHE=os.path.join(DT_VENV, "hf-assets"), HF_HUB_OFFLINE="1")
    proc, cpu, wall = timed_child(
        [DT_PY, os.path.join(HERE, "datatrove_pipeline.py"), warc, "--out", out_dir,
         "--logging-dir", logs, "--threshold", "0.5"], env=env)
    line = next(l for l in proc.stdout.splitlines() if l.startswith("DATATROVE_RESULT "))
    result = json.loads(line.split(" ", 1)[1])
    steps = result["steps"]

    def step(prefix):
        return next((v for k, v in steps.items() if prefix in k), {})

    reader, extractor, lid, writer = step("Warc"), step("Trafilatura"), step("Language"), step("Parquet")
    return {
        "documents": reader.get("documents", 0),
        "kept": lid.get("forwarded", 0),
        "cpu_s": cpu,
        "wall_s": wall,
        "extractor": {k: extractor.get(k, 0) for k in ("extracted", "forwarded", "dropped", "timeout",
                                                        "broken_process", "clean_error")},
        "language_filter": {k: lid.get(k, 0) for k in ("forwarded", "dropped")},
        "written": writer.get("total", 0),
        "steps": steps,
    }


# ---------------------------------------------------------------------------------------------
# Language ID: raw fastText vs the Beam stage


def load_kept_docs(out_dir: str, limit: int) -> list:
    import pyarrow.parquet as pq

    from transforms.records import Doc, from_table

    docs = []
    for path in sorted(glob.glob(os.path.join(out_dir, "docs", "lang=*", "*.parquet"))):
        docs.extend(from_table(pq.read_table(path), Doc))
    docs.sort(key=lambda d: d.id)  # ids are hashes: a language mix, independent of shard layout
    return docs[:limit]


def _read_docs(path: str):
    """A Parquet file of Docs → ("k", Doc) elements: the pipeline's source, as ReadStaging feeds stages."""
    import pyarrow.parquet as pq

    from transforms.records import Doc, from_table

    for doc in from_table(pq.read_table(path), Doc):
        yield "k", doc


def lid_benchmark(docs: list, repeats: int, tmp_dir: str) -> dict:
    """Texts per CPU-second of language ID: raw batched fastText vs the IdentifyLanguage stage in Beam.

    In Beam, the documents come from Parquet files (1,000 docs each) read by a FlatMap, and the stage
    is measured as (source | IdentifyLanguage | drop) minus (source | drop), both timed around
    `run()` only. `beam.Create(docs)` is also measured, as the brief first proposed, but it embeds
    every element in the pipeline proto (cloudpickle + bz2 at translation, the reverse in the
    worker): ~2 ms per document here, a cost of Create, not of the stage."""
    import apache_beam as beam
    import pyarrow.parquet as pq

    from pipelines.build import pipeline_options
    from transforms.config import load_config
    from transforms.langid import IdentifyLanguage, LanguageIdentifier, dominant_script
    from transforms.records import Doc, to_table

    config = load_config().langid
    texts = [d.text for d in docs]
    identifier = LanguageIdentifier(config.model_path(), config.max_chars)
    identifier.predict(texts[:LID_BATCH])  # warm up

    paths = []
    os.makedirs(tmp_dir, exist_ok=True)
    for i in range(0, len(docs), 1000):
        path = os.path.join(tmp_dir, f"docs-{i // 1000:05d}.parquet")
        pq.write_table(to_table(docs[i : i + 1000], Doc), path, compression="none")
        paths.append(path)

    def raw(with_script: bool) -> float:
        start = time.process_time()
        for i in range(0, len(texts), LID_BATCH):
            batch = texts[i : i + LID_BATCH]
            identifier.predict(batch)
            if with_script:
                for t in batch:
                    dominant_script(t)
        return time.process_time() - start

    def beam_run(source: str, with_lid: bool) -> float:
        p = beam.Pipeline(options=pipeline_options([]))
        if source == "files":
            items = (p | "Paths" >> beam.Create(paths, reshuffle=False)
                     | "Read" >> beam.FlatMap(_read_docs))
        else:
            items = p | "Create" >> beam.Create([("k", d) for d in docs], reshuffle=False)
        if with_lid:
            items = items | "IdentifyLanguage" >> IdentifyLanguage(config)
        _ = items | "Drop" >> beam.Map(lambda kv: None)
        start = time.process_time()  # the graph is built; run() = translation + execution
        p.run().wait_until_finish()
        return time.process_time() - start

    raw_s = min(raw(False) for _ in range(repeats))
    raw_script_s = min(raw(True) for _ in range(repeats))
    files_base_s = min(beam_run("files", False) for _ in range(repeats))
    files_s = min(beam_run("files", True) for _ in range(repeats))
    create_base_s = beam_run("create", False)  # slow (see above): once each
    create_s = beam_run("create", True)
    n = len(texts)
    chars = sum(min(len(t), config.max_chars) for t in texts)
    stage_s = max(1e-9, files_s - files_base_s)
    out = {
        "texts": n,
        "avg_chars_classified": round(chars / n) if n else 0,
        "avg_chars_full_text": round(sum(map(len, texts)) / n) if n else 0,
        "batch_size": LID_BATCH,
        "repeats_min_of": repeats,
        "raw_predict_cpu_s": raw_s,
        "raw_predict_plus_script_cpu_s": raw_script_s,
        "beam_source_only_cpu_s": files_base_s,
        "beam_source_plus_lid_cpu_s": files_s,
        "beam_stage_cpu_s": stage_s,
        "beam_create_only_cpu_s": create_base_s,
        "beam_create_plus_lid_cpu_s": create_s,
        "raw_texts_per_cpu_s": n / raw_s,
        "raw_plus_script_texts_per_cpu_s": n / raw_script_s,
        "beam_stage_texts_per_cpu_s": n / stage_s,
        "beam_source_plus_lid_texts_per_cpu_s": n / files_s,
        "beam_create_plus_lid_texts_per_cpu_s": n / create_s,
    }
    out["ratio_stage_vs_raw_predict"] = out["beam_stage_texts_per_cpu_s"] / out["raw_texts_per_cpu_s"]
    out["ratio_stage_vs_raw_predict_plus_script"] = (out["beam_stage_texts_per_cpu_s"]
                                                     / out["raw_plus_script_texts_per_cpu_s"])
    out["ratio_create_pipeline_vs_raw_predict"] = (out["beam_create_plus_lid_texts_per_cpu_s"]
                                                   / out["raw_texts_per_cpu_s"])
    return out


# ---------------------------------------------------------------------------------------------
# Report


def rate(r: dict) -> float:
    return r["documents"] / r["cpu_s"] if r["cpu_s"] else 0.0


def net_rate(r: dict, startup: dict) -> float:
    docs = r["documents"] - startup["documents"]
    cpu = r["cpu_s"] - startup["cpu_s"]
    return docs / cpu if cpu > 0 else 0.0


def cpu_hours(pages: float, docs_per_cpu_s: float) -> float:
    return pages / docs_per_cpu_s / 3600 if docs_per_cpu_s else float("inf")


def run_lid(args) -> dict | None:
    print("\nlanguage ID: raw fastText vs the Beam stage (kept texts from polycorp's output) …", flush=True)
    docs = load_kept_docs(os.path.join(WORK, "polycorp-out"), args.lid_texts)
    if not docs:
        print("  no kept documents in benchmarks/work/polycorp-out: skipped")
        return None
    lid = lid_benchmark(docs, args.lid_repeats, os.path.join(WORK, "lid-docs"))
    print(f"  {lid['texts']} texts ({lid['avg_chars_full_text']} chars on average; fastText sees the first "
          f"4000: {lid['avg_chars_classified']} on average), min of {lid['repeats_min_of']} runs")
    print(f"  {'measurement':<58} {'CPU s':>7} {'texts/CPU-s':>12}")
    rows = [
        ("(a) raw LanguageIdentifier.predict, batches of 256", lid["raw_predict_cpu_s"],
         lid["raw_texts_per_cpu_s"]),
        ("    raw predict + dominant_script (all the stage computes)", lid["raw_predict_plus_script_cpu_s"],
         lid["raw_plus_script_texts_per_cpu_s"]),
        ("    Beam: Parquet source | drop", lid["beam_source_only_cpu_s"], None),
        ("    Beam: Parquet source | IdentifyLanguage | drop", lid["beam_source_plus_lid_cpu_s"],
         lid["beam_source_plus_lid_texts_per_cpu_s"]),
        ("(b) Beam IdentifyLanguage stage (difference of the two)", lid["beam_stage_cpu_s"],
         lid["beam_stage_texts_per_cpu_s"]),
        ("    Beam: Create(docs) | drop", lid["beam_create_only_cpu_s"], None),
        ("    Beam: Create(docs) | IdentifyLanguage | drop", lid["beam_create_plus_lid_cpu_s"],
         lid["beam_create_plus_lid_texts_per_cpu_s"]),
    ]
    for label, cpu, tps in rows:
        tps_s = f"{tps:>12.0f}" if tps else f"{'':>12}"
        print(f"  {label:<58} {cpu:>7.2f} {tps_s}")
    print(f"  ratio (b)/(a): {lid['ratio_stage_vs_raw_predict']:.2f}; stage vs the same work without Beam "
          f"(predict + dominant_script): {lid['ratio_stage_vs_raw_predict_plus_script']:.2f}; "
          f"whole Create pipeline vs (a): {lid['ratio_create_pipeline_vs_raw_predict']:.2f}")
    return lid


def main() -> int:
    ap = argparse.ArgumentParser(description="polycorp build vs datatrove: CPU cost per document.")
    ap.add_argument("--warc", help=f"input WARC (default {os.path.relpath(DEFAULT_WARC, ROOT)}, "
                                    "made with sample/make_sample.py --full if missing)")
    ap.add_argument("--limit", type=int, help="use only the first N response records of the WARC")
    ap.add_argument("--lid-texts", type=int, default=20_000, help="texts for the language-ID comparison")
    ap.add_argument("--lid-repeats", type=int, default=3, help="runs of each LID measurement (min taken)")
    ap.add_argument("--skip-datatrove", action="store_true", help="measure polycorp only")
    ap.add_argument("--reuse-datatrove", action="store_true",
                    help="take datatrove's figures from the existing --json file (same input file) "
                         "instead of running it again (~8 CPU-minutes): for re-measuring polycorp")
    ap.add_argument("--lid-only", action="store_true",
                    help="only the language-ID comparison, on the existing benchmarks/work/polycorp-out")
    ap.add_argument("--no-startup", action="store_true", help="skip the one-response start-up runs")
    ap.add_argument("--json", help="where to write the figures (default: benchmarks/results/"
                                   "build_vs_datatrove.json for the default full WARC; a file under "
                                   "benchmarks/work/ for --warc or --limit runs, so quick runs never "
                                   "replace the committed figures)")
    args = ap.parse_args()
    if args.json is None:
        if args.warc or args.limit:
            name = os.path.basename(args.warc or DEFAULT_WARC).split(".")[0]
            suffix = f"-limit-{args.limit}" if args.limit else ""
            args.json = os.path.join(WORK, f"build_vs_datatrove-{name}{suffix}.json")
        else:
            args.json = os.path.join(RESULTS, "build_vs_datatrove.json")

    if args.lid_only:  # refresh the "langid" figures of an earlier full run
        lid = run_lid(args)
        report = {}
        if os.path.exists(args.json):
            with open(args.json) as f:
                report = json.load(f)
        report["langid"] = lid
        report["langid_date"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        _write_json(args.json, report)
        return 0

    commit_at_start = code_version()
    previous = {}
    if args.reuse_datatrove and os.path.exists(args.json):
        with open(args.json) as f:
            previous = json.load(f)
    warc = ensure_warc(os.path.abspath(args.warc or DEFAULT_WARC), default=args.warc is None)
    source_warc = warc
    if args.limit:
        warc = cut_warc(warc, args.limit, os.path.join(WORK, f"first-{args.limit}.warc.gz"))
    profile = warc_profile(warc)
    reused = None
    if args.reuse_datatrove:
        old = previous.get("results", {}).get("datatrove")
        if not old or previous.get("input") != profile:
            sys.exit(f"build_vs_datatrove: --reuse-datatrove: {os.path.relpath(args.json, ROOT)} holds no "
                     f"datatrove figures for this input file")
        reused = {"results": old, "startup": previous.get("startup", {}).get("datatrove"),
                  "date": previous.get("datatrove_date") or previous.get("date")}
        args.skip_datatrove = True
    if not args.skip_datatrove:
        ensure_datatrove_venv()

    print(f"input: {profile['path']} ({profile['file_bytes'] / 1e6:.1f} MB gzipped, "
          f"{profile['response_records_read']} responses, {profile['html_200_pages']} HTML pages, "
          f"avg HTML payload {profile['avg_html_bytes'] / 1000:.1f} KB)", flush=True)

    results: dict = {}
    startup: dict = {}
    if not args.no_startup:
        tiny = cut_warc(warc, 1, os.path.join(WORK, "startup-1.warc.gz"))
        startup["polycorp"] = run_polycorp(tiny, os.path.join(WORK, "polycorp-startup-out"))
        if not args.skip_datatrove:
            startup["datatrove"] = run_datatrove(tiny, os.path.join(WORK, "datatrove-startup-out"))

    if reused and reused["startup"]:
        startup["datatrove"] = reused["startup"]
    print("running polycorp build …", flush=True)
    results["polycorp"] = run_polycorp(warc, os.path.join(WORK, "polycorp-out"))
    print(f"  {results['polycorp']['cpu_s']:.1f} CPU s, {results['polycorp']['wall_s']:.1f} s wall", flush=True)
    if not args.skip_datatrove:
        print("running datatrove …", flush=True)
        results["datatrove"] = run_datatrove(warc, os.path.join(WORK, "datatrove-out"))
        print(f"  {results['datatrove']['cpu_s']:.1f} CPU s, {results['datatrove']['wall_s']:.1f} s wall",
              flush=True)
    elif reused:
        results["datatrove"] = dict(reused["results"])
        print(f"datatrove: figures reused from the run of {reused['date']}", flush=True)
    commit_after_build = code_version()

    print()
    print(f"{'pipeline':<11} {'documents':>9} {'kept':>7} {'CPU s':>8} {'wall s':>8} {'docs/CPU-s':>11}"
          f" {'net docs/CPU-s':>15}")
    for name, r in results.items():
        r["docs_per_cpu_s"] = rate(r)
        if name in startup:
            r["startup_cpu_s"] = startup[name]["cpu_s"]
            r["net_docs_per_cpu_s"] = net_rate(r, startup[name])
        net = f"{r['net_docs_per_cpu_s']:>15.1f}" if "net_docs_per_cpu_s" in r else f"{'-':>15}"
        print(f"{name:<11} {r['documents']:>9} {r['kept']:>7} {r['cpu_s']:>8.1f} {r['wall_s']:>8.1f} "
              f"{r['docs_per_cpu_s']:>11.1f} {net}")
    ratios = {}
    if "datatrove" in results:
        ratios["docs_per_cpu_s"] = results["polycorp"]["docs_per_cpu_s"] / results["datatrove"]["docs_per_cpu_s"]
        print(f"polycorp / datatrove (docs per CPU-second): {ratios['docs_per_cpu_s']:.1f}×", end="")
        if all("net_docs_per_cpu_s" in r for r in results.values()):
            ratios["net_docs_per_cpu_s"] = (results["polycorp"]["net_docs_per_cpu_s"]
                                            / results["datatrove"]["net_docs_per_cpu_s"])
            print(f"   (net of start-up: {ratios['net_docs_per_cpu_s']:.1f}×)", end="")
        print()
        ex = results["datatrove"]["extractor"]
        if ex["timeout"] or ex["broken_process"] or ex["clean_error"]:
            print(f"  datatrove extractor: {ex['timeout']} timeouts (1 s limit), {ex['broken_process']} "
                  f"crashed, {ex['clean_error']} errors: those pages were skipped, not extracted")
    for name, s in startup.items():
        print(f"  start-up ({name}, one-response WARC): {s['cpu_s']:.1f} CPU s, {s['wall_s']:.1f} s wall")

    lid = run_lid(args)

    projection = {"cc_pages": CC_PAGES, "cc_avg_html_bytes_assumed": CC_AVG_HTML_BYTES,
                  "c4_cpu_hours": C4_CPU_HOURS, "bench_avg_html_bytes": profile["avg_html_bytes"]}
    print(f"\nprojection: one Common Crawl dump, ~{CC_PAGES / 1e9:.0f} billion pages "
          f"(C4: ~335 CPU-days ≈ {C4_CPU_HOURS:,} CPU-hours)")
    size_factor = CC_AVG_HTML_BYTES / profile["avg_html_bytes"] if profile["avg_html_bytes"] else 1.0
    projection["size_factor"] = size_factor
    for name, r in results.items():
        per_doc = r.get("net_docs_per_cpu_s") or r["docs_per_cpu_s"]
        h = cpu_hours(CC_PAGES, per_doc)
        h_size = h * size_factor
        projection[name] = {"docs_per_cpu_s_used": per_doc, "cpu_hours_per_page_count": h,
                            "cpu_hours_scaled_by_bytes": h_size}
        print(f"  {name:<10} at {per_doc:7.1f} docs/CPU-s: {h:>12,.0f} CPU-hours "
              f"({h / C4_CPU_HOURS:.2f}× C4); scaled to ~{CC_AVG_HTML_BYTES // 1000} KB pages: "
              f"{h_size:>12,.0f} CPU-hours ({h_size / C4_CPU_HOURS:.2f}× C4)")
    longer = "longer" if profile["avg_html_bytes"] > CC_AVG_HTML_BYTES else "shorter"
    print(f"  the benchmark's HTML pages average {profile['avg_html_bytes'] / 1000:.1f} KB, {longer} than "
          f"Common Crawl's ~60-70 KB average HTML; extraction cost grows about linearly with page size, "
          f"so the byte-scaled figure is the fairer one. Common Crawl WARCs also hold non-HTML responses "
          f"and pages that are filtered early; one-core figures, no I/O from remote storage.")

    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "polycorp_commit": commit_at_start if commit_at_start == commit_after_build
        else f"changed during the run: {commit_at_start} → {commit_after_build}",
        "datatrove_date": reused["date"] if reused else (
            datetime.now(timezone.utc).isoformat(timespec="seconds") if "datatrove" in results else None),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "input": profile,
        "source_warc": os.path.relpath(source_warc, ROOT),
        "limit": args.limit,
        "results": {k: {kk: vv for kk, vv in v.items() if kk != "steps"} for k, v in results.items()},
        "startup": {k: {"cpu_s": v["cpu_s"], "wall_s": v["wall_s"], "documents": v["documents"]}
                    for k, v in startup.items()},
        "ratio_polycorp_vs_datatrove": ratios,
        "langid": lid,
        "projection": projection,
    }
    _write_json(args.json, report)
    return 0


def _write_json(path: str, report: dict) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(report, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"\nwrote {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
