"""Quality signals of a document (Gopher, C4 and FineWeb style), with words counted right.

Words: for scripts written with spaces, the runs of letters, combining marks and digits (so Indic
vowel signs stay inside their word, unlike Python's `\\w`), found with numpy over the code points;
for scripts written without spaces (Chinese, Japanese, Thai, Lao, Khmer, Myanmar, …), ICU's
dictionary-based word break iterator (PyICU, ICU 77), keeping the segments ICU marks as words
(numbers, letters, kana, ideographs). A whitespace word count would make a Chinese page a few
dozen "words" long.

Every signal is stored on the document (`quality` column), so a corpus can be re-filtered without
re-running the build; the thresholds (`[quality]` in the config, per language) are applied in the
global phase and every decision is recorded (`filtered` reason `quality:<signal>`, detail = value
and threshold). Signals, all over the document's words or its non-empty lines:

- `words`, `mean_word_len` (characters), `alpha_words` (share of words with a letter),
  `symbol_ratio` (`#`, `...` and `…` per word) — Gopher quality;
- `bullet_lines` (share of lines starting with a bullet), `ellipsis_lines` (ending with an
  ellipsis) — Gopher; `line_punct` (ending with terminal punctuation, any script's), `short_lines`
  (≤ 30 characters) — FineWeb;
- `dup_lines`, `dup_line_chars` (lines repeated inside the document, by count and by characters),
  `top_2gram` … `top_4gram` (characters in the most frequent word n-gram), `dup_5gram` …
  `dup_10gram` (characters covered by word n-grams occurring more than once) — Gopher repetition;
  n-grams are hashed and counted with numpy, not in a Python loop.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import apache_beam as beam
import numpy as np

from transforms.minhash import UNSPACED_SCRIPTS, _OTHER, SpanHasher, _char_classes

TERMINAL_PUNCTUATION = frozenset(
    ".!?\"'”’»)]:;…。！？｡।॥؟۔።፧᙮᠃᠉⸮" "՜՞։؛")
BULLETS = ("•", "‣", "⁃", "◦", "●", "○", "▪", "▫", "■", "□", "–", "—", "-", "*", "·", "➢", "➤", "►")
ELLIPSES = ("...", "…")

INT_SIGNALS = ("words",)
FLOAT_SIGNALS = (
    "mean_word_len", "alpha_words", "symbol_ratio", "bullet_lines", "ellipsis_lines", "line_punct",
    "short_lines", "dup_lines", "dup_line_chars", "top_2gram", "top_3gram", "top_4gram",
    "dup_5gram", "dup_6gram", "dup_7gram", "dup_8gram", "dup_9gram", "dup_10gram",
)
SIGNALS = INT_SIGNALS + FLOAT_SIGNALS


@functools.cache
def _word_breaker(lang: str):
    import icu

    return icu.BreakIterator.createWordInstance(icu.Locale(lang or "root"))


def _icu_words(text: str, lang: str) -> tuple[np.ndarray, np.ndarray]:
    """Word spans (code point offsets) by ICU's word break iterator: the segments it tags as
    numbers, letters, kana or ideographs (rule status ≥ 100), not spaces or punctuation."""
    breaker = _word_breaker(lang)
    breaker.setText(text)
    starts, ends, start = [], [], 0
    for end in breaker:
        if breaker.getRuleStatus() >= 100:
            starts.append(start)
            ends.append(end)
        start = end
    starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    if len(text) != len(text.encode("utf-16-le")) // 2:  # ICU counts UTF-16 units: map back
        units = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32) > 0xFFFF
        to_cp = np.repeat(np.arange(len(text) + 1), np.concatenate((1 + units, [1])))
        starts, ends = to_cp[starts], to_cp[ends]
    return starts, ends


def word_spans(text: str, unspaced: bool, lang: str = "") -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the words of `text`, in code points."""
    if unspaced:
        return _icu_words(text, lang)
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    word = _char_classes()[codes] != _OTHER
    edges = np.diff(np.concatenate(([False], word, [False])).astype(np.int8))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _repetition(word_hashes: np.ndarray, lengths: np.ndarray, out: dict) -> None:
    total = lengths.sum()
    grams = SpanHasher(word_hashes)
    positions = np.arange(len(word_hashes) + 1)
    chars_from = np.concatenate(([0], np.cumsum(lengths)))  # characters of words [i, j): [j] - [i]
    for n in range(2, 11):
        key = f"top_{n}gram" if n <= 4 else f"dup_{n}gram"
        if len(word_hashes) < n or not total:
            out[key] = 0.0
            continue
        hashes = grams(positions[:-n], positions[n:])  # the n-gram starting at each word
        order = np.argsort(hashes)
        ordered = hashes[order]
        same = ordered[1:] == ordered[:-1]
        if n <= 4:  # the most frequent n-gram: the longest run of equal hashes; among equally
            # frequent ones the one with the most characters, so the value never depends on hashing
            run_starts = np.flatnonzero(np.concatenate(([True], ~same)))
            runs = np.diff(np.concatenate((run_starts, [len(ordered)])))
            if runs.max() < 2:
                out[key] = 0.0
                continue
            first = order[run_starts[runs == runs.max()]]
            out[key] = float(runs.max() * (chars_from[first + n] - chars_from[first]).max() / total)
        else:  # characters covered by n-grams that occur more than once
            repeated = order[np.concatenate((same, [False])) | np.concatenate(([False], same))]
            cover = np.zeros(len(word_hashes) + 1, dtype=np.int64)
            np.add.at(cover, repeated, 1)
            np.add.at(cover, repeated + n, -1)
            covered = np.cumsum(cover[:-1]) > 0
            out[key] = float(lengths[covered].sum() / total)


