"""`polycorp build`: the build pipeline, as the flow in DESIGN.md.

    per input file (staging):  read WARC ─▶ extract ─▶ normalise ─▶ language ID ─▶ MinHash, quality signals ─▶ staging Parquet
    global:                    staging ─▶ filters ─▶ exact dedup ─▶ near dedup ─▶ repeated lines ─▶ shards ─▶ stats ─▶ manifest

Inputs whose staging file already exists in the cache (same content fingerprint, same staging
config) are not read again. A local output is written to a temporary directory beside it and
renamed into place once `manifest.json` is written, so a half-finished build never looks finished.
An output on an object store (gs://, s3://: no rename there) is written in place, `manifest.json`
last: a prefix without one is not a build, and `--overwrite` first deletes the old build's manifest,
then the rest of it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from transforms import fs
from transforms.bitext import AlignBitext
from transforms.config import BuildConfig
from transforms.dedup import ExactDedup, ReadPreviousKeys
from transforms.extract import ExtractText
from transforms.filters import FilterDocuments
from transforms.langid import IdentifyLanguage
from transforms.linededup import RepeatedLines
from transforms.neardup import ComputeSignatures, NearDedup
from transforms.normalise import Normalise
from transforms.quality import QualitySignals
from transforms.read import InputFile, ReadWarc
from transforms.records import Bitext, BitextFiltered, Doc, Duplicate, Filtered, Reject
from transforms.report import write_report
from transforms.shard import ShardInfo, WritePartitioned
from transforms.stats import (
    INPUT, KEPT, KEPT_CHARS, CountOutcomes, InvariantError, build_stats, check_invariant, counted,
    stats_from_metrics,
)
from transforms.staging import ReadStaging, WriteStaging, input_fingerprint, staging_name

MANIFEST_FORMAT = "polycorp/1"
_SHARDS_FILE = "_shards.json"
_WARC_SUFFIXES = (".warc", ".warc.gz", ".wet", ".wet.gz", ".arc.gz")
DEFAULT_RUNNER = "FnApiRunner"  # in-process portable runner; DirectRunner first tries a download


class BuildError(Exception):
    """A build that cannot start or finish; the message is one line saying what to do."""


@dataclass
class BuildPlan:
    inputs: list[InputFile]
    to_stage: list[InputFile]
    out_dir: str
    work_dir: str
    staging_dir: str
    config: BuildConfig
    duplicate_inputs: dict[str, str] = field(default_factory=dict)  # path → identical earlier input
    previous: dict | None = None  # --previous: {"path", "created", "docs"}
    previous_shards: list[str] = field(default_factory=list)  # its docs shards
    replaces: bool = False  # --overwrite of an existing build or files at out_dir

    @property
    def in_place(self) -> bool:
        """Written straight to out_dir (an object store), not renamed into place."""
        return self.work_dir == self.out_dir


def previous_build(path: str) -> tuple[dict, list[str]]:
    """What `--previous BUILD_DIR` brings: a summary for the manifest, and its docs shards."""
    path = fs.absolute(path)
    manifest_path = fs.join(path, "manifest.json")
    if not fs.exists(manifest_path):
        raise BuildError(f"--previous {path} is not a finished build (no manifest.json there)")
    manifest = fs.read_json(manifest_path)
    shards = [fs.join(path, s["path"]) for s in manifest.get("shards", []) if s.get("kind") == "docs"]
    missing = [s for s in shards if not fs.exists(s)]
    if missing:
        raise BuildError(f"--previous {path} is incomplete: {missing[0]} is missing")
    for shard in shards[:1]:
        with fs.open_read(shard) as f:
            names = pq.read_schema(f).names
        if "minhash" not in names:
            raise BuildError(f"--previous {path} has no MinHash signatures (built by an older "
                             "polycorp); rebuild it once with this version")
    docs = sum(s.get("rows", 0) for s in manifest.get("shards", []) if s.get("kind") == "docs")
    return {"path": path, "created": manifest.get("created"), "docs": docs}, sorted(shards)


def resolve_inputs(patterns: list[str]) -> list[str]:
    """Files named by paths, globs or crawl output directories (their warc/ folder), sorted, unique."""
    paths = []
    for pattern in patterns:
        folder_named = os.path.isdir(pattern) or pattern.endswith("/")  # not a glob of the folder's files
        matches = [] if folder_named else fs.match(pattern)
        if matches:
            paths.extend(matches)
            continue
        is_folder = os.path.isdir(pattern) or (not any(c in pattern for c in "*?[") and fs.list_files(pattern))
        if not is_folder:
            raise BuildError(f"input not found: {pattern}")
        crawl = fs.join(pattern, "warc")  # a crawl's output: its WARC files
        found = fs.files_in(crawl, _WARC_SUFFIXES) or fs.files_in(pattern, _WARC_SUFFIXES)
        if not found:
            raise BuildError(f"input directory {pattern} holds no WARC files (*.warc, *.warc.gz)")
        paths.extend(found)
    return sorted(set(paths))


def plan_build(patterns: list[str], out_dir: str, cache_dir: str | None, config: BuildConfig,
               overwrite: bool = False, previous: str | None = None) -> BuildPlan:
    paths = resolve_inputs(patterns)
    out_dir = fs.absolute(out_dir)
    previous_info, previous_shards = previous_build(previous) if previous else (None, [])
    if previous and fs.absolute(previous) == out_dir:
        raise BuildError("--previous must be another build than --out")
    if fs.exists(fs.join(out_dir, "manifest.json")) and not overwrite:
        raise BuildError(f"output {out_dir} already holds a complete build; pass --overwrite to replace it")
    replaces = fs.check_output(out_dir, overwrite, BuildError)
    work_dir = fs.work_dir_for(out_dir)  # object stores: out_dir itself, manifest.json last
    cache_dir = fs.absolute(cache_dir or out_dir.rstrip("/") + ".cache")
    staging_dir = fs.join(cache_dir, "staging")
    if fs.is_local(staging_dir):
        try:
            os.makedirs(staging_dir, exist_ok=True)
        except OSError as e:
            raise BuildError(f"cannot create cache directory {staging_dir}: {e.strerror}") from None
    config_hash = config.staging_fingerprint()
    inputs, seen = [], {}
    duplicates = {}
    for path in paths:
        try:
            fingerprint = input_fingerprint(path)
        except OSError as e:
            raise BuildError(f"cannot read input {path}: {e}") from None
        if fingerprint in seen:  # a byte-identical copy: its records would all be duplicates
            duplicates[path] = seen[fingerprint]
            continue
        seen[fingerprint] = path
        staging = fs.join(staging_dir, staging_name(fingerprint, config_hash))
        inputs.append(InputFile(path, fingerprint, staging))
    to_stage = [i for i in inputs if not fs.exists(i.staging_path)]
    return BuildPlan(inputs, to_stage, out_dir, work_dir, staging_dir, config, duplicates,
                     previous_info, previous_shards, replaces)


def stage_inputs(inputs, config: BuildConfig, input_paths: dict[str, str]):
    """PCollection[InputFile] → PCollection[staging path]: the per-input phase."""
    read = inputs | "ReadWarc" >> beam.ParDo(ReadWarc(config.read)).with_outputs(
        "filtered", "rejected", "skipped", main="records")
    extracted = read.records | "ExtractText" >> beam.ParDo(ExtractText(config.extract)).with_outputs(
        "filtered", "rejected", main="docs")
    docs = (
        extracted.docs
        | "Normalise" >> Normalise()
        | "IdentifyLanguage" >> IdentifyLanguage(config.langid)
        | "MinHash" >> ComputeSignatures(config.near_dedup)
        | "Quality" >> beam.ParDo(QualitySignals())
    )
    # One placeholder per input, so an input without any record still gets its staging file.
    placeholders = inputs | "Placeholder" >> beam.Map(lambda f: (f.staging_path, None))
    return (
        (docs, read.filtered, read.rejected, read.skipped, extracted.filtered, extracted.rejected,
         placeholders)
        | "AllResults" >> beam.Flatten()
        | "GroupByInput" >> beam.GroupByKey()
        | "WriteStaging" >> beam.ParDo(WriteStaging(input_paths))
    )


def global_phase(staging_paths, config: BuildConfig, work_dir: str, previous=None):
    """PCollection[staging path] → shards, dups, filtered, rejects, stats.json, _shards.json.
    `previous`: (text_hash, DocKey) of an earlier build's documents, which this one must not repeat."""
    staged = staging_paths | "ReadStaging" >> beam.ParDo(ReadStaging()).with_outputs(
        "filtered", "rejected", "skipped", "input_records", main="docs")
    checked = staged.docs | "Filter" >> beam.ParDo(FilterDocuments(config)).with_outputs(
        "filtered", main="docs")
    exact = checked.docs | "ExactDedup" >> ExactDedup(previous)
    dup_pairs = exact.removed
    if config.near_dedup.enabled:
        near = exact.kept | "NearDedup" >> NearDedup(config.near_dedup)
        dup_pairs = (dup_pairs, near) | "AllDuplicates" >> beam.Flatten()
    dups = dup_pairs | "Duplicates" >> beam.MapTuple(lambda key, dup: dup)
    removed_ids = dup_pairs | "RemovedIds" >> beam.MapTuple(lambda key, dup: key.id)
    lined = (checked.docs, removed_ids) | "RepeatedLines" >> RepeatedLines(config)
    filtered = (staged.filtered, checked.filtered, lined.filtered) | "AllFiltered" >> beam.Flatten()
    shards = config.shards
    outputs = [
        lined.docs | "WriteDocs" >> WritePartitioned(
            work_dir, "docs", Doc, shards, partition_of=lambda d: d.lang, partition_name="lang"),
        dups | "WriteDups" >> WritePartitioned(work_dir, "dups", Duplicate, shards),
        filtered | "WriteFiltered" >> WritePartitioned(work_dir, "filtered", Filtered, shards),
        staged.rejected | "WriteRejects" >> WritePartitioned(work_dir, "rejects", Reject, shards),
    ]
    bitext_counts = []
    if config.bitext.enabled:
        bitext = lined.docs | "AlignBitext" >> AlignBitext(config.bitext, config.langid)
        outputs += [
            bitext["pairs"] | "WriteBitext" >> WritePartitioned(
                work_dir, "bitext", Bitext, shards, partition_of=lambda b: b.pair, partition_name="pair"),
            bitext["filtered"] | "WriteBitextFiltered" >> WritePartitioned(
                work_dir, "bitext_filtered", BitextFiltered, shards),
        ]
        bitext_counts = [bitext["counts"] | "BitextCounts" >> beam.MapTuple(lambda key, n: counted(key, n))]
    written = tuple(outputs) | "AllShards" >> beam.Flatten()

    def kept_counts(info: ShardInfo):
        if info.kind == "docs":
            yield counted((KEPT, "", info.partition), info.rows)
            yield counted((KEPT_CHARS, "", info.partition), info.text_chars)

    counts = (
        (filtered, dups, staged.rejected, staged.skipped) | "Outcomes" >> beam.Flatten()
        | "CountOutcomes" >> CountOutcomes(),
        written | "KeptCounts" >> beam.FlatMap(kept_counts),
        staged.input_records | "InputCounts" >> beam.Map(lambda n: counted((INPUT, "", ""), n)),
        *bitext_counts,
    ) | "AllCounts" >> beam.Flatten() | "SumCounts" >> beam.CombinePerKey(sum)

    (
        counts
        | "CollectCounts" >> beam.combiners.ToList()
        | "WriteStats" >> beam.Map(_write_stats, work_dir=work_dir)
    )
    (
        written
        | "CollectShards" >> beam.combiners.ToList()
        | "WriteShardList" >> beam.Map(_write_shard_list, work_dir=work_dir)
    )


