"""Bitext: translated documents → aligned sentence pairs → scored, filtered, deduplicated pairs.

    kept documents ─▶ features (no text) grouped by host ─▶ document pairs (docalign.py)
    ─▶ each side joined with its text ─▶ the language pair's length ratio, learned from its
       document pairs (a combiner, read as a side input)
    ─▶ sentences of both sides (sentences.py) aligned (sentalign.py), with the pair's dictionary
       where one is installed ─▶ candidate sentence pairs
    ─▶ filters (batched, with fastText on both sides) ─▶ exact duplicate pairs removed
    ─▶ `Bitext` rows (bitext/pair=<a>-<b>/) and `BitextFiltered` rows with their reason.

Every candidate ends as kept, filtered (with its reason) or a duplicate (pointing at the kept
pair): the counts add up in stats.json's "bitext" section.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, replace

import apache_beam as beam
import regex
from apache_beam.metrics import Metrics

from transforms.config import BitextConfig, LangIdConfig
from transforms.docalign import DocPair, align_host, doc_features
from transforms.progress import flush, tick
from transforms.records import Bitext, BitextFiltered, pickled_as_tuple, stable_hash
from transforms.sentalign import AlignParams, AnchorScorer, align
from transforms.sentences import split_sentences

CANDIDATES, KEPT, FILTERED, DUPLICATE, DOC_PAIRS, UNALIGNED = (
    "bitext_candidates", "bitext_kept", "bitext_filtered", "bitext_duplicates", "document_pairs",
    "unaligned_sentences")


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Side:
    """One document of a document pair, split into sentences (once per document, however many
    pairs it is in)."""

    id: str
    url: str
    lang: str
    sentences: tuple[str, ...]

    @staticmethod
    def of(doc_id: str, url: str, lang: str, text: str) -> "Side":
        return Side(doc_id, url, lang, tuple(split_sentences(text, lang)))

    @property
    def chars(self) -> int:
        return sum(map(len, self.sentences))


def learned_ratio(chars_a: int, chars_b: int, prior_chars: int) -> float:
    """Target (b) characters per source (a) character of a language pair, from the summed lengths
    of its document pairs, shrunk towards 1 by `prior_chars` characters on each side."""
    return (chars_b + prior_chars) / (chars_a + prior_chars)


def align_params(config: BitextConfig) -> AlignParams:
    """The sentence aligner's parameters of a configuration (ratio 1: set per language pair)."""
    return AlignParams(variance=config.variance, w_len=config.w_len, w_skip_len=config.w_skip_len, w_sim=config.w_sim,
                       band_min=config.band_min, band_sqrt=config.band_sqrt, skip_prior=config.skip_prior,
                       merge_prior=config.merge_prior)


