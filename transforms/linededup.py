"""Repeated lines (C4 / CCNet style): a line found in many documents stays in one of them.

A line (paragraph: the text is one paragraph per line) counts when its simplified form (lower case,
digits → 0, punctuation and spacing ignored, as for MinHash) has at least `min_chars` characters;
shorter lines (headings, list markers) are structure, not boilerplate, and are left alone. A line
found in at least `min_docs` of the documents that survived dedup is kept only in the preferred one
of them (the order of exact dedup: earliest fetch, shortest URL, URL, id) and removed from the
others. A document left shorter than the build's `filters.min_chars` is filtered with reason
`repeated_lines`.

In Beam, no worker holds the corpus's lines: each document's line hashes (8 bytes a line) are
joined with the ids removed by dedup, counted per line with a combiner (so a line in a million
documents is pre-counted on every worker before the shuffle, not gathered on one key), joined back
to the documents that hold a repeated line, and the documents rewritten in one join by id, which
also drops the removed duplicates.
"""

from __future__ import annotations

from dataclasses import replace

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics

from transforms.config import BuildConfig
from transforms.dedup import DocKey, pref_id
from transforms.minhash import line_hashes
from transforms.records import Doc, Filtered


def line_hash(line: str, min_chars: int) -> int | None:
    """64-bit hash of a line's simplified form, or None if it is too short to count."""
    hashes, lengths = line_hashes(line.replace("\n", " "))
    return int(hashes[0]) if lengths[0] >= min_chars else None


def doc_line_hashes(text: str, min_chars: int) -> list[int]:
    """The distinct countable line hashes of a text, in order of first appearance."""
    hashes, lengths = line_hashes(text)
    countable = hashes[lengths >= min_chars]
    _, first = np.unique(countable, return_index=True)
    return countable[np.sort(first)].tolist()


def remove_lines(doc: Doc, drop: set[int], min_chars: int) -> tuple[Doc, int]:
    """`doc` without the lines whose hash is in `drop`; and how many lines went."""
    hashes, lengths = line_hashes(doc.text)
    gone = (lengths >= min_chars) & np.isin(hashes, np.fromiter(drop, dtype=np.uint64, count=len(drop)))
    lines = doc.text.split("\n")
    text = "\n".join(line for line, g in zip(lines, gone.tolist()) if not g).strip("\n")
    return replace(doc, text=text, n_chars=len(text)), int(gone.sum())


class LineStats(beam.CombineFn):
    """preference tuples of the documents holding a line → (documents, the preferred one)."""

    def create_accumulator(self):
        return 0, None

    def add_input(self, accumulator, preference):
        n, best = accumulator
        return n + 1, preference if best is None or preference < best else best

    def merge_accumulators(self, accumulators):
        n, best = 0, None
        for count, pref in accumulators:
            n += count
            if pref is not None and (best is None or pref < best):
                best = pref
        return n, best

    def extract_output(self, accumulator):
        return accumulator


def _surviving_lines(element):
    _, grouped = element
    if list(grouped["removed"]):
        return
    for preference, hashes in grouped["lines"]:
        for h in hashes:
            yield h, preference


def _drops(element):
    h, grouped = element
    keeper = next(iter(grouped["keeper"]), None)
    if keeper is None:
        return
    for preference in grouped["at"]:
        if preference != keeper:
            yield pref_id(preference), h


class RepeatedLines(beam.PTransform):
    """(docs, ids removed by dedup) → `.docs`: the surviving documents, repeated lines removed;
    `.filtered`: the documents left too short."""

    def __init__(self, config: BuildConfig):
        super().__init__()
        self.config = config

    def drops(self, docs, removed_ids):
        """(document id, line hash) for every repeated line a document must lose."""
        min_chars, min_docs = self.config.repeated_lines.min_chars, self.config.repeated_lines.min_docs
        occurrences = (
            {"lines": docs | "LineHashes" >> beam.Map(
                lambda d: (d.id, (DocKey.of(d).preference(), doc_line_hashes(d.text, min_chars)))),
             "removed": removed_ids | "KeyRemoved" >> beam.Map(lambda i: (i, None))}
            | "JoinRemoved" >> beam.CoGroupByKey()
            | "SurvivingLines" >> beam.FlatMap(_surviving_lines)
        )
        repeated = (
            occurrences
            | "CountLines" >> beam.CombinePerKey(LineStats())
            | "Repeated" >> beam.Filter(lambda kv: kv[1][0] >= min_docs)
            | "Keeper" >> beam.MapTuple(lambda h, stats: (h, stats[1]))
        )
        return (
            {"at": occurrences, "keeper": repeated}
            | "JoinRepeated" >> beam.CoGroupByKey()
            | "Drops" >> beam.FlatMap(_drops)
        )

    def expand(self, inputs):
        docs, removed_ids = inputs
        min_chars, short = self.config.repeated_lines.min_chars, self.config.filters.min_chars
        lines_removed = Metrics.counter("repeated_lines", "lines_removed")
        docs_changed = Metrics.counter("repeated_lines", "documents_changed")
        if self.config.repeated_lines.enabled:
            to_drop = self.drops(docs, removed_ids)
        else:
            to_drop = docs.pipeline | "NoDrops" >> beam.Create([])

        def rewrite(element):
            _, grouped = element
            if list(grouped["removed"]):
                return
            drop = set(grouped["drop"])
            for doc in grouped["doc"]:
                if not drop:
                    yield doc
                    continue
                before = doc.n_chars
                doc, n = remove_lines(doc, drop, min_chars)
                lines_removed.inc(n)
                docs_changed.inc()
                if doc.n_chars < short:
                    yield beam.pvalue.TaggedOutput("filtered", Filtered(
                        doc.id, doc.url, doc.lang, "repeated_lines", doc.text, doc.source,
                        f"{n} repeated lines removed: {before} → {doc.n_chars} chars < {short}"))
                else:
                    yield doc

        return (
            {"doc": docs | "DocById" >> beam.Map(lambda d: (d.id, d)),
             "drop": to_drop,
             "removed": removed_ids | "KeyRemovedAgain" >> beam.Map(lambda i: (i, None))}
            | "JoinDocs" >> beam.CoGroupByKey()
            | "Rewrite" >> beam.FlatMap(rewrite).with_outputs("filtered", main="docs")
        )