def _write_stats(counts, work_dir):
    stats = build_stats(dict(counts))
    check_invariant(stats)  # raising here fails the pipeline: no manifest, nothing renamed
    _write_json(FileSystems.join(work_dir, "stats.json"), stats)


def _write_shard_list(infos, work_dir):
    rows = sorted((info.path, info.kind, info.partition, info.rows, info.bytes, info.sha256, info.text_chars)
                  for info in infos)
    _write_json(FileSystems.join(work_dir, _SHARDS_FILE), rows)


def _write_json(path: str, obj) -> None:
    with FileSystems.create(path) as f:  # on a worker, into the work directory: not atomic on its own
        f.write((json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode())


def pipeline_options(beam_args: list[str]) -> PipelineOptions:
    options = PipelineOptions(beam_args)
    standard = options.view_as(StandardOptions)
    if not standard.runner:
        standard.runner = DEFAULT_RUNNER
    return options


def run_build(plan: BuildPlan, beam_args: list[str] | None = None, config_source: str | None = None) -> dict:
    """Run the pipeline of `plan`; returns the manifest. Raises BuildError on failure."""
    fs.begin_output(plan.work_dir, plan.out_dir, plan.replaces)
    if fs.is_local(plan.work_dir):
        for kind in ("docs", "dups", "filtered", "rejects", "bitext", "bitext_filtered"):
            os.makedirs(os.path.join(plan.work_dir, kind))
    input_paths = {i.staging_path: i.path for i in plan.inputs}
    try:
        with beam.Pipeline(options=pipeline_options(beam_args or [])) as p:
            new = stage_inputs(p | "InputsToStage" >> beam.Create(plan.to_stage), plan.config, input_paths)
            cached = p | "StagedInputs" >> beam.Create(
                sorted(i.staging_path for i in plan.inputs if i not in plan.to_stage))
            staging_paths = (new, cached) | "AllStaging" >> beam.Flatten()
            previous = None
            if plan.previous_shards:
                previous = (p | "PreviousShards" >> beam.Create(plan.previous_shards)
                            | "ReadPrevious" >> beam.ParDo(ReadPreviousKeys()))
            global_phase(staging_paths, plan.config, plan.work_dir, previous)
        metrics_checked = _check_metrics(p.result, plan.work_dir)
        manifest = _finish(plan, config_source, metrics_checked)
    except BaseException:
        fs.delete_tree(plan.work_dir)
        raise
    return manifest


def _check_metrics(result, work_dir: str) -> bool:
    """Compare the `stats` counters the runner reports with stats.json; False if the runner
    reports none (not every runner does), InvariantError if they disagree."""
    from apache_beam.metrics.metric import MetricsFilter

    try:
        found = result.metrics().query(MetricsFilter().with_namespace("stats"))["counters"]
    except (NotImplementedError, AttributeError, KeyError):
        return False
    counters: dict[str, int] = {}
    for c in found:
        value = c.committed if c.committed is not None else c.attempted
        counters[c.key.metric.name] = counters.get(c.key.metric.name, 0) + (value or 0)
    if not counters:
        return False
    stats = fs.read_json(fs.join(work_dir, "stats.json"))
    from_metrics = stats_from_metrics(counters)
    if any(stats[k] != v for k, v in from_metrics.items()):
        raise InvariantError(f"Beam counters disagree with stats.json: {from_metrics}")
    return True


def _finish(plan: BuildPlan, config_source: str | None, metrics_checked: bool = False) -> dict:
    """Write manifest.json last, then move the build into place (unless written in place)."""
    stats = fs.read_json(fs.join(plan.work_dir, "stats.json"))
    check_invariant(stats)
    shard_list_path = fs.join(plan.work_dir, _SHARDS_FILE)
    rows = fs.read_json(shard_list_path)
    fs.delete(shard_list_path)
    partition_names = {"docs": "lang", "bitext": "pair"}
    manifest = {
        "format": MANIFEST_FORMAT,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": plan.config.to_dict(),
        "config_file": config_source,
        "inputs": [
            {"path": i.path, "fingerprint": i.fingerprint,
             "staging": FileSystems.split(i.staging_path)[1], "reused_staging": i not in plan.to_stage}
            for i in plan.inputs
        ],
        "duplicate_inputs": plan.duplicate_inputs,
        "previous": plan.previous,
        "shards": [
            ShardInfo(*row).manifest_entry(partition_names.get(row[1])) for row in rows
        ],
        "stats": {k: stats[k] for k in ("input_records", "kept")},
        "metrics_checked": metrics_checked,  # the runner's counters equal stats.json
    }
    write_report(plan.work_dir, manifest)  # the data card, before the manifest that marks the build whole
    fs.write_json(fs.join(plan.work_dir, "manifest.json"), manifest)
    fs.move_into_place(plan.work_dir, plan.out_dir)  # --overwrite: the old build goes only now
    return manifest
