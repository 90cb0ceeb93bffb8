"""Deterministic Parquet shards: hash-partitioned, sorted, zstd, row groups sized for streaming.

`WritePartitioned` writes any record type the same way: a partition (e.g. `lang=de`) holds
`n = ceil(bytes / target_bytes)` shards; a record goes to shard `hash(id) % n`; inside a shard rows
are sorted by id and cut into row groups of about `row_group_bytes` of text, so a training loader
can split work by (shard, row group). Nothing depends on arrival order, so two runs — on any runner,
with any parallelism — write byte-identical files. Every one of the n shards is written, empty or
not, so `part-<i>-of-<n>` always means n files.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass
from typing import Callable

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from transforms.config import ShardConfig
from transforms.progress import flush, tick
from transforms.records import shard_of, to_table


@dataclass(frozen=True, slots=True)
class ShardInfo:
    path: str  # relative to the build directory
    kind: str  # docs | dups | filtered | rejects | ...
    partition: str  # e.g. "de" for docs/lang=de; "" when the kind is not partitioned
    rows: int
    bytes: int
    sha256: str
    text_chars: int  # characters of `text` (docs); 0 for kinds without text

    def manifest_entry(self, partition_name: str | None) -> dict:
        entry = {"path": self.path, "kind": self.kind, "rows": self.rows, "bytes": self.bytes,
                 "sha256": self.sha256}
        if partition_name:
            entry[partition_name] = self.partition
        return entry


def shard_count(total_bytes: int, target_bytes: int) -> int:
    return max(1, math.ceil(total_bytes / target_bytes))


def row_group_bounds(sizes: list[int], row_group_bytes: int) -> list[tuple[int, int]]:
    """[start, end) row ranges whose summed sizes reach `row_group_bytes` (the last may be smaller)."""
    bounds, start, acc = [], 0, 0
    for i, size in enumerate(sizes):
        acc += size
        if acc >= row_group_bytes:
            bounds.append((start, i + 1))
            start, acc = i + 1, 0
    if start < len(sizes) or not bounds:
        bounds.append((start, len(sizes)))
    return bounds


def parquet_bytes(records: list, cls: type, sizes: list[int], config: ShardConfig) -> bytes:
    """Records (already in order) as a Parquet file with row groups of ~config.row_group_bytes."""
    table = to_table(records, cls)
    buffer = io.BytesIO()
    with pq.ParquetWriter(
        buffer, table.schema, compression=config.compression,
        compression_level=config.compression_level,
    ) as writer:
        for start, end in row_group_bounds(sizes, config.row_group_bytes):
            chunk = table.slice(start, end - start)
            writer.write_table(chunk, row_group_size=max(1, chunk.num_rows))
    return buffer.getvalue()


def text_size(record) -> int:
    """Bytes of a record's text columns (+ 64 for the rest of the row, roughly)."""
    return 64 + sum(len(t.encode("utf-8")) for t in (getattr(record, name, None) for name in _TEXT_COLUMNS) if t)


_TEXT_COLUMNS = ("text", "src_text", "tgt_text")


class WritePartitioned(beam.PTransform):
    """PCollection[record] → PCollection[ShardInfo], files under `out_dir/kind/<partition>/`.

    `partition_of(record)` names the partition value ("" for none) and `partition_name` its column
    (e.g. "lang" → directories `lang=<value>`)."""

    def __init__(self, out_dir: str, kind: str, cls: type, config: ShardConfig,
                 partition_of: Callable = lambda r: "", partition_name: str | None = None):
        super().__init__()
        self.out_dir, self.kind, self.cls, self.config = out_dir, kind, cls, config
        self.partition_of, self.partition_name = partition_of, partition_name

    def expand(self, records):
        partition_of, target = self.partition_of, self.config.target_bytes
        sizes = records | "Sizes" >> beam.Map(lambda r: (partition_of(r), text_size(r)))
        n_shards = (
            sizes
            | "BytesPerPartition" >> beam.CombinePerKey(sum)
            | "ShardsPerPartition" >> beam.MapTuple(lambda p, total: (p, shard_count(total, target)))
        )
        n_of = beam.pvalue.AsDict(n_shards)
        tagged = {
            "rows": records | "KeyByShard" >> beam.Map(
                lambda r, n: ((partition_of(r), shard_of(r.id, n[partition_of(r)])), r), n=n_of),
            "slots": n_shards | "AllShards" >> beam.FlatMapTuple(
                lambda p, n: [((p, i), None) for i in range(n)]),
        }
        return (
            tagged
            | "GroupByShard" >> beam.CoGroupByKey()
            | "WriteShard" >> beam.ParDo(
                _WriteShard(self.out_dir, self.kind, self.cls, self.config, self.partition_name),
                n=n_of)
        )


class _WriteShard(beam.DoFn):
    def __init__(self, out_dir, kind, cls, config, partition_name):
        self.out_dir, self.kind, self.cls, self.config = out_dir, kind, cls, config
        self.partition_name = partition_name
        self.rows = Metrics.counter("shard", f"{kind}_rows")

    def finish_bundle(self):
        flush()  # live progress: this bundle's last ticks

    def process(self, element, n):
        (partition, index), groups = element
        records = sorted(groups["rows"], key=lambda r: r.id)
        sizes = [text_size(r) for r in records]
        data = parquet_bytes(records, self.cls, sizes, self.config)
        subdir = f"{self.partition_name}={partition}/" if self.partition_name else ""
        rel = f"{self.kind}/{subdir}part-{index:05d}-of-{n[partition]:05d}.parquet"
        with FileSystems.create(FileSystems.join(self.out_dir, rel)) as f:
            f.write(data)
        self.rows.inc(len(records))
        tick("shards_written")
        chars = sum(len(r.text) for r in records if getattr(r, "text", None))
        yield ShardInfo(rel, self.kind, partition, len(records), len(data),
                        hashlib.sha256(data).hexdigest(), chars)
