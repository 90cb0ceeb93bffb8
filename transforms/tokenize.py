"""Token-id shards: a build's `docs` and `bitext` shards with their text replaced by token ids.

A token shard mirrors one build shard, at the same relative path: the same row groups holding the
same rows in the same order, so a training loader plans (shard, row group) units and held-out rows
exactly as from the text (`training/data.py`). Columns:

    docs:   id, url, ids                                          (string, list<int32>)
    bitext: src_doc_id, tgt_doc_id, src_url, tgt_url, src_lang, tgt_lang, src_ids, tgt_ids

(ids and URLs: what the loader knows held-out rows by, `training/split.py`).

`ids` is `tokenizer.encode(text)`: SentencePiece ids with no language tag, bos or eos — what the
loader would encode itself. A shard is read and written one row group at a time (bounded memory),
zstd; the bytes depend only on the build shard and the tokenizer, so a rerun writes identical files.

`TokenizeShards` applies this to a PCollection of build manifest entries, one element per shard:
the source is verified against its sha256 first, and a missing or corrupt one goes to the
`errors` output (a one-line message naming it) instead of being tokenized.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.metrics import Metrics

from transforms import fs
from transforms.manifest import shard_problem

IDS = pa.list_(pa.int32())
SCHEMAS = {
    "docs": pa.schema([("id", pa.string()), ("url", pa.string()), ("ids", IDS)]),
    "bitext": pa.schema([("src_doc_id", pa.string()), ("tgt_doc_id", pa.string()), ("src_url", pa.string()),
                         ("tgt_url", pa.string()), ("src_lang", pa.string()), ("tgt_lang", pa.string()),
                         ("src_ids", IDS), ("tgt_ids", IDS)]),
}
TEXT_OF = {"ids": "text", "src_ids": "src_text", "tgt_ids": "tgt_text"}  # token column ← text column
COMPRESSION, COMPRESSION_LEVEL = "zstd", 3  # the build's shard default

EncodeBatch = Callable[[list[str]], list[np.ndarray]]  # texts → one int32 array of ids each


class TokenizeError(Exception):
    """Token shards that cannot be written; the message is one line saying what to do."""


@dataclass(frozen=True)
class TokenShard:
    """A token shard written, as its tokens manifest entry."""

    path: str  # relative: the build shard's path, also under the tokens directory
    kind: str  # docs | bitext
    partition: dict  # {"lang": ...} or {"pair": ...}, as in the build manifest
    source_sha256: str
    rows: int
    row_groups: int
    tokens: int
    bytes: int
    sha256: str

    def manifest_entry(self) -> dict:
        return {"path": self.path, "kind": self.kind, **self.partition, "source_sha256": self.source_sha256,
                "rows": self.rows, "row_groups": self.row_groups, "tokens": self.tokens, "bytes": self.bytes,
                "sha256": self.sha256}


def id_lists(arrays: list[np.ndarray]) -> pa.ListArray:
    """One list<int32> value per array."""
    offsets = np.zeros(len(arrays) + 1, dtype=np.int32)
    np.cumsum([len(a) for a in arrays], out=offsets[1:])
    values = np.concatenate(arrays).astype(np.int32, copy=False) if arrays else np.zeros(0, np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values), type=IDS)


def token_table(table: pa.Table, kind: str, encode_batch: EncodeBatch) -> pa.Table:
    """A build row group → its token row group: id and language columns as they are, text as ids."""
    schema = SCHEMAS[kind]
    columns = [id_lists(encode_batch(table.column(TEXT_OF[name]).to_pylist())) if name in TEXT_OF
               else table.column(name) for name in schema.names]
    return pa.Table.from_arrays(columns, schema=schema)


def source_columns(kind: str) -> list[str]:
    return [TEXT_OF.get(name, name) for name in SCHEMAS[kind].names]


def token_count(table: pa.Table) -> int:
    return sum(pc.sum(pc.list_value_length(table.column(name))).as_py() or 0
               for name in table.schema.names if name in TEXT_OF)


def tokenize_shard(source: str, target: str, kind: str, encode_batch: EncodeBatch) -> tuple[int, int, int]:
    """Write the token shard of build shard `source` to `target`, a row group at a time; returns
    (rows, row groups, tokens)."""
    rows = tokens = 0
    with fs.open_read(source) as raw, pq.ParquetFile(raw) as f, fs.create(target) as out, \
            pq.ParquetWriter(out, SCHEMAS[kind], compression=COMPRESSION, compression_level=COMPRESSION_LEVEL) as writer:
        groups = f.num_row_groups
        for group in range(groups):
            table = token_table(f.read_row_group(group, columns=source_columns(kind)), kind, encode_batch)
            writer.write_table(table, row_group_size=max(1, table.num_rows))  # one row group, even empty
            rows, tokens = rows + table.num_rows, tokens + token_count(table)
    return rows, groups, tokens


class _TokenizeShard(beam.DoFn):
    """Build manifest entry → TokenShard (main output) or a one-line error (`errors`)."""

    def __init__(self, build_dir: str, out_dir: str, tokenizer_path: str):
        self.build_dir, self.out_dir, self.tokenizer_path = build_dir, out_dir, tokenizer_path
        self.shards = Metrics.counter("tokenize", "shards")
        self.rows = Metrics.counter("tokenize", "rows")
        self.tokens = Metrics.counter("tokenize", "tokens")

    def setup(self):
        import sentencepiece as spm

        self.sp = spm.SentencePieceProcessor(model_proto=fs.read_bytes(self.tokenizer_path))

    def encode_batch(self, texts: list[str]) -> list[np.ndarray]:
        return self.sp.encode(texts, return_type="numpy")  # SentencePiece's threads, GIL released

    def process(self, entry: dict):
        source = fs.join(self.build_dir, entry["path"])
        problem = shard_problem(source, entry["sha256"])
        if problem:
            yield beam.pvalue.TaggedOutput("errors", problem)
            return
        target = fs.join(self.out_dir, entry["path"])
        rows, groups, tokens = tokenize_shard(source, target, entry["kind"], self.encode_batch)
        self.shards.inc()
        self.rows.inc(rows)
        self.tokens.inc(tokens)
        partition = {k: entry[k] for k in ("lang", "pair") if k in entry}
        yield TokenShard(entry["path"], entry["kind"], partition, entry["sha256"], rows, groups, tokens,
                         fs.size(target), fs.sha256(target))


def write_results(items: list, path: str) -> None:
    """Token shards (as manifest entries) or error messages, for the driver to read back (on a
    worker: a function of this module, so workers need no torch to run it)."""
    fs.write_json(path, [i.manifest_entry() if isinstance(i, TokenShard) else i for i in items])


class TokenizeShards(beam.PTransform):
    """PCollection[build manifest entry] → {"shards": TokenShard, "errors": str}; files under `out_dir`."""

    def __init__(self, build_dir: str, out_dir: str, tokenizer_path: str):
        super().__init__()
        self.build_dir, self.out_dir, self.tokenizer_path = build_dir, out_dir, tokenizer_path

    def expand(self, entries):
        tokenize = _TokenizeShard(self.build_dir, self.out_dir, self.tokenizer_path)
        return (
            entries
            | "Spread" >> beam.Reshuffle()  # one shard an element: every worker takes some
            | "Tokenize" >> beam.ParDo(tokenize).with_outputs("errors", main="shards")
        )
