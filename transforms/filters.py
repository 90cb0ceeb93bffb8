"""Document filters of the build (global phase: thresholds change without re-reading raw input).

Each filter is a plain function returning the reason (and a detail) a document is dropped, or None.
Filters run in a fixed order and the first that fires is recorded.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.config import BuildConfig
from transforms.quality import failed_threshold
from transforms.records import Doc, Filtered


def too_short(doc: Doc, config: BuildConfig) -> str | None:
    if doc.n_chars < config.filters.min_chars:
        return f"{doc.n_chars} chars < {config.filters.min_chars}"
    return None


def lang_low_score(doc: Doc, config: BuildConfig) -> str | None:
    threshold = config.langid.threshold(doc.lang)
    if doc.lang_score < threshold:
        return f"{doc.lang} {doc.lang_score:.3f} < {threshold}"
    return None


FILTERS = (too_short, lang_low_score)


def apply_filters(doc: Doc, config: BuildConfig) -> Filtered | None:
    """The first filter that drops `doc`, as a Filtered record; None if the document passes all.
    Quality thresholds come last, reason `quality:<signal>`."""
    for check in FILTERS:
        detail = check(doc, config)
        if detail is not None:
            return Filtered(doc.id, doc.url, doc.lang, check.__name__, doc.text, doc.source, detail)
    if config.quality.enabled and doc.quality:
        failed = failed_threshold(doc.quality, config.quality.for_lang(doc.lang))
        if failed:
            signal, detail = failed
            return Filtered(doc.id, doc.url, doc.lang, f"quality:{signal}", doc.text, doc.source, detail)
    return None


class FilterDocuments(beam.DoFn):
    """Doc → Doc (main) or Filtered (tagged `filtered`)."""

    def __init__(self, config: BuildConfig):
        self.config = config

    def process(self, doc: Doc):
        dropped = apply_filters(doc, self.config)
        if dropped is None:
            yield doc
            return
        Metrics.counter("filter", dropped.reason).inc()
        yield beam.pvalue.TaggedOutput("filtered", dropped)