def quality_signals(text: str, script: str, lang: str = "") -> dict:
    """The document's signals (see the module docstring), as {name: value}."""
    unspaced = script in UNSPACED_SCRIPTS
    starts, ends = word_spans(text, unspaced, lang)
    lengths = ends - starts
    n_words = len(starts)
    out: dict = {"words": n_words}
    if n_words:
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        kinds = _char_classes()[codes]
        letters = np.concatenate(([0], np.cumsum(kinds == 1)))
        out["mean_word_len"] = float(lengths.mean())
        out["alpha_words"] = float(np.mean(letters[ends] - letters[starts] > 0))
        symbols = text.count("#") + text.count("...") + text.count("…")
        out["symbol_ratio"] = symbols / n_words
        lowered = text.lower()
        if len(lowered) == len(text):  # (lower() rarely changes the length, e.g. İ: then as is)
            codes = np.frombuffer(lowered.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        chars = SpanHasher(codes.astype(np.uint64) + np.uint64(1))
        _repetition(chars(starts, ends), lengths, out)  # one hash per word
    else:
        out.update({k: 0.0 for k in ("mean_word_len", "alpha_words", "symbol_ratio")})
        out.update({f"top_{n}gram": 0.0 for n in (2, 3, 4)})
        out.update({f"dup_{n}gram": 0.0 for n in range(5, 11)})
    lines = [line.strip() for line in text.split("\n")]
    lines = [line for line in lines if line]
    n_lines = len(lines)
    if n_lines:
        out["bullet_lines"] = sum(line.startswith(BULLETS) for line in lines) / n_lines
        out["ellipsis_lines"] = sum(line.endswith(ELLIPSES) for line in lines) / n_lines
        out["line_punct"] = sum(line[-1] in TERMINAL_PUNCTUATION for line in lines) / n_lines
        out["short_lines"] = sum(len(line) <= 30 for line in lines) / n_lines
        seen: set[str] = set()
        dup_lines = dup_chars = 0
        for line in lines:
            if line in seen:
                dup_lines += 1
                dup_chars += len(line)
            seen.add(line)
        out["dup_lines"] = dup_lines / n_lines
        out["dup_line_chars"] = dup_chars / max(1, sum(len(line) for line in lines))
    else:
        out.update({k: 0.0 for k in ("bullet_lines", "ellipsis_lines", "line_punct", "short_lines",
                                     "dup_lines", "dup_line_chars")})
    return {k: (int(out[k]) if k in INT_SIGNALS else float(out[k])) for k in SIGNALS}


def failed_threshold(signals: dict, thresholds: dict[str, float]) -> tuple[str, str] | None:
    """The first threshold (in the order of SIGNALS) the signals fail: (signal, detail); or None."""
    for signal in SIGNALS:
        value = signals.get(signal)
        if value is None:
            continue
        low, high = thresholds.get(f"min_{signal}"), thresholds.get(f"max_{signal}")
        if low is not None and value < low:
            return signal, f"{value:.4g} < {low:g}"
        if high is not None and value > high:
            return signal, f"{value:.4g} > {high:g}"
    return None


class QualitySignals(beam.DoFn):
    """(key, Doc) → (key, Doc) with its `quality` signals."""

    def process(self, element):
        key, doc = element
        yield key, replace(doc, quality=quality_signals(doc.text, doc.script, doc.lang))