def _normalised(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


_LETTERS = regex.compile(r"[\p{L}\p{M}]+")  # letters and the marks written on them (Devanagari, Thai vowels)


def letter_share(text: str) -> float:
    """Letters (with their combining marks) among the characters that are not white space."""
    visible = sum(map(len, text.split()))
    return sum(map(len, _LETTERS.findall(text))) / visible if visible else 0.0


def pair_filter(src: str, tgt: str, score: float, ratio: float, config: BitextConfig) -> tuple[str, str] | None:
    """The first rule a candidate sentence pair fails, as (reason, detail), or None. Language ID is
    checked separately (it needs the model, in batches)."""
    if _normalised(src) == _normalised(tgt):
        return "identical", None
    if min(len(src.strip()), len(tgt.strip())) < config.min_chars:
        return "too_short", f"{min(len(src.strip()), len(tgt.strip()))} < {config.min_chars}"
    share = min(letter_share(src), letter_share(tgt))
    if share < config.min_letter_share:
        return "few_letters", f"{share:.2f} < {config.min_letter_share}"
    observed = len(tgt) / (len(src) * ratio)
    if not 1 / config.max_length_ratio <= observed <= config.max_length_ratio:
        return "length_ratio", f"{observed:.2f} × the pair's ratio {ratio:.2f}"
    if score < config.min_score:
        return "low_score", f"{score:.3f} < {config.min_score}"
    return None


def align_pair(a: Side, b: Side, doc_pair: DocPair, ratio: float, config: BitextConfig, lexicon=None):
    """One document pair → (candidate Bitext rows, number of sentences left without counterpart)."""
    src = list(a.sentences[: config.max_sentences])
    tgt = list(b.sentences[: config.max_sentences])
    alignment = align(src, tgt, replace(align_params(config), ratio=ratio), AnchorScorer(lexicon))
    rows, unaligned = [], 0
    for bead in alignment.beads:
        if not bead.src or not bead.tgt:
            unaligned += len(bead.src) + len(bead.tgt)
            continue
        joiner_a = "" if a.lang in ("zh", "ja") else " "
        joiner_b = "" if b.lang in ("zh", "ja") else " "
        s = joiner_a.join(src[i] for i in bead.src)
        t = joiner_b.join(tgt[j] for j in bead.tgt)
        rows.append(Bitext(stable_hash(a.id, b.id, s, t), a.lang, b.lang, s, t, round(bead.score, 6),
                           a.url, b.url, a.id, b.id, f"{doc_pair.method}/{len(bead.src)}-{len(bead.tgt)}",
                           doc_pair.score))
    return rows, unaligned


class _AlignSentences(beam.DoFn):
    """(DocPair, its two sides) → candidate sentence pairs, filtered right here (fastText on both
    sides of all of a document pair's candidates in one call): kept Bitext rows (main), dropped ones
    (tagged "filtered"), counts (tagged "counts")."""

    def __init__(self, config: BitextConfig, langid: LangIdConfig):
        self.config, self.langid = config, langid
        self.pairs = Metrics.counter("bitext", "document_pairs_aligned")

    def setup(self):
        from transforms.langid import LanguageIdentifier

        self.identifier = LanguageIdentifier(self.langid.model_path(), self.langid.max_chars)
        self.lexicons = {}

    def _lexicon(self, a: str, b: str):
        if not self.config.use_lexicon:
            return None
        if (a, b) not in self.lexicons:
            from transforms.lexicon import find_lexicon

            self.lexicons[a, b] = find_lexicon(a, b, tuple(self.config.lexicon_dirs))
        return self.lexicons[a, b]

    def finish_bundle(self):
        flush()  # live progress: this bundle's last ticks

    def process(self, element, ratios):
        doc_pair, a, b = element
        pair = f"{a.lang}-{b.lang}"
        ratio = ratios.get(pair, 1.0)
        rows, unaligned = align_pair(a, b, doc_pair, ratio, self.config, self._lexicon(a.lang, b.lang))
        self.pairs.inc()
        tick("document_pairs_aligned")
        yield beam.pvalue.TaggedOutput("counts", ((DOC_PAIRS, doc_pair.method, pair), 1))
        if unaligned:
            yield beam.pvalue.TaggedOutput("counts", ((UNALIGNED, "", pair), unaligned))
        if not rows:
            return
        yield beam.pvalue.TaggedOutput("counts", ((CANDIDATES, "", pair), len(rows)))
        dropped = Counter()
        for row, failed in zip(rows, self._check(rows, ratio)):
            if failed is None:
                yield content_key(row), row
            else:
                dropped[failed[0]] += 1
                yield beam.pvalue.TaggedOutput("filtered", _dropped(row, *failed))
        for reason, n in sorted(dropped.items()):
            yield beam.pvalue.TaggedOutput("counts", ((FILTERED, reason, pair), n))

    def _check(self, rows: list[Bitext], ratio: float) -> list[tuple[str, str | None] | None]:
        """The first rule each row fails (language ID last, only for rows that pass the rest)."""
        out = [pair_filter(r.src_text, r.tgt_text, r.score, ratio, self.config) for r in rows]
        left = [row for row, failed in zip(rows, out) if failed is None]
        if not left:
            return out
        langs = self.identifier.predict([r.src_text for r in left] + [r.tgt_text for r in left])
        checked = iter(range(len(left)))
        for k, failed in enumerate(out):
            if failed is not None:
                continue
            row, q = rows[k], next(checked)
            for side, expected, (lang, prob) in (("src", row.src_lang, langs[q]),
                                                 ("tgt", row.tgt_lang, langs[len(left) + q])):
                if lang != expected and prob >= self.config.lid_min_confidence:
                    out[k] = "language", f"{side} is {lang} ({prob:.2f}), not {expected}"
                    break
        return out


def _dropped(row: Bitext, reason: str, detail: str | None) -> BitextFiltered:
    return BitextFiltered(row.id, row.src_lang, row.tgt_lang, row.src_text, row.tgt_text, row.score,
                          row.src_doc_id, row.tgt_doc_id, reason, detail)


def content_key(row: Bitext) -> str:
    """Rows with the same key are the same pair of sentences (normalised texts, same languages)."""
    return stable_hash(row.src_lang, row.tgt_lang, _normalised(row.src_text), _normalised(row.tgt_text))


def _keep_one(element):
    """Identical pairs (same content key): the one with the smallest id stays, the others are
    duplicates pointing at it; counted here (tagged "counts")."""
    _, rows = element
    rows = sorted(rows, key=lambda r: r.id)
    yield rows[0]
    yield beam.pvalue.TaggedOutput("counts", ((KEPT, "", rows[0].pair), 1))
    for row in rows[1:]:
        yield beam.pvalue.TaggedOutput("duplicates", _dropped(row, "duplicate", rows[0].id))
    if len(rows) > 1:
        yield beam.pvalue.TaggedOutput("counts", ((DUPLICATE, "", rows[0].pair), len(rows) - 1))


class AlignBitext(beam.PTransform):
    """PCollection[Doc] (kept documents) → tagged outputs: `pairs` (Bitext), `filtered`
    (BitextFiltered, duplicates included, reason "duplicate"), `counts` (((outcome, reason,
    pair), n) for stats.json)."""

    def __init__(self, config: BitextConfig, langid: LangIdConfig):
        super().__init__()
        self.config, self.langid = config, langid

    def expand(self, docs):
        config = self.config
        features = docs | "Features" >> beam.Map(
            lambda d: (d.host, doc_features(d.id, d.url, d.lang, d.text,
                                            [(a["hreflang"], a["url"]) for a in d.alternates or ()])))
        doc_pairs = (
            features
            | "GroupByHost" >> beam.GroupByKey()
            | "AlignDocuments" >> beam.FlatMap(
                lambda host_feats: align_host(list(host_feats[1]), config.min_content_score,
                                              config.min_linked_score, config.max_postings,
                                              frozenset(config.pairs)))
        )
        sides = (
            {"doc": docs | "ById" >> beam.Map(lambda d: (d.id, (d.url, d.lang, d.text))),
             "pair": doc_pairs | "PairSides" >> beam.FlatMap(lambda p: [(p.a_id, p), (p.b_id, p)])}
            | "JoinTexts" >> beam.CoGroupByKey()
            | "SideOfPair" >> beam.FlatMap(_side_of_pairs)
            | "GroupByPair" >> beam.GroupByKey()
            | "PairWithSides" >> beam.FlatMap(_with_sides)
        )
        prior = config.ratio_prior_chars
        ratios = (
            sides
            | "PairLengths" >> beam.FlatMap(_pair_lengths)
            | "SumLengths" >> beam.CombinePerKey(lambda pairs: tuple(map(sum, zip(*pairs))) if pairs else (0, 0))
            | "Ratio" >> beam.MapTuple(lambda pair, ab: (pair, learned_ratio(ab[0], ab[1], prior)))
        )
        aligned = sides | "AlignSentences" >> beam.ParDo(
            _AlignSentences(config, self.langid), ratios=beam.pvalue.AsDict(ratios)).with_outputs(
            "counts", "filtered", main="kept")
        unique = (
            aligned.kept  # (content key, row)
            | "GroupIdentical" >> beam.GroupByKey()
            | "KeepOne" >> beam.FlatMap(_keep_one).with_outputs("duplicates", "counts", main="pairs")
        )
        filtered = (aligned.filtered, unique.duplicates) | "AllDropped" >> beam.Flatten()
        counts = (aligned.counts, unique.counts) | "AllBitextCounts" >> beam.Flatten()
        return {"pairs": unique.pairs, "filtered": filtered, "counts": counts}


def _side_of_pairs(element):
    """(document id, {"doc": [(url, lang, text)], "pair": [DocPair]}) → (pair key, (DocPair, Side))
    for each pair the document is in; the document is split into sentences only if it is in one."""
    doc_id, joined = element
    if not joined["pair"]:
        return
    for doc in joined["doc"]:
        side = Side.of(doc_id, *doc)
        for p in joined["pair"]:
            yield f"{p.a_id}|{p.b_id}", (p, side)


def _with_sides(element):
    """(pair key, [(DocPair, Side)] of its two documents) → (DocPair, side a, side b)."""
    grouped = list(element[1])
    by_id = {side.id: side for _, side in grouped}
    doc_pair = grouped[0][0]
    if doc_pair.a_id in by_id and doc_pair.b_id in by_id:
        yield doc_pair, by_id[doc_pair.a_id], by_id[doc_pair.b_id]


def _pair_lengths(element):
    doc_pair, a, b = element
    yield f"{doc_pair.a_lang}-{doc_pair.b_lang}", (a.chars, b.chars)

