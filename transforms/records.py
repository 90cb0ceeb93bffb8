"""The record types that flow through a build, and their Parquet schemas.

One module, one schema per kind of row, shared by every stage:

- `RawRecord`: a WARC record that may hold a document (read stage → extract stage).
- `Doc`: a document with its text and language (extract → language ID → staging → shards).
- `Filtered`, `Duplicate`, `Reject`: what did not become a kept document, and why.
- `Bitext`, `BitextFiltered`: aligned sentence pairs of translated documents, and the dropped ones.

Every input record ends as exactly one of: a kept `Doc`, a `Filtered`, a `Duplicate` or a `Reject`.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, fields
from datetime import datetime, timezone

import pyarrow as pa
import xxhash


def stable_hash(*parts: str) -> str:
    """128-bit hex digest of the parts (stable across processes, machines and Python versions)."""
    h = xxhash.xxh3_128()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def shard_of(key: str, n_shards: int) -> int:
    """Shard index of a hex id: uniform and stable, independent of the order documents arrive in."""
    return int(key[:16], 16) % n_shards


def pickled_as_tuple(cls):
    """Pickle a slotted dataclass as (class, field values). Beam pickles every element it moves
    between stages; the dataclass default calls `fields()` for every object and took ~10% of a
    sample build's CPU."""
    values = operator.attrgetter(*[f.name for f in fields(cls)])
    cls.__reduce__ = lambda self: (cls, values(self))
    return cls


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class RawRecord:
    source: str  # "<input path>@<byte offset of the record>"
    record_id: str  # WARC-Record-ID
    url: str
    fetched_at: datetime  # WARC-Date, UTC
    warc_type: str  # response | resource | conversion
    http_status: int | None
    content_type: str | None  # media type, lower case, without parameters
    header_charset: str | None  # charset parameter of the HTTP Content-Type
    payload: bytes

    @property
    def doc_id(self) -> str:
        return stable_hash(self.url, self.record_id, self.source.rsplit("@", 1)[-1])


@pickled_as_tuple
@dataclass(slots=True)
class Doc:
    id: str
    url: str
    host: str
    fetched_at: datetime
    source: str
    title: str | None
    text: str
    lang: str = ""
    lang_score: float = 0.0
    script: str = ""
    n_chars: int = 0
    encoding: str = ""  # charset the payload was decoded with, and how it was chosen ("utf-8/meta")
    text_hash: str = ""  # hash of the dedup-normalised text: equal hashes = exact duplicates
    minhash: bytes | None = None  # MinHash signature, uint32 little-endian (None: no shingles)
    quality: dict | None = None  # quality signals (transforms/quality.py), None if not computed
    alternates: list | None = None  # [{"hreflang", "url"}]: the page's other-language versions


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Filtered:
    id: str
    url: str | None
    lang: str | None
    reason: str
    text: str | None
    source: str = ""
    detail: str | None = None  # e.g. the HTTP status, the content type, the score that failed


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Duplicate:
    id: str
    url: str
    duplicate_of: str
    duplicate_of_url: str
    kind: str  # exact | near | ...
    similarity: float
    lang: str = ""


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Bitext:
    """A sentence (or 2-sentence) pair of two aligned documents; src_lang < tgt_lang."""

    id: str
    src_lang: str
    tgt_lang: str
    src_text: str
    tgt_text: str
    score: float  # alignment confidence of the bead, (0, 1]
    src_url: str
    tgt_url: str
    src_doc_id: str
    tgt_doc_id: str
    method: str  # document evidence and bead, e.g. "hreflang/1-1", "content/2-1"
    doc_score: float = 0.0  # the document pair's content score

    @property
    def pair(self) -> str:
        return f"{self.src_lang}-{self.tgt_lang}"


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class BitextFiltered:
    """A candidate sentence pair that was dropped, and why (`duplicate`: `detail` is the kept id)."""

    id: str
    src_lang: str
    tgt_lang: str
    src_text: str
    tgt_text: str
    score: float
    src_doc_id: str
    tgt_doc_id: str
    reason: str
    detail: str | None = None


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Reject:
    source: str
    stage: str  # read | extract | langid | ...
    error: str  # exception class or short error code
    message: str
    url: str | None = None

    @property
    def id(self) -> str:
        return stable_hash(self.source, self.stage)


TIMESTAMP = pa.timestamp("us", tz="UTC")


def _quality_type() -> pa.DataType:
    from transforms.quality import INT_SIGNALS, SIGNALS

    return pa.struct([(name, pa.int32() if name in INT_SIGNALS else pa.float32()) for name in SIGNALS])


QUALITY_TYPE = _quality_type()

DOC_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("url", pa.string()),
        ("host", pa.string()),
        ("fetched_at", TIMESTAMP),
        ("source", pa.string()),
        ("title", pa.string()),
        ("text", pa.string()),
        ("lang", pa.string()),
        ("lang_score", pa.float32()),
        ("script", pa.string()),
        ("n_chars", pa.int32()),
        ("encoding", pa.string()),
        ("text_hash", pa.string()),
        ("minhash", pa.binary()),
        ("quality", QUALITY_TYPE),
        ("alternates", pa.list_(pa.struct([("hreflang", pa.string()), ("url", pa.string())]))),
    ]
)

BITEXT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("src_lang", pa.string()),
        ("tgt_lang", pa.string()),
        ("src_text", pa.string()),
        ("tgt_text", pa.string()),
        ("score", pa.float32()),
        ("src_url", pa.string()),
        ("tgt_url", pa.string()),
        ("src_doc_id", pa.string()),
        ("tgt_doc_id", pa.string()),
        ("method", pa.string()),
        ("doc_score", pa.float32()),
    ]
)

BITEXT_FILTERED_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("src_lang", pa.string()),
        ("tgt_lang", pa.string()),
        ("src_text", pa.string()),
        ("tgt_text", pa.string()),
        ("score", pa.float32()),
        ("src_doc_id", pa.string()),
        ("tgt_doc_id", pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
    ]
)

FILTERED_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("url", pa.string()),
        ("lang", pa.string()),
        ("reason", pa.string()),
        ("text", pa.string()),
        ("source", pa.string()),
        ("detail", pa.string()),
    ]
)

DUPLICATE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("url", pa.string()),
        ("duplicate_of", pa.string()),
        ("duplicate_of_url", pa.string()),
        ("kind", pa.string()),
        ("similarity", pa.float32()),
        ("lang", pa.string()),
    ]
)

REJECT_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("stage", pa.string()),
        ("error", pa.string()),
        ("message", pa.string()),
        ("url", pa.string()),
    ]
)

SCHEMAS = {Doc: DOC_SCHEMA, Filtered: FILTERED_SCHEMA, Duplicate: DUPLICATE_SCHEMA, Reject: REJECT_SCHEMA,
           Bitext: BITEXT_SCHEMA, BitextFiltered: BITEXT_FILTERED_SCHEMA}


def to_table(records: list, cls: type) -> pa.Table:
    """Rows of one record type as an Arrow table with that type's schema."""
    schema = SCHEMAS[cls]
    columns = {name: [getattr(r, name) for r in records] for name in schema.names}
    return pa.Table.from_pydict(columns, schema=schema)


def from_table(table: pa.Table, cls: type) -> list:
    """Rows of an Arrow table (with at least the type's columns) as records of that type."""
    names = [f.name for f in fields(cls)]
    cols = {n: table.column(n).to_pylist() for n in names if n in table.column_names}
    return [cls(**{n: cols[n][i] for n in cols}) for i in range(table.num_rows)]


def utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)

