"""Staging: the per-input phase's output, one Parquet file per input file.

A staging file holds one row per record of its input: every document candidate (text, language,
signals) and every record that is already decided (filtered, rejected, or skipped as a non-document
WARC record), told apart by `status`. It is named by the input's fingerprint and the hash of the
configuration that affects it, written to a temporary name and renamed into place, so a staging file
that exists is complete: a rerun after a crash, or a build with more inputs, reads it instead of
the raw WARC.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from typing import Iterable, Iterator

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from transforms.read import Skipped
from transforms.records import DOC_SCHEMA, Doc, Filtered, Reject, from_table

STATUS_CANDIDATE, STATUS_FILTERED, STATUS_REJECTED, STATUS_SKIPPED = (
    "candidate", "filtered", "rejected", "skipped"
)
_EXTRA = [
    ("status", pa.string()),
    ("reason", pa.string()),
    ("detail", pa.string()),
    ("stage", pa.string()),
    ("error", pa.string()),
    ("message", pa.string()),
]
STAGING_SCHEMA = pa.schema(list(DOC_SCHEMA) + [pa.field(n, t) for n, t in _EXTRA])
_FINGERPRINT_SPAN = 1 << 20


def input_fingerprint(path: str) -> str:
    """Content fingerprint of an input file: its size and its first and last MiB.

    Reading whole multi-GB archives just to name their cache entry would cost as much as parsing
    them; WARC files are written once, and any rewrite changes their size or their ends."""
    size = FileSystems.match([path])[0].metadata_list[0].size_in_bytes
    h = xxhash.xxh3_128(str(size).encode())
    with FileSystems.open(path, compression_type="uncompressed") as f:
        h.update(f.read(_FINGERPRINT_SPAN))
        if size > 2 * _FINGERPRINT_SPAN:
            f.seek(size - _FINGERPRINT_SPAN)
            h.update(f.read(_FINGERPRINT_SPAN))
    return h.hexdigest()


def staging_name(fingerprint: str, config_hash: str) -> str:
    return f"{fingerprint}-{config_hash}.parquet"


def _row(record) -> dict:
    if isinstance(record, Doc):
        row = {name: getattr(record, name) for name in DOC_SCHEMA.names}
        row["status"] = STATUS_CANDIDATE
    elif isinstance(record, Filtered):
        row = {"id": record.id, "url": record.url, "lang": record.lang, "text": record.text,
               "source": record.source, "status": STATUS_FILTERED, "reason": record.reason,
               "detail": record.detail}
    elif isinstance(record, Reject):
        row = {"id": record.id, "url": record.url, "source": record.source, "status": STATUS_REJECTED,
               "stage": record.stage, "error": record.error, "message": record.message}
    elif isinstance(record, Skipped):
        row = {"source": record.source, "status": STATUS_SKIPPED, "reason": record.warc_type}
    else:
        raise TypeError(f"cannot stage {type(record).__name__}")
    return row


def _order(row: dict) -> tuple:
    return (row["status"], row.get("source") or "", row.get("id") or "")


def staging_table(input_path: str, records: Iterable) -> pa.Table:
    """All results of one input as one table, in a canonical order (deterministic bytes)."""
    rows = sorted((_row(r) for r in records), key=_order)
    columns = {name: [row.get(name) for row in rows] for name in STAGING_SCHEMA.names}
    n_documents = sum(1 for row in rows if row["status"] != STATUS_SKIPPED)
    metadata = {b"polycorp.input": input_path.encode(), b"polycorp.input_records": str(n_documents).encode()}
    return pa.Table.from_pydict(columns, schema=STAGING_SCHEMA.with_metadata(metadata))


def write_atomically(path: str, data: bytes) -> None:
    """Write `data` to `path` so that `path` either does not exist or is complete."""
    tmp = f"{path}.tmp-{uuid.uuid4().hex}"
    with FileSystems.create(tmp) as f:
        f.write(data)
    FileSystems.rename([tmp], [path])


def write_staging(path: str, table: pa.Table) -> None:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", compression_level=1)
    write_atomically(path, buffer.getvalue())


@dataclass(frozen=True, slots=True)
class StagedInput:
    """What the global phase reads of one staging file."""

    input_path: str
    input_records: int
    docs: list
    filtered: list
    rejected: list
    skipped: list


def read_staging(path: str) -> StagedInput:
    with FileSystems.open(path, compression_type="uncompressed") as f:
        table = pq.read_table(f)
    meta = table.schema.metadata or {}
    status = table.column("status")

    def rows(value):
        return table.filter(pa.compute.equal(status, value))

    filtered = [
        Filtered(r["id"], r["url"], r["lang"], r["reason"], r["text"], r["source"], r["detail"])
        for r in rows(STATUS_FILTERED).to_pylist()
    ]
    rejected = [
        Reject(r["source"], r["stage"], r["error"], r["message"], r["url"])
        for r in rows(STATUS_REJECTED).to_pylist()
    ]
    skipped = [Skipped(r["source"], r["reason"]) for r in rows(STATUS_SKIPPED).to_pylist()]
    return StagedInput(
        input_path=meta.get(b"polycorp.input", b"").decode(),
        input_records=int(meta.get(b"polycorp.input_records", b"0")),
        docs=from_table(rows(STATUS_CANDIDATE), Doc),
        filtered=filtered,
        rejected=rejected,
        skipped=skipped,
    )


class WriteStaging(beam.DoFn):
    """(staging path, [results of one input]) → the staging path, once the file is in place.

    `None` elements are placeholders that make sure an input with no records still gets a file."""

    def __init__(self, input_paths: dict[str, str]):
        self.input_paths = input_paths  # staging path → input path
        self.written = Metrics.counter("staging", "files_written")

    def process(self, element):
        path, results = element
        table = staging_table(self.input_paths[path], (r for r in results if r is not None))
        write_staging(path, table)
        self.written.inc()
        yield path


class ReadStaging(beam.DoFn):
    """Staging path → Doc (main) and tagged `filtered`, `rejected`, `skipped`, `input_records`."""

    def process(self, path: str) -> Iterator:
        staged = read_staging(path)
        yield beam.pvalue.TaggedOutput("input_records", staged.input_records)
        yield from staged.docs
        for tag in ("filtered", "rejected", "skipped"):
            for record in getattr(staged, tag):
                yield beam.pvalue.TaggedOutput(tag, record)
