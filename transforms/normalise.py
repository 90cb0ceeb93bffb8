"""Text normalisation: Unicode NFC, control characters, whitespace, one paragraph per line.

`normalise_text` is what documents are stored with; `dedup_key` is the stronger normalisation
under which two documents count as exact duplicates (case and whitespace differences ignored).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

import apache_beam as beam

from transforms.records import Doc, stable_hash

# Line separators of every kind become "\n"; other control characters (C0, C1, BOM) are removed.
_LINE_BREAKS = re.compile(r"\r\n?|[\v\f\x1c-\x1e\x85\u2028\u2029]")
_BREAK_CHARS = "\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ufeff\ufffe]")
# Runs of horizontal white space become one space; no-break spaces are kept (French typography).
_SPACES = re.compile(r"[^\S\n\u00a0\u202f]+")
_NO_BREAK_SPACES = ("\u00a0", "\u202f")


def normalise_text(text: str) -> str:
    """NFC, no control characters, single spaces, stripped non-empty lines joined by '\n'."""
    text = unicodedata.normalize("NFC", text)
    # Regexes over whole pages cost ~50 µs per 10 KB each: take them only where needed.
    if any(c in text for c in _BREAK_CHARS):
        text = _LINE_BREAKS.sub("\n", text)
    text = _CONTROL.sub("", text)
    if _NO_BREAK_SPACES[0] in text or _NO_BREAK_SPACES[1] in text:
        lines = map(str.strip, _SPACES.sub(" ", text).split("\n"))
    else:  # str.split() splits on the same white space as _SPACES when there is no no-break space
        lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def dedup_key(text: str) -> str:
    """Hash under which documents are exact duplicates: case-folded, all white space collapsed."""
    return stable_hash(" ".join(text.casefold().split()))


def normalise_doc(doc: Doc) -> Doc:
    text = normalise_text(doc.text)
    title = normalise_text(doc.title).replace("\n", " ") if doc.title else None
    return replace(doc, text=text, title=title or None, n_chars=len(text), text_hash=dedup_key(text))


class Normalise(beam.PTransform):
    """(key, Doc) → (key, Doc) with normalised text, `n_chars` and `text_hash` set."""

    def expand(self, docs):
        return docs | "NormaliseText" >> beam.MapTuple(lambda key, doc: (key, normalise_doc(doc)))
