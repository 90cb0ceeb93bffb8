"""Streaming loader: a build's Parquet shards → endless, resumable batches of lm, mt and pair examples.

What the training loop can rely on (and what must not change between a save and a resume):

- **Input.** `BUILD/manifest.json`; its `docs` shards (column `text`, one source per `lang`) and
  `bitext` shards (`src_lang, tgt_lang, src_text, tgt_text`, one source per `pair`). Every such
  shard is checked against the manifest's sha256 when the plan is loaded (`load_plan`: when the
  dataset is made, or by the training loop before it trains the tokenizer, once per node — its
  first local rank checks, the other ranks wait for the verdict; several shards at once); a missing
  or corrupt one raises `ShardError` naming it. Rows held out
  for evaluation (`training.split` with `LoaderConfig.heldout_fraction`: pass the tokenizer's and
  eval's fraction) are never served; "rows" below means training rows.
- **Token-id shards** (`tokens_dir`, written by `polycorp tokenize`): the same shards at the same
  paths with the same row groups and rows, text columns replaced by their token ids (`text` →
  `ids`, `src_text`/`tgt_text` → `src_ids`/`tgt_ids`, list<int32>, `tokenizer.encode(text)`), the
  documents' ids and URLs kept. Rows are then read from them instead of the build's text shards (which are
  not read at all; the build's manifest still is), after three checks, each a one-line error:
  `TOKENS/manifest.json` exists, its `build_fingerprint` is the build's shards' (`Plan.fingerprint`),
  its tokenizer sha256 is that of `tokenizer.path`'s file; token shards are verified against their
  sha256 like build shards. Everything else — units, partition, sampling, held-out rows (by the
  documents' URLs and ids the token shards carry) — is the same, and so are the batches, bit for bit (tested):
  the only difference is where a row's ids come from (`RowStream`: stored, or encoded from text).
- **Work units** are (shard, row group), read with `ParquetFile.read_row_group(i, columns=...)`;
  a worker holds at most one row group per source in memory.
- **Partition.** Slots are world_size × num_workers (slot = rank × num_workers + worker). For each
  source, epoch e is a list of *parts*: its units in a seeded permutation (the same on every slot),
  each unit cut into k row-strided parts (part j = the rows at positions p ≡ j mod k of the unit's
  seeded row permutation; k = 1 when there are at least as many units as slots, otherwise the
  smallest k giving an epoch at least as many parts as slots, never more parts than rows), so a
  source with fewer units than slots is shared by all slots. Concatenating epochs 0, 1, 2, … gives
  an endless sequence of parts; slot s takes parts q = s, s + slots, s + 2·slots, … Every row is
  therefore read exactly once per epoch across all slots; a slot whose share of an epoch is smaller
  simply moves on to the next epoch's parts, so no slot ever runs dry (a source needs one row) and
  no rank waits for data under DDP.
- **Shuffle.** Seeded unit permutation per epoch plus seeded row permutation inside each unit; no
  shuffle buffer (document ids are hashes, so rows of a shard are not grouped by site anyway), so
  a stream's whole position is one cursor (part q, row i).
- **Mixing.** Every batch has a fixed composition (`LoaderConfig.composition`): n_lm lm examples,
  n_mt mt and n_pair pair examples, so shapes and the contrastive loss's negatives never change.
  Each lm example picks its language with p(lang) ∝ rows_lang^α, each bitext example its pair with
  p(pair) ∝ rows_pair^α (the manifest's rows, held-out ones included: the only size it records
  for every shard, and characters would not be tokens either, chars per token differ ~3× across
  scripts).
- **Randomness** is counter-based: batch b of slot s draws from an RNG seeded by (seed, s, b), so
  no RNG state is saved, only b.
- **Resume.** `StreamingLoader.state_dict()` after k batches, then `load_state_dict()` on a fresh
  loader, yields exactly batches k, k+1, … of an uninterrupted run, given the same build, loader
  config, world size, rank and num_workers (checked: `ResumeError`) and the same tokenizer (checked
  against token shards' manifest when reading them; not checked from text). Text and token shards
  give the same batches, so the state does not say which were read and a run may switch at a
  resume (tested both ways). The state is small JSON (counters and cursors; packing leftovers are a
  cursor to the document being cut plus a token offset, its ids read again on resume).

A batch (what `StreamingLoader` yields), B_kind = that kind's count, kinds with count 0 absent:
    {"lm":   {"input_ids": [B_lm, seq_len], "labels": [B_lm, seq_len], "lang": [B_lm]},
     "mt":   {"input_ids": [B_mt, mt_len], "labels": [B_mt, mt_len], "src_lang": [B_mt], "tgt_lang": [B_mt]},
     "pair": {"src_ids": [B_pair, pair_len], "tgt_ids": [B_pair, pair_len], "src_lang": [B_pair], "tgt_lang": [B_pair]}}
lm rows are windows of documents packed as `<2lang> tokens eos` (one language per window); mt rows
are `<2tgt> source <sep> target eos` + padding, either direction; pair sides are `bos tokens eos` +
padding. Labels are aligned with input_ids (the model shifts: position t predicts labels[t + 1]);
IGNORE (-100) marks positions without loss: lm tags, mt tag/source/sep, padding. `lang`,
`src_lang`, `tgt_lang` are tokenizer language-tag ids.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import math
import weakref
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from training.split import HELDOUT_COLUMNS, SPLIT, row_is_heldout
from transforms import fs
from transforms.manifest import shard_problem

IGNORE = -100  # label of a position without loss (cross_entropy's default ignore_index)
KINDS = ("lm", "mt", "pair")
DOCS_COLUMNS = ("text",)
BITEXT_COLUMNS = ("src_lang", "tgt_lang", "src_text", "tgt_text")
TOKEN_COLUMNS = {"text": "ids", "src_text": "src_ids", "tgt_text": "tgt_ids"}  # a text column's ids in a token shard
PARTITION_OF = {"docs": "lang", "bitext": "pair"}
TOKENS_FORMAT = "polycorp-tokens/2"  # /2: with the URL columns held-out rows are known by
# first seed words, so the RNGs of unit order, row order and batch draws never coincide
_UNITS, _ROWS, _BATCH = 1, 2, 3


class DataError(Exception):
    """A build cannot be used for training."""


class ShardError(DataError):
    """A shard the manifest lists is missing or does not match its checksum."""


class ResumeError(DataError):
    """A saved loader state does not belong to this loader."""


@dataclass(frozen=True)
class LoaderConfig:
    seq_len: int = 512  # tokens per lm example
    mt_len: int = 256  # tokens per mt example, at most seq_len (`translation_len`): sentence pairs are short
    pair_len: int = 128  # tokens per side of a pair example
    batch_size: int = 16  # examples per batch, all kinds together
    alpha: float = 0.3  # temperature of language and pair sampling
    bitext_share: float = 0.25  # share of a batch made of bitext examples (mt + pair)
    pair_share: float = 0.5  # share of the bitext examples that are pair (contrastive) examples
    heldout_fraction: float = 0.05  # documents (and their pairs) kept for evaluation: never served
    seed: int = 0

    def __post_init__(self):
        if self.seq_len < 4 or self.mt_len < 4 or self.pair_len < 3 or self.batch_size < 1:
            raise ValueError(f"seq_len >= 4, mt_len >= 4, pair_len >= 3 and batch_size >= 1 needed, got {self}")
        if not (0 <= self.bitext_share <= 1 and 0 <= self.pair_share <= 1):
            raise ValueError(f"bitext_share and pair_share are shares in [0, 1], got {self}")
        if not 0 <= self.heldout_fraction < 1:
            raise ValueError(f"heldout_fraction is a share in [0, 1): some documents must be left to train on, got {self}")

    @property
    def translation_len(self) -> int:
        """Tokens per mt example: mt_len, but never longer than an lm window. Padded to a fixed
        length like every kind (one shape per step for torch.compile); a sentence pair fills a
        fraction of a 512- or 1024-token window, which would leave mt rows ~95 % padding."""
        return min(self.mt_len, self.seq_len)

    def composition(self, has_bitext: bool) -> dict[str, int]:
        """Examples of each kind in every batch, shares rounded half up (10 × 0.25 → 3, 14 × 0.25 → 4;
        Python's round would give 2 and 4); bitext's share goes to lm when the build has none."""
        n_bitext = _half_up(self.batch_size * self.bitext_share) if has_bitext else 0
        n_pair = _half_up(n_bitext * self.pair_share)
        return {"lm": self.batch_size - n_bitext, "mt": n_bitext - n_pair, "pair": n_pair}


def _half_up(x: float) -> int:
    """x rounded half up; the margin absorbs binary error (90 × 0.35 is 31.499999999999996)."""
    return math.floor(x + 0.5 + 1e-9)


@dataclass(frozen=True)
class Unit:
    path: str  # relative to the build directory
    row_group: int
    rows: int  # training rows: not held out


@dataclass(frozen=True)
class Source:
    """The row groups with training rows of one language (docs) or one language pair (bitext)."""

    name: str  # "de" or "de-en"
    kind: str  # docs | bitext
    size: int  # rows in the manifest, held-out ones included: what sampling weighs
    units: tuple[Unit, ...]

    @property
    def rows(self) -> int:
        return sum(u.rows for u in self.units)

    @property
    def key(self) -> int:
        """Seed word from the name, so a source's order does not depend on which others exist."""
        return int.from_bytes(hashlib.sha256(self.name.encode()).digest()[:8], "little")


@dataclass(frozen=True)
class Plan:
    build_dir: str
    heldout_fraction: float
    docs: dict[str, Source]
    bitext: dict[str, Source]
    fingerprint: str  # of the build's docs and bitext shards: paths and checksums
    tokens_dir: str | None = None  # token-id shards read instead of the build's text shards

    @property
    def shards_dir(self) -> str:
        """Where rows are read from: the token shards' directory, or the build."""
        return self.tokens_dir or self.build_dir


@dataclass(frozen=True)
class Part:
    """Rows j, j + k, j + 2k, … of a unit's row permutation."""

    unit: int  # index into Source.units
    stride: int  # j
    of: int  # k


# --- the build ---------------------------------------------------------------------------------

def read_manifest(build_dir: str) -> dict:
    """A build's manifest.json; the build (and everything read from it) may be local or anywhere
    Beam's FileSystems reach (gs://, s3://)."""
    path = fs.join(build_dir, "manifest.json")
    if not fs.exists(path):
        raise DataError(f"{build_dir} is not a finished build (no manifest.json): run `polycorp build` first")
    return fs.read_json(path)


def verify_shard(path: str, sha256: str, remedy: str = "restore it or rebuild the corpus") -> None:
    """ShardError naming `path` unless its bytes match the sha256 its manifest.json lists."""
    problem = shard_problem(path, sha256, remedy)
    if problem:
        raise ShardError(problem)


def shard_counts(root: str, entry: dict, kind: str, fraction: float, verify: bool,
                 remedy: str = "restore it or rebuild the corpus") -> list[int]:
    """Training rows (not held out) per row group of a manifest shard under `root`; with `verify`,
    only once its bytes match the manifest's sha256. Reads the footer and, when rows are held out,
    the HELDOUT_COLUMNS; a missing shard is a ShardError either way."""
    path = fs.join(root, entry["path"])
    if verify or not fs.exists(path):  # a missing shard: the same one-line error either way
        verify_shard(path, entry["sha256"], remedy)
    with fs.open_read(path) as raw, pq.ParquetFile(raw) as f:
        groups = range(f.num_row_groups)
        if fraction <= 0:
            return [f.metadata.row_group(i).num_rows for i in groups]
        return [len(training_rows(f.read_row_group(i, columns=list(HELDOUT_COLUMNS[kind])), kind, fraction)) for i in groups]


def training_shards(manifest: dict) -> list[dict]:
    """The build manifest's docs and bitext shard entries, by path."""
    return sorted((e for e in manifest["shards"] if e["kind"] in PARTITION_OF), key=lambda e: e["path"])


def shards_fingerprint(entries: list[dict]) -> str:
    """Of a build's training shards (`training_shards`): their paths and checksums."""
    return hashlib.sha256(json.dumps([[e["path"], e["sha256"]] for e in entries]).encode()).hexdigest()


def read_tokens_manifest(tokens_dir: str) -> dict:
    path = fs.join(tokens_dir, "manifest.json")
    if not fs.exists(path):
        raise DataError(f"{tokens_dir} holds no finished token shards (no manifest.json); "
                        f"run polycorp tokenize BUILD_DIR --out {tokens_dir}")
    manifest = fs.read_json(path)
    found = manifest.get("format")
    if found == TOKENS_FORMAT:
        return manifest
    if not str(found).startswith("polycorp-tokens/"):
        raise DataError(f"{tokens_dir} holds a {found} output, not token shards (a build goes to --data); "
                        f"make token shards with polycorp tokenize BUILD_DIR --out NEW_DIR")
    keep = fs.join(tokens_dir, "tokenizer.model")
    raise DataError(f"{tokens_dir} holds token shards of an older format ({found}; {TOKENS_FORMAT} adds the URL "
                    f"columns held-out rows are known by): run polycorp tokenize BUILD_DIR --out {tokens_dir} "
                    "--overwrite" + (f" (with --tokenizer {keep} to keep its tokenizer)" if fs.exists(keep) else ""))


def token_shards(tokens_dir: str, build_dir: str, fingerprint: str) -> dict[str, dict]:
    """The tokens manifest's shard entries by path, once it is known to be of this build's shards."""
    manifest = read_tokens_manifest(tokens_dir)
    if manifest["build_fingerprint"] != fingerprint:
        raise DataError(f"token shards in {tokens_dir} were made from another build than {build_dir} (or from "
                        f"an earlier state of it); run polycorp tokenize {build_dir} --out {tokens_dir} --overwrite")
    return {e["path"]: e for e in manifest["shards"]}


def check_tokenizer(tokens_dir: str, tokenizer) -> None:
    """DataError unless the token shards were made with this tokenizer (the sha256 of its model file)."""
    expected = read_tokens_manifest(tokens_dir)["tokenizer"]["sha256"]
    path = getattr(tokenizer, "path", None)
    if path is None or fs.sha256(str(path)) != expected:
        raise DataError(f"token shards in {tokens_dir} were made with another tokenizer than {path}; train with "
                        f"{tokens_dir}/tokenizer.model (polycorp train --tokens copies it) or tokenize again")


def read_row_group(path: str, row_group: int, columns: tuple[str, ...]) -> pa.Table:
    with fs.open_read(path) as raw, pq.ParquetFile(raw) as f:
        return f.read_row_group(row_group, columns=list(dict.fromkeys(columns)))


def training_rows(table: pa.Table, kind: str, fraction: float) -> np.ndarray:
    """Indices of a row group's rows not held out for evaluation (`training.split`): a document by
    its URL, a pair when either of its documents is. `table` needs the HELDOUT_COLUMNS when fraction > 0."""
    if fraction <= 0:
        return np.arange(table.num_rows)
    rows = zip(*(table.column(c).to_pylist() for c in HELDOUT_COLUMNS[kind]))
    return np.flatnonzero(~np.fromiter((row_is_heldout(r, fraction) for r in rows), dtype=bool, count=table.num_rows))


VERIFY_THREADS = 8  # shards checked at once: hashing and Parquet reads release the GIL


def load_plan(build_dir: str, heldout_fraction: float = 0.0, tokens_dir: str | None = None,
              verify: bool = True) -> Plan:
    """The build's docs and bitext sources, held-out rows not counted, every shard to be read
    checked against its sha256 (`verify`; several shards at once). With `tokens_dir`, the shards
    read (and checked) are its token shards: the same row groups, document ids and URLs, so the same plan."""
    entries = training_shards(read_manifest(build_dir))
    fingerprint = shards_fingerprint(entries)
    checked, remedy = {e["path"]: e for e in entries}, "restore it or rebuild the corpus"
    if tokens_dir is not None:
        checked, remedy = token_shards(tokens_dir, build_dir, fingerprint), "restore it or run polycorp tokenize again"
    root = tokens_dir or build_dir
    units: dict[tuple[str, str], list[Unit]] = {}
    sizes: Counter = Counter()

    def counts(entry: dict) -> list[int]:
        return shard_counts(root, checked[entry["path"]], entry["kind"], heldout_fraction, verify, remedy)

    with ThreadPoolExecutor(VERIFY_THREADS) as pool:  # in path order; the first failing shard raises
        for entry, rows in zip(entries, pool.map(counts, entries)):
            key = (entry["kind"], entry[PARTITION_OF[entry["kind"]]])
            units.setdefault(key, []).extend(Unit(entry["path"], i, n) for i, n in enumerate(rows) if n)
            sizes[key] += entry["rows"]
    sources = {kind: {name: Source(name, kind, sizes[kind, name], tuple(u))
                      for (k, name), u in sorted(units.items()) if k == kind and u}
               for kind in PARTITION_OF}
    return Plan(build_dir, heldout_fraction, sources["docs"], sources["bitext"], fingerprint, tokens_dir)


def sampling_probs(sizes: dict[str, int], alpha: float) -> dict[str, float]:
    """p(name) ∝ size^α: α = 1 samples as the data are, α = 0 uniformly; in between small languages
    are seen more often than their size alone would give, without repeating them endlessly."""
    weights = {name: size ** alpha for name, size in sizes.items()}
    total = sum(weights.values())
    return {name: w / total for name, w in weights.items()}


# --- partition and shuffle ---------------------------------------------------------------------

def seeded(*words: int) -> np.random.Generator:
    return np.random.default_rng(list(words))


def stride_of(source: Source, num_slots: int) -> int:
    """k: into how many row-strided parts each unit is cut (a unit with fewer rows: one per row).
    The smallest k giving an epoch at least `num_slots` parts, so every slot reads a share of every
    epoch: slots then read disjoint rows of the same epoch at the same time, instead of several
    slots re-reading a small language's few units concurrently. With fewer rows than slots no k
    can, and k = the largest unit's rows (one part per row)."""
    k, largest = math.ceil(num_slots / len(source.units)), max(u.rows for u in source.units)
    while k < largest and sum(min(k, u.rows) for u in source.units) < num_slots:
        k += 1
    return k


def parts_per_epoch(source: Source, num_slots: int) -> int:
    k = stride_of(source, num_slots)
    return sum(min(k, u.rows) for u in source.units)


def epoch_parts(source: Source, num_slots: int, seed: int, epoch: int) -> list[Part]:
    """Epoch `epoch` of a source as parts, in order; the same on every slot. No part is empty."""
    k = stride_of(source, num_slots)
    order = seeded(seed, _UNITS, source.key, epoch).permutation(len(source.units))
    return [Part(int(u), j, min(k, source.units[u].rows))
            for u in order for j in range(min(k, source.units[u].rows))]


def part_rows(source: Source, part: Part, seed: int, epoch: int) -> np.ndarray:
    """Row indices (within the row group) of a part, in reading order."""
    rows = source.units[part.unit].rows
    return seeded(seed, _ROWS, source.key, epoch, part.unit).permutation(rows)[part.stride::part.of]


def slot_index(rank: int, worker: int, num_workers: int) -> int:
    return rank * num_workers + worker


def column_values(column: pa.ChunkedArray) -> list:
    """Python values; a list column (token ids) as one int32 array per row, not Python lists."""
    return list(column.to_numpy(zero_copy_only=False)) if pa.types.is_list(column.type) else column.to_pylist()


class RowStream:
    """One slot's endless share of a source: parts q = slot, slot + slots, … of the sequence of all
    epochs' parts (see the module docstring). Its whole position is `cursor` = [q, row in part].

    Rows are tuples of `columns`' values. With `encode` (the tokenizer's), the text columns among
    them (TOKEN_COLUMNS) come as token ids: the ids stored in the plan's token shards when it has
    them, otherwise `encode(text)` — row by row as rows are taken, so a part is held compactly."""

    def __init__(self, plan: Plan, source: Source, columns: tuple[str, ...], seed: int,
                 slot: int, num_slots: int, encode=None):
        self.plan, self.source, self.columns, self.seed = plan, source, columns, seed
        self.num_slots = num_slots
        self.per_epoch = parts_per_epoch(source, num_slots)
        self.cursor = [slot, 0]
        self.ids = None if plan.tokens_dir else encode  # stored ids come as they are (int32 arrays)
        self.is_text = [c in TOKEN_COLUMNS for c in columns]
        self._epoch: tuple[int, list[Part]] = (-1, [])
        self._part: tuple[int, list[tuple]] = (-1, [])

    def next_row(self) -> tuple[tuple, list[int]]:
        """The next row (values of `columns`) and its cursor."""
        at = list(self.cursor)
        row = self.row_at(at)
        self.cursor = [at[0], at[1] + 1] if at[1] + 1 < len(self.part(at[0])) else [at[0] + self.num_slots, 0]
        return row, at

    def row_at(self, cursor: list[int]) -> tuple:
        row = self.part(cursor[0])[cursor[1]]
        if self.ids is None:
            return row
        return tuple(self.ids(value) if text else value for value, text in zip(row, self.is_text))

    def part(self, q: int) -> list[tuple]:
        if self._part[0] != q:
            self._part = (q, self._read(q))
        return self._part[1]

    def _read(self, q: int) -> list[tuple]:
        epoch, index = divmod(q, self.per_epoch)
        if self._epoch[0] != epoch:
            self._epoch = (epoch, epoch_parts(self.source, self.num_slots, self.seed, epoch))
        part = self._epoch[1][index]
        unit, kind, fraction = self.source.units[part.unit], self.source.kind, self.plan.heldout_fraction
        names = tuple(TOKEN_COLUMNS.get(c, c) for c in self.columns) if self.plan.tokens_dir else self.columns
        keys = HELDOUT_COLUMNS[kind] if fraction > 0 else ()
        table = read_row_group(fs.join(self.plan.shards_dir, unit.path), unit.row_group, names + keys)
        kept = training_rows(table, kind, fraction)
        table = table.take(kept[part_rows(self.source, part, self.seed, epoch)])
        return list(zip(*(column_values(table.column(c)) for c in names)))


# --- examples ----------------------------------------------------------------------------------
# Examples are int64 numpy arrays (and ints), stacked into tensors once per batch by `collate`:
# building a tensor per example from Python lists was a third of the loader's time.

def padded(parts: list, length: int, value: int) -> np.ndarray:
    """`parts` (id arrays or lists) concatenated, then filled with `value` up to `length`."""
    row = np.full(length, value, dtype=np.int64)
    at = 0
    for part in parts:
        row[at:at + len(part)] = part
        at += len(part)
    return row


class Packer:
    """Documents of one language as `<2lang> tokens eos`, concatenated and cut into windows.

    `stream` gives rows (ids,): a RowStream of DOCS_COLUMNS with `encode`. Labels are the ids except
    at the `<2lang>` tags (the next document's language cannot be predicted). Only the document
    being cut is held; its state is that document's cursor and the number of its tokens already
    used, so a resume reads its ids again instead of storing them."""

    def __init__(self, stream: RowStream, tokenizer, lang: str, seq_len: int):
        self.stream, self.tokenizer, self.seq_len = stream, tokenizer, seq_len
        self.tag = tokenizer.lang_id(lang)
        self.doc: list[int] | None = None
        self.tokens = np.zeros(0, dtype=np.int64)
        self.used = 0

    def window(self) -> tuple[np.ndarray, np.ndarray]:
        ids = np.empty(self.seq_len, dtype=np.int64)
        labels = np.empty(self.seq_len, dtype=np.int64)
        filled = 0
        while filled < self.seq_len:
            if self.used == len(self.tokens):
                row, self.doc = self.stream.next_row()
                self.tokens, self.used = self.document(row), 0
            take = self.tokens[self.used:self.used + self.seq_len - filled]
            ids[filled:filled + len(take)] = take
            labels[filled:filled + len(take)] = take
            if self.used == 0:
                labels[filled] = IGNORE
            filled += len(take)
            self.used += len(take)
        return ids, labels

    def document(self, row: tuple) -> np.ndarray:
        tokens = np.empty(len(row[0]) + 2, dtype=np.int64)
        tokens[0], tokens[1:-1], tokens[-1] = self.tag, row[0], self.tokenizer.eos_id
        return tokens

    def state(self) -> list[int] | None:
        return None if self.doc is None else [*self.doc, self.used]

    def load(self, state: list[int] | None) -> None:
        if state is not None:
            self.doc, self.used = state[:2], state[2]
            self.tokens = self.document(self.stream.row_at(self.doc))


def lm_example(ids: np.ndarray, labels: np.ndarray, lang_id: int) -> dict:
    return {"kind": "lm", "input_ids": ids, "labels": labels, "lang": lang_id}


def mt_example(tokenizer, row: tuple, flip: bool, seq_len: int) -> dict:
    """`<2tgt> source <sep> target eos`, loss on target and eos only, padded to seq_len. A long pair
    keeps at least half the room for the source; a target cut short loses its eos. `row`:
    (src_lang, tgt_lang, src_ids, tgt_ids), a RowStream of BITEXT_COLUMNS with `encode`."""
    src_lang, tgt_lang, src_ids, tgt_ids = row
    if flip:
        src_lang, tgt_lang, src_ids, tgt_ids = tgt_lang, src_lang, tgt_ids, src_ids
    room = seq_len - 2  # after <2tgt> and <sep>
    target = np.append(np.asarray(tgt_ids, dtype=np.int64), tokenizer.eos_id)
    source = src_ids[:max(room // 2, room - len(target))]
    target = target[:room - len(source)]
    tgt_id = tokenizer.lang_id(tgt_lang)
    return {"kind": "mt", "input_ids": padded([[tgt_id], source, [tokenizer.sep_id], target], seq_len, tokenizer.pad_id),
            "labels": padded([[IGNORE] * (len(source) + 2), target], seq_len, IGNORE),
            "src_lang": tokenizer.lang_id(src_lang), "tgt_lang": tgt_id}


def pair_example(tokenizer, row: tuple, pair_len: int) -> dict:
    """Each side as `bos tokens eos` (no language tag: retrieval should not key on it), padded.
    `row`: (src_lang, tgt_lang, src_ids, tgt_ids)."""
    src_lang, tgt_lang, src_ids, tgt_ids = row

    def side(tokens) -> np.ndarray:
        return padded([[tokenizer.bos_id], tokens[:pair_len - 2], [tokenizer.eos_id]], pair_len, tokenizer.pad_id)

    return {"kind": "pair", "src_ids": side(src_ids), "tgt_ids": side(tgt_ids),
            "src_lang": tokenizer.lang_id(src_lang), "tgt_lang": tokenizer.lang_id(tgt_lang)}


def collate(examples: list[dict]) -> dict[str, dict[str, torch.Tensor]]:
    """Examples grouped by kind, in order, into stacked int64 tensors; kinds without examples absent.
    All of a batch's tensors are views of one buffer: a DataLoader worker hands a batch over as one
    shared-memory block instead of one per tensor (that hand-over set the pace with workers)."""
    arrays = {}
    for kind in KINDS:
        group = [e for e in examples if e["kind"] == kind]
        if group:
            arrays[kind] = {key: np.stack([e[key] for e in group]) if isinstance(group[0][key], np.ndarray)
                            else np.array([e[key] for e in group], dtype=np.int64)
                            for key in group[0] if key != "kind"}
    buffer = torch.empty(sum(a.size for group in arrays.values() for a in group.values()), dtype=torch.long)
    batch, at = {}, 0
    for kind, group in arrays.items():
        batch[kind] = {}
        for key, array in group.items():
            view = buffer[at:at + array.size].view(array.shape)
            view.copy_(torch.from_numpy(array))
            batch[kind][key] = view
            at += array.size
    return batch


# --- one slot's batches ------------------------------------------------------------------------

def draws(rng: np.random.Generator, names: list[str], probs: list[float], n: int) -> list[str]:
    """n names drawn with probabilities `probs`; none for n = 0 (a build may have no bitext)."""
    return [names[i] for i in rng.choice(len(names), size=n, p=probs)] if n else []


class SlotStream:
    """The batches of one slot: batch b's languages, pairs and directions are drawn from an RNG
    seeded by (seed, slot, b); rows come from the slot's RowStreams."""

    def __init__(self, dataset: StreamingDataset, role: int, roles: int, state: dict | None):
        plan, config = dataset.plan, dataset.config
        self.dataset, self.role = dataset, role
        self.slot = slot_index(dataset.rank, role, roles)
        num_slots, encode = dataset.world_size * roles, dataset.tokenizer.encode
        self.docs = {name: RowStream(plan, s, DOCS_COLUMNS, config.seed, self.slot, num_slots, encode)
                     for name, s in plan.docs.items()}
        self.bitext = {name: RowStream(plan, s, BITEXT_COLUMNS, config.seed, self.slot, num_slots, encode)
                       for name, s in plan.bitext.items()}
        self.packers = {name: Packer(stream, dataset.tokenizer, name, config.seq_len)
                        for name, stream in self.docs.items()}
        self.batch = 0
        if state is not None:
            self.load(state)

    def next_batch(self) -> dict:
        d, config, tok = self.dataset, self.dataset.config, self.dataset.tokenizer
        rng = seeded(config.seed, _BATCH, self.slot, self.batch)
        n = d.composition
        langs = draws(rng, d.lang_names, d.lang_p, n["lm"])
        mt_pairs = draws(rng, d.pair_names, d.pair_p, n["mt"])
        flips = rng.random(n["mt"]) < 0.5
        pair_pairs = draws(rng, d.pair_names, d.pair_p, n["pair"])
        examples = [lm_example(*self.packers[lang].window(), tok.lang_id(lang)) for lang in langs]
        examples += [mt_example(tok, self.bitext[pair].next_row()[0], bool(flip), config.translation_len)
                     for pair, flip in zip(mt_pairs, flips)]
        examples += [pair_example(tok, self.bitext[pair].next_row()[0], config.pair_len) for pair in pair_pairs]
        self.batch += 1
        return collate(examples)

    def state(self) -> dict:
        """Everything batch `self.batch` onwards depends on; small and JSON-serialisable."""
        return {"role": self.role, "batch": self.batch,
                "docs": {name: list(s.cursor) for name, s in self.docs.items()},
                "bitext": {name: list(s.cursor) for name, s in self.bitext.items()},
                "packers": {name: p.state() for name, p in self.packers.items()}}

    def load(self, state: dict) -> None:
        self.batch = state["batch"]
        for streams, cursors in ((self.docs, state["docs"]), (self.bitext, state["bitext"])):
            for name, stream in streams.items():
                stream.cursor = list(cursors[name])
        for name, packer in self.packers.items():
            packer.load(state["packers"][name])


# --- public: dataset and loader ----------------------------------------------------------------

def default_rank() -> tuple[int, int]:
    """(rank, world size) of the initialised process group, or (0, 1)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class StreamingDataset(IterableDataset):
    """Endless batches (dicts as in the module docstring, plus "state": the producing slot's state
    after the batch) for one rank. Use with `StreamingLoader`, which resumes; iterating it directly
    (e.g. `DataLoader(ds, batch_size=None, num_workers=n)`) always starts at batch 0.

    `tokenizer`: `encode(str) -> list[int]`, ints `bos_id, eos_id, pad_id, sep_id`, `lang_id(lang)`,
    and with `tokens_dir` (token-id shards of the build, `polycorp tokenize`, read instead of its
    text) `path`: its model file, the one the token shards were made with (checked by sha256).
    Shards are verified here (`load_plan`), so a bad build fails before training starts, unless
    the caller hands over the `plan` it loaded (the training loop: once per node, before it trains
    the tokenizer) or `verify` is False."""

    def __init__(self, build_dir: str, tokenizer, config: LoaderConfig = LoaderConfig(),
                 rank: int | None = None, world_size: int | None = None, tokens_dir: str | None = None,
                 verify: bool = True, plan: Plan | None = None):
        if tokens_dir is not None:
            check_tokenizer(tokens_dir, tokenizer)  # before the shards' long verification
        if plan is None:
            plan = load_plan(build_dir, config.heldout_fraction, tokens_dir, verify)
        elif (plan.build_dir, plan.heldout_fraction, plan.tokens_dir) != (build_dir, config.heldout_fraction, tokens_dir):
            raise ValueError(f"the plan is of {plan.build_dir} (held out {plan.heldout_fraction}, tokens "
                             f"{plan.tokens_dir}), not of {build_dir} ({config.heldout_fraction}, {tokens_dir})")
        self.plan = plan
        self.tokenizer, self.config = tokenizer, config
        default = default_rank()
        self.rank = default[0] if rank is None else rank
        self.world_size = default[1] if world_size is None else world_size
        self.composition = config.composition(bool(self.plan.bitext))
        if self.composition["lm"] and not self.plan.docs:
            raise DataError(f"{build_dir} has no docs rows to train on; check its manifest.json")
        lang_p = sampling_probs({n: s.size for n, s in self.plan.docs.items()}, config.alpha)
        pair_p = sampling_probs({n: s.size for n, s in self.plan.bitext.items()}, config.alpha)
        self.lang_names, self.lang_p = list(lang_p), list(lang_p.values())
        self.pair_names, self.pair_p = list(pair_p), list(pair_p.values())
        self.fingerprint = hashlib.sha256(
            json.dumps([self.plan.fingerprint, asdict(config), SPLIT]).encode()).hexdigest()

    def batches(self, role: int, roles: int, state: dict | None = None) -> Iterator[dict]:
        """Slot (rank, role)'s batches, from `state` (a batch's "state") or from the start."""
        stream = SlotStream(self, role, roles, state)
        while True:
            batch = stream.next_batch()
            batch["state"] = stream.state()
            yield batch

    def __iter__(self) -> Iterator[dict]:
        info = get_worker_info()
        return self.batches(info.id, info.num_workers) if info else self.batches(0, 1)


class _Rotated(IterableDataset):
    """What DataLoader workers run when resuming: worker w plays role (w + rotation) % roles, so the
    DataLoader's round-robin (worker 0 first) continues the saved run's order of roles."""

    def __init__(self, dataset: StreamingDataset, rotation: int, states: list[dict | None]):
        self.dataset, self.rotation, self.states = dataset, rotation, states

    def __iter__(self) -> Iterator[dict]:
        info = get_worker_info()
        worker, roles = (info.id, info.num_workers) if info else (0, 1)
        role = (worker + self.rotation) % roles
        return self.dataset.batches(role, roles, self.states[role])


def _as_is(batch: dict) -> dict:
    """The DataLoader's collate: batches are made whole by the dataset (its default walks every
    batch, the state's lists included, looking for arrays to convert)."""
    return batch


def _ignore_sigterm(worker_id: int) -> None:
    """Schedulers signal a job's whole process group: a worker that died of it would fail the main
    process before it writes the checkpoint the SIGTERM asks for. The main process ends workers
    (when the loader's iteration ends, or at exit: `_end_open_workers`)."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)


_OPEN: weakref.WeakSet = weakref.WeakSet()  # DataLoader iterators whose worker processes may be running


@atexit.register
def _end_open_workers() -> None:
    """multiprocessing's exit handler ends daemonic children with SIGTERM, which workers ignore, and
    then joins them: a script that stopped iterating a StreamingLoader without closing it would wait
    forever at exit. This handler, registered after that one (torch imports multiprocessing first),
    runs before it and shuts the workers down as the DataLoader does."""
    for batches in list(_OPEN):
        try:
            batches._shutdown_workers()
        except Exception:  # noqa: BLE001 — one broken loader must not leave the others' workers running
            pass


class StreamingLoader:
    """Batches of a `StreamingDataset` through a DataLoader with `num_workers` workers; resumable.

    A DataLoader over an IterableDataset takes batches from its workers round-robin, so global
    batch g comes from role g % workers. Each batch carries its role's state after it; the loader
    keeps the latest per role. Resuming at batch k starts role k % workers on worker 0 and every
    role from its saved state. Iterating again after a break also continues where it stopped.

    Every batch handed out counts as consumed: a loop must not pull one it will not train on
    (`zip(range(steps), loader)`, not `zip(loader, range(steps))`, which pulls one more)."""

    def __init__(self, dataset: StreamingDataset, num_workers: int = 0, pin_memory: bool = False):
        self.dataset, self.num_workers, self.pin_memory = dataset, num_workers, pin_memory
        self.roles = max(1, num_workers)
        self.batches = 0  # batches yielded so far (= training steps, one batch per step)
        self.states: list[dict | None] = [None] * self.roles

    def __iter__(self) -> Iterator[dict]:
        rotated = _Rotated(self.dataset, self.batches % self.roles, list(self.states))
        # its own generator: a DataLoader draws a base seed when iterated, which would otherwise
        # shift the global RNG (dropout masks) of a resumed run by one draw
        generator = torch.Generator().manual_seed(self.dataset.config.seed)
        loader = DataLoader(rotated, batch_size=None, num_workers=self.num_workers, pin_memory=self.pin_memory,
                            collate_fn=_as_is, generator=generator,
                            worker_init_fn=_ignore_sigterm if self.num_workers else None)
        batches = iter(loader)
        if self.num_workers:
            _OPEN.add(batches)
        for batch in batches:
            state = batch.pop("state")
            self.states[state["role"]] = state
            self.batches += 1
            yield batch

    def state_dict(self) -> dict:
        """JSON-serialisable; one per rank (each rank saves and loads its own)."""
        return {"fingerprint": self.dataset.fingerprint, "rank": self.dataset.rank,
                "world_size": self.dataset.world_size, "num_workers": self.num_workers,
                "batches": self.batches, "workers": list(self.states)}

    def load_state_dict(self, state: dict) -> None:
        here = self.state_dict()
        for key in ("world_size", "num_workers", "rank"):
            if state[key] != here[key]:
                raise ResumeError(f"loader state was saved with {key}={state[key]}, this run has {here[key]}; "
                                  f"resume with the same {key} or start a new run")
        if state["fingerprint"] != here["fingerprint"]:
            raise ResumeError("loader state was saved for another build or loader config; "
                              "resume with the same --data and settings or start a new run")
        self.batches, self.states = state["batches"], list(state["workers"])
