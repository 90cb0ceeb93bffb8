"""Language identification with fastText lid.176, and the dominant Unicode script of a text.

The model is loaded once per worker (`DoFn.setup`) and documents are classified in batches
(`BatchElements` → one `predict(list)` call), which fasttext-numpy2 answers ~1.8× faster than
one call per text. Only the first `max_chars` characters are classified.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics
from fontTools.unicodedata import Scripts

from transforms.batched import BatchedParDo
from transforms.config import LangIdConfig

# Scripts that do not tell a language: Common (digits, punctuation), Inherited (combining marks),
# Unknown (unassigned code points).
_NEUTRAL_SCRIPTS = ("Zyyy", "Zinh", "Zzzz")
_KANA = ("Hira", "Kana")
# Scripts written without spaces between words: each character counts as a word.
_UNSPACED_SCRIPTS = ("Hani", "Hira", "Kana", "Thai", "Laoo", "Khmr", "Mymr", "Tibt", "Yiii")


class LanguageIdentifier:
    """A loaded fastText language-ID model: texts → (language, probability)."""

    def __init__(self, model_path: str, max_chars: int):
        import fasttext  # the compiled module; imported here so workers import it once, in setup

        fasttext.FastText.eprint = lambda *args, **kwargs: None  # silence a load-time warning
        self.model = fasttext.load_model(model_path)
        self.max_chars = max_chars

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        # fastText reads one line per text: newlines would end the text early.
        lines = [t[: self.max_chars].replace("\n", " ") for t in texts]
        labels, probs = self.model.predict(lines, k=1)
        return [
            (label[0].removeprefix("__label__"), min(1.0, float(prob[0])))
            for label, prob in zip(labels, probs)
        ]


@lru_cache(maxsize=1)
def _script_table() -> tuple[np.ndarray, tuple[str, ...]]:
    """A code point → script index lookup table (uint8, all of Unicode) and the script names."""
    names = tuple(sorted(set(Scripts.VALUES)))
    index = {name: i for i, name in enumerate(names)}
    table = np.empty(0x110000, dtype=np.uint8)
    bounds = list(Scripts.RANGES) + [0x110000]
    for start, end, name in zip(bounds, bounds[1:], Scripts.VALUES):
        table[start:end] = index[name]
    return table, names


def dominant_script(text: str) -> str:
    """ISO 15924 code of the script most words of `text` are written in (Zyyy if none).

    Words, not characters: a run of letters of one script counts once, except in scripts written
    without spaces (Han, kana, Thai, …) where every character counts as a word — so a Chinese page
    full of Latin option names is still Hani. Japanese mixes Han with kana: text with any kana
    whose Han+kana words dominate is `Jpan`."""
    table, names = _script_table()
    scripts = table[np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)]
    neutral_of, per_char_of = _script_classes()
    neutral = neutral_of[scripts]
    # a word starts where a letter follows a character of another script (or a neutral one);
    # in scripts written without spaces every character starts a word
    starts = ~neutral
    starts[1:] &= per_char_of[scripts[1:]] | (scripts[1:] != scripts[:-1]) | neutral[:-1]
    counts = np.bincount(scripts[starts], minlength=len(names))
    by_name = {name: n for name, n in zip(names, counts.tolist()) if n}
    if not by_name:
        return "Zyyy"
    kana = sum(by_name.get(k, 0) for k in _KANA)
    if kana:
        by_name["Jpan"] = kana + by_name.get("Hani", 0)
        for name in (*_KANA, "Hani"):
            by_name.pop(name, None)
    return max(sorted(by_name), key=by_name.__getitem__)


@lru_cache(maxsize=1)
def _script_classes() -> tuple[np.ndarray, np.ndarray]:
    """Per script index: is it neutral (no language), is it written without spaces."""
    _, names = _script_table()
    neutral = np.array([n in _NEUTRAL_SCRIPTS for n in names], dtype=bool)
    per_char = np.array([n in _UNSPACED_SCRIPTS for n in names], dtype=bool)
    return neutral, per_char


class _PredictLanguageBatch(beam.DoFn):
    def __init__(self, config: LangIdConfig):
        self.config = config
        self.documents = Metrics.counter("langid", "documents")
        self.batches = Metrics.counter("langid", "batches")

    def setup(self):
        self.identifier = LanguageIdentifier(self.config.model_path(), self.config.max_chars)

    def process(self, batch):
        predictions = self.identifier.predict([doc.text for _, doc in batch])
        self.batches.inc()
        self.documents.inc(len(batch))
        for (key, doc), (lang, score) in zip(batch, predictions):
            # the script of the text that was classified (the first max_chars characters)
            script = dominant_script(doc.text[: self.config.max_chars])
            yield key, replace(doc, lang=lang, lang_score=score, script=script)


def IdentifyLanguage(config: LangIdConfig) -> beam.PTransform:  # noqa: N802 (a transform)
    """(key, Doc) → (key, Doc) with `lang`, `lang_score` and `script` set; batched prediction."""
    return BatchedParDo(_PredictLanguageBatch(config), config.batch_size, "Predict")
