"""Accounting: every input record is kept, filtered, deduplicated or rejected, and the counts add up.

The global phase turns each outcome into an `(outcome, reason, lang)` key with a count; `build_stats`
folds the summed counts into `stats.json`, and `check_invariant` refuses a build whose numbers do
not add up (a record lost anywhere in the graph would show here, not in a user's corpus).
"""

from __future__ import annotations

from collections import defaultdict

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.read import Skipped
from transforms.records import Duplicate, Filtered, Reject

INPUT, KEPT, KEPT_CHARS, FILTERED, DUPLICATES, REJECTED, SKIPPED = (
    "input_records", "kept", "kept_chars", "filtered", "duplicates", "rejected", "skipped"
)


class InvariantError(RuntimeError):
    """The accounting does not add up: some record was lost or counted twice."""


def outcome_key(record) -> tuple[str, str, str]:
    if isinstance(record, Filtered):
        return FILTERED, record.reason, record.lang or ""
    if isinstance(record, Duplicate):
        return DUPLICATES, record.kind, record.lang
    if isinstance(record, Reject):
        return REJECTED, f"{record.stage}/{record.error}", ""
    if isinstance(record, Skipped):
        return SKIPPED, record.warc_type, ""
    raise TypeError(f"not an outcome: {type(record).__name__}")


BITEXT_OUTCOMES = ("bitext_candidates", "bitext_kept", "bitext_filtered", "bitext_duplicates",
                   "document_pairs", "unaligned_sentences")


def bitext_stats(counts: dict[tuple[str, str, str], int]) -> dict:
    """The "bitext" section: per language pair, document pairs by evidence, sentences left
    unaligned, candidate sentence pairs and what became of them (kept + filtered + duplicates =
    candidates, checked by `check_invariant`)."""
    pairs: dict[str, dict] = defaultdict(lambda: {"document_pairs": defaultdict(int), "unaligned_sentences": 0,
                                                   "candidates": 0, "kept": 0, "filtered": defaultdict(int),
                                                   "duplicates": 0})
    for (outcome, reason, pair), n in sorted(counts.items()):
        row = pairs[pair]
        if outcome == "document_pairs":
            row["document_pairs"][reason] += n
        elif outcome == "unaligned_sentences":
            row["unaligned_sentences"] += n
        elif outcome == "bitext_candidates":
            row["candidates"] += n
        elif outcome == "bitext_kept":
            row["kept"] += n
        elif outcome == "bitext_filtered":
            row["filtered"][reason] += n
        elif outcome == "bitext_duplicates":
            row["duplicates"] += n
    per_pair = {p: {**v, "document_pairs": dict(sorted(v["document_pairs"].items())),
                    "filtered": dict(sorted(v["filtered"].items()))} for p, v in sorted(pairs.items())}
    filtered: dict[str, int] = defaultdict(int)
    for v in per_pair.values():
        for reason, n in v["filtered"].items():
            filtered[reason] += n
    return {
        "document_pairs": sum(sum(v["document_pairs"].values()) for v in per_pair.values()),
        "candidates": sum(v["candidates"] for v in per_pair.values()),
        "kept": sum(v["kept"] for v in per_pair.values()),
        "filtered": dict(sorted(filtered.items())),
        "duplicates": sum(v["duplicates"] for v in per_pair.values()),
        "per_pair": per_pair,
    }


def build_stats(counts: dict[tuple[str, str, str], int]) -> dict:
    """stats.json from summed (outcome, reason, lang) counts (bitext outcomes: (outcome, reason,
    language pair))."""
    bitext = {k: n for k, n in counts.items() if k[0] in BITEXT_OUTCOMES}
    counts = {k: n for k, n in counts.items() if k[0] not in BITEXT_OUTCOMES}
    totals: dict[str, dict[str, int]] = {o: defaultdict(int) for o in (FILTERED, DUPLICATES, REJECTED, SKIPPED)}
    per_language: dict[str, dict] = defaultdict(
        lambda: {"kept": 0, "chars": 0, "filtered": defaultdict(int), "duplicates": defaultdict(int)}
    )
    input_records = kept = 0
    for (outcome, reason, lang), n in sorted(counts.items()):
        if outcome == INPUT:
            input_records += n
        elif outcome == KEPT:
            kept += n
            per_language[lang]["kept"] += n
        elif outcome == KEPT_CHARS:
            per_language[lang]["chars"] += n
        else:
            totals[outcome][reason] += n
            if lang and outcome in (FILTERED, DUPLICATES):
                per_language[lang][outcome][reason] += n
    return {
        "input_records": input_records,
        "kept": kept,
        "filtered": dict(sorted(totals[FILTERED].items())),
        "duplicates": dict(sorted(totals[DUPLICATES].items())),
        "rejected": dict(sorted(totals[REJECTED].items())),
        "warc_records_skipped": dict(sorted(totals[SKIPPED].items())),
        "per_language": {
            lang: {"kept": v["kept"], "chars": v["chars"], "filtered": dict(sorted(v["filtered"].items())),
                   "duplicates": dict(sorted(v["duplicates"].items()))}
            for lang, v in sorted(per_language.items())
        },
        "bitext": bitext_stats(bitext),
    }


def check_invariant(stats: dict) -> None:
    accounted = (stats["kept"] + sum(stats["filtered"].values()) + sum(stats["duplicates"].values())
                 + sum(stats["rejected"].values()))
    if accounted != stats["input_records"]:
        raise InvariantError(
            f"accounting does not add up: {stats['input_records']} input records but "
            f"{accounted} kept + filtered + duplicates + rejected"
        )
    bitext = stats.get("bitext")
    if bitext:
        for pair, v in bitext["per_pair"].items():
            if v["kept"] + sum(v["filtered"].values()) + v["duplicates"] != v["candidates"]:
                raise InvariantError(f"bitext accounting does not add up for {pair}: {v}")


def metric_name(key: tuple[str, str, str]) -> str:
    """The Beam counter (namespace `stats`) that counts an outcome key over all languages."""
    outcome, reason, _ = key
    return f"{outcome}/{reason}" if reason else outcome


def counted(key: tuple[str, str, str], n: int) -> tuple[tuple[str, str, str], int]:
    """Pass a count through, adding it to its Beam counter on the way: the metrics and stats.json
    are the same numbers."""
    Metrics.counter("stats", metric_name(key)).inc(n)
    return key, n


def stats_from_metrics(counters: dict[str, int]) -> dict:
    """stats.json's totals as Beam counters report them (for cross-checking the two)."""
    keys = {name: (name.partition("/")[0], name.partition("/")[2], "") for name in counters}
    stats = build_stats({keys[name]: n for name, n in counters.items()})
    return {k: stats[k] for k in ("input_records", "kept", "filtered", "duplicates", "rejected",
                                  "warc_records_skipped")}


class CountOutcomes(beam.PTransform):
    """Outcome records (Filtered, Duplicate, Reject, Skipped) → ((outcome, reason, lang), n)."""

    def expand(self, records):
        return (
            records
            | "OutcomeKey" >> beam.Map(lambda r: counted(outcome_key(r), 1))
            | "Sum" >> beam.CombinePerKey(sum)
        )
