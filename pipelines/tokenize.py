"""`polycorp tokenize`: a build's docs and bitext shards → token-id shards, once and in parallel,
so that training jobs read ids instead of encoding text (`polycorp train --tokens`).

    tokenizer (given, or trained on the build as `polycorp train` would) ─▶
    the build manifest's docs + bitext shards ─▶ spread ─▶ tokenize, a shard per element ─▶ shard list ─▶ manifest

Output (`transforms/tokenize.py` for the shards' contract):

    TOKENS_DIR/manifest.json           written last: {"format": "polycorp-tokens/2", "created", "build",
                                       "build_fingerprint", "tokenizer": {"path", "sha256", and
                                       "copied_from" (--tokenizer) or "trained" (its settings)},
                                       "shards": [{"path", "kind", "lang"|"pair", "source_sha256", "rows",
                                       "row_groups", "tokens", "bytes", "sha256"}]}
    TOKENS_DIR/tokenizer.model         the tokenizer the ids are of
    TOKENS_DIR/docs/lang=<lang>/part-<i>-of-<n>.parquet, TOKENS_DIR/bitext/pair=<a>-<b>/...   as in the build

`build_fingerprint` is the loader's `Plan.fingerprint` of the build, so a loader refuses token
shards of another build. Output is written as builds are (`transforms/fs.py`): locally to a
temporary directory beside TOKENS_DIR, renamed into place once manifest.json is written (an
existing TOKENS_DIR, with `overwrite`, is replaced only then); on an object store (gs://, s3://) in
place, manifest.json last (with `overwrite` the old manifest is deleted first). The build, too,
may be local or on an object store; `--tokenizer` is a local file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone

import apache_beam as beam

from pipelines.build import pipeline_options
from training.data import TOKENS_FORMAT, LoaderConfig, ShardError, read_manifest, shards_fingerprint, training_shards
from training.loop import TrainConfig, train_run_tokenizer
from training.tokenizer import Tokenizer
from transforms import fs
from transforms.manifest import missing_shard
from transforms.tokenize import TokenizeError, TokenizeShards, write_results

TOKENIZER_FILE = "tokenizer.model"
_SHARDS_FILE, _ERRORS_FILE = "_shards.json", "_errors.json"


@dataclass(frozen=True)
class TokenizePlan:
    build_dir: str
    out_dir: str
    work_dir: str  # beside a local out_dir, renamed to it when whole; an object store's out_dir itself
    shards: list[dict]  # the build manifest's docs and bitext entries, by path
    build_fingerprint: str
    tokenizer: str | None  # a SentencePiece model to use; None: train one
    replaces: bool = False  # out_dir holds files, to be replaced (overwrite)


def plan_tokenize(build_dir: str, out_dir: str, tokenizer: str | None = None, overwrite: bool = False) -> TokenizePlan:
    """What to tokenize, once the build, the tokenizer (when given) and the output are known to be usable."""
    build_dir, out_dir = fs.absolute(build_dir), fs.absolute(out_dir)
    if tokenizer is not None:
        tokenizer = os.path.abspath(Tokenizer(tokenizer).path)  # exists and loads, or a one-line TokenizerError
    shards = training_shards(read_manifest(build_dir))
    if not shards:
        raise TokenizeError(f"{build_dir} holds no docs or bitext shards to tokenize")
    for entry in shards:  # before a tokenizer is trained on them; corrupt ones are found while tokenizing
        problem = missing_shard(fs.join(build_dir, entry["path"]))
        if problem:
            raise ShardError(problem)
    if out_dir == build_dir or build_dir.startswith(out_dir + "/"):
        raise TokenizeError(f"--out {out_dir} would replace the build {build_dir}: write the token shards elsewhere")
    replaces = fs.check_output(out_dir, overwrite, TokenizeError, "set of token shards", "polycorp-tokens/")
    return TokenizePlan(build_dir, out_dir, fs.work_dir_for(out_dir), shards, shards_fingerprint(shards), tokenizer,
                        replaces)


def run_tokenize(plan: TokenizePlan, beam_args: list[str] | None = None, train: TrainConfig = TrainConfig(),
                 loader: LoaderConfig = LoaderConfig()) -> dict:
    """Token shards of `plan`, with its tokenizer or, without one, a tokenizer trained as `polycorp
    train` would with `train` and `loader`'s settings. Returns the manifest; raises ShardError
    naming a missing or corrupt build shard."""
    fs.begin_output(plan.work_dir, plan.out_dir, plan.replaces)
    model = fs.join(plan.work_dir, TOKENIZER_FILE)
    try:
        with tempfile.TemporaryDirectory(prefix="polycorp-tokenizer-") as tmp:
            local = os.path.join(tmp, TOKENIZER_FILE)
            if plan.tokenizer is not None:
                shutil.copyfile(plan.tokenizer, local)
                origin = {"copied_from": plan.tokenizer}
            else:
                train_run_tokenizer(plan.build_dir, local, train, loader)
                origin = {"trained": {"vocab_size": train.vocab_size, "max_chars": train.tokenizer_chars,
                                      "alpha": loader.alpha, "heldout_fraction": loader.heldout_fraction,
                                      "seed": train.seed}}
            fs.write_bytes(model, fs.read_bytes(local))
        with beam.Pipeline(options=pipeline_options(beam_args or [])) as p:
            tokenized = (p | "BuildShards" >> beam.Create(plan.shards)
                         | "TokenizeShards" >> TokenizeShards(plan.build_dir, plan.work_dir, model))
            (tokenized.shards
             | "CollectShards" >> beam.combiners.ToList()
             | "WriteShardList" >> beam.Map(write_results, path=fs.join(plan.work_dir, _SHARDS_FILE)))
            (tokenized.errors
             | "CollectErrors" >> beam.combiners.ToList()
             | "WriteErrors" >> beam.Map(write_results, path=fs.join(plan.work_dir, _ERRORS_FILE)))
        return _finish(plan, {"path": TOKENIZER_FILE, "sha256": fs.sha256(model), **origin})
    except BaseException:
        fs.delete_tree(plan.work_dir)
        raise


def _read_json(path: str):
    found = fs.read_json(path)
    fs.delete(path)
    return found


def _finish(plan: TokenizePlan, tokenizer: dict) -> dict:
    """Refuse a build shard that failed its check; otherwise write manifest.json last and move the
    token shards into place."""
    errors = sorted(_read_json(fs.join(plan.work_dir, _ERRORS_FILE)))
    if errors:
        raise ShardError(errors[0] + (f" ({len(errors) - 1} more shard(s) failed too)" if len(errors) > 1 else ""))
    shards = sorted(_read_json(fs.join(plan.work_dir, _SHARDS_FILE)), key=lambda s: s["path"])
    if [s["path"] for s in shards] != [s["path"] for s in plan.shards]:  # a runner that lost an element
        raise TokenizeError(f"{len(shards)} token shards written for {len(plan.shards)} build shards; run again")
    manifest = {
        "format": TOKENS_FORMAT,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "build": plan.build_dir,
        "build_fingerprint": plan.build_fingerprint,
        "tokenizer": tokenizer,
        "shards": shards,
    }
    fs.write_json(fs.join(plan.work_dir, "manifest.json"), manifest)
    fs.move_into_place(plan.work_dir, plan.out_dir)  # --overwrite: the old token shards go only now
    return manifest
