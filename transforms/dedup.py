"""Exact deduplication on the hash of the dedup-normalised text.

Only small keys are shuffled: (text_hash, DocKey) pairs are grouped, one representative per group is
chosen deterministically, and every other member becomes a `Duplicate` pointing at it. The texts
themselves are dropped later, where the shard writer already groups them (see `WritePartitioned`).

Representative: the earliest fetched copy (the original, not a later mirror), then the shortest URL
(the canonical address rather than an alias), then the smallest URL and id — never "first seen",
so the choice is the same whatever order or runner the documents arrive with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.records import Doc, Duplicate


@dataclass(frozen=True, slots=True)
class DocKey:
    """What dedup needs of a document: identity, address and size, not its text."""

    id: str
    url: str
    lang: str
    fetched_at: datetime | None
    n_bytes: int
    minhash: bytes | None = None  # the signature, for near-duplicate detection of the kept ones

    @classmethod
    def of(cls, doc: Doc) -> "DocKey":
        return cls(doc.id, doc.url, doc.lang, doc.fetched_at, len(doc.text.encode("utf-8")), doc.minhash)

    def preference(self) -> tuple:
        fetched = self.fetched_at.isoformat() if self.fetched_at else "9999"
        return (fetched, len(self.url), self.url, self.id)


def resolve_exact_duplicates(members: Iterable[DocKey]) -> list[tuple[DocKey, Duplicate]]:
    """All members but the representative, each with its Duplicate record."""
    ordered = sorted(members, key=DocKey.preference)
    keep = ordered[0]
    return [
        (m, Duplicate(m.id, m.url, keep.id, keep.url, "exact", 1.0, m.lang))
        for m in ordered[1:]
    ]


class ExactDedup(beam.PTransform):
    """PCollection[Doc] → `.removed`: (DocKey, Duplicate) for every document to drop, and why;
    `.kept`: the DocKey of each text's representative (what near-duplicate detection starts from)."""

    def expand(self, docs):
        removed = Metrics.counter("dedup", "exact")

        def resolve(text_hash, members):
            members = list(members)
            pairs = resolve_exact_duplicates(members)
            dropped = {key.id for key, _ in pairs}
            for pair in pairs:
                removed.inc()
                yield pair
            for key in members:
                if key.id not in dropped:
                    yield beam.pvalue.TaggedOutput("kept", key)

        return (
            docs
            | "KeyByTextHash" >> beam.Map(lambda doc: (doc.text_hash, DocKey.of(doc)))
            | "GroupByTextHash" >> beam.GroupByKey()
            | "ChooseRepresentative" >> beam.FlatMapTuple(resolve).with_outputs("kept", main="removed")
        )
