"""Exact deduplication on the hash of the dedup-normalised text.

Only small keys are shuffled: (text_hash, DocKey) pairs are grouped, one representative per group is
chosen deterministically, and every other member becomes a `Duplicate` pointing at it. The texts
themselves are dropped later, where the shard writer already groups them (see `WritePartitioned`).

Representative: a document of the previous build (`--previous`: it is published already), then the
earliest fetched copy (the original, not a later mirror), then the shortest URL (the canonical
address rather than an alias), then the smallest URL and id — never "first seen", so the choice is
the same whatever order or runner the documents arrive with. Documents of the previous build are
never removed (they are not part of this build); those of this build that duplicate one are
recorded as `exact_previous`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.records import Doc, Duplicate, pickled_as_tuple


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class DocKey:
    """What dedup needs of a document: identity, address and size, not its text."""

    id: str
    url: str
    lang: str
    fetched_at: datetime | None
    n_bytes: int
    minhash: bytes | None = None  # the signature, for near-duplicate detection of the kept ones
    previous: bool = False  # a document of the previous build (--previous), not of this one

    @classmethod
    def of(cls, doc: Doc) -> "DocKey":
        return cls(doc.id, doc.url, doc.lang, doc.fetched_at, len(doc.text.encode("utf-8")), doc.minhash)

    def preference(self) -> tuple:
        """Sorts in order of preference; `pref_id`, `pref_url`, `pref_is_previous` read it back."""
        fetched = self.fetched_at.isoformat() if self.fetched_at else "9999"
        return (0 if self.previous else 1, fetched, len(self.url), self.url, self.id)


def pref_is_previous(preference: tuple) -> bool:
    return preference[0] == 0


def pref_url(preference: tuple) -> str:
    return preference[3]


def pref_id(preference: tuple) -> str:
    return preference[4]


def resolve_exact_duplicates(members: Iterable[DocKey]) -> list[tuple[DocKey, Duplicate]]:
    """All members but the representative, each with its Duplicate record."""
    ordered = sorted(members, key=DocKey.preference)
    keep = ordered[0]
    kind = "exact_previous" if keep.previous else "exact"
    return [
        (m, Duplicate(m.id, m.url, keep.id, keep.url, kind, 1.0, m.lang))
        for m in ordered[1:] if not m.previous
    ]


class ExactDedup(beam.PTransform):
    """PCollection[Doc] → `.removed`: (DocKey, Duplicate) for every document to drop, and why;
    `.kept`: the DocKey of each text's representative (what near-duplicate detection starts from).
    `previous`: (text_hash, DocKey) of the previous build's documents, if any."""

    def __init__(self, previous=None):
        super().__init__()
        self.previous = previous

    def expand(self, docs):
        removed = Metrics.counter("dedup", "exact")

        def resolve(text_hash, members):
            members = list(members)
            for pair in resolve_exact_duplicates(members):
                removed.inc()
                yield pair
            yield beam.pvalue.TaggedOutput("kept", min(members, key=DocKey.preference))

        keyed = docs | "KeyByTextHash" >> beam.Map(lambda doc: (doc.text_hash, DocKey.of(doc)))
        if self.previous is not None:
            keyed = (keyed, self.previous) | "WithPrevious" >> beam.Flatten()
        return (
            keyed
            | "GroupByTextHash" >> beam.GroupByKey()
            | "ChooseRepresentative" >> beam.FlatMapTuple(resolve).with_outputs("kept", main="removed")
        )


PREVIOUS_COLUMNS = ["id", "url", "lang", "fetched_at", "text_hash", "minhash"]


class ReadPreviousKeys(beam.DoFn):
    """A docs shard of the previous build → (text_hash, DocKey(previous=True)) per document: its
    identity and signature, read from the shard's columns (never its text, never recomputed)."""

    def process(self, path: str):
        import pyarrow.parquet as pq
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.open(path, compression_type="uncompressed") as f:
            table = pq.read_table(f, columns=PREVIOUS_COLUMNS)
        Metrics.counter("dedup", "previous_documents").inc(table.num_rows)
        columns = {name: table.column(name).to_pylist() for name in PREVIOUS_COLUMNS}
        for i in range(table.num_rows):
            yield columns["text_hash"][i], DocKey(
                columns["id"][i], columns["url"][i], columns["lang"][i], columns["fetched_at"][i], 0,
                columns["minhash"][i], previous=True)
