"""MinHash signatures of documents, vectorised with numpy, and their LSH band keys.

Shingles: word n-grams (default 5) of the simplified text (lower case, digits → 0, punctuation →
space, single spaces) for scripts written with spaces; character n-grams (default 5) for scripts
written without them (Han, Japanese, Thai, Lao, Khmer, Myanmar, Tibetan, Yi), where a
whitespace "word" would be a whole clause.

No per-shingle Python: a document's code points go into one numpy array; a polynomial hash over it
(mod 2^64, through prefix sums: h(s, e) = (S[e] - S[s]) · P^(e-1), with S[k] = Σ_{j<k} c_j · P^-j)
gives every shingle's hash at once — a word n-gram is the substring from the start of its first
word to the end of its last — then a splitmix64 finaliser mixes it. A batch of documents is
hashed together: for each of the bands × rows permutations h_k(x) = (a_k · x + b_k) mod 2^64 (a_k
odd: multiply-shift hashing), the minimum over a document's shingles (`np.minimum.reduceat`),
keeping the top 32 bits. Estimated Jaccard similarity = the fraction of equal signature values.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

import numpy as np

# Scripts written without spaces between words: shingled by characters.
UNSPACED_SCRIPTS = frozenset({"Hani", "Jpan", "Hira", "Kana", "Thai", "Laoo", "Khmr", "Mymr", "Tibt", "Yiii"})

_P = np.uint64(0x100000001B3)  # FNV-1a 64-bit prime: odd, so invertible mod 2^64
_P_INV = np.uint64(pow(int(_P), -1, 1 << 64))
_CHUNK = 1 << 15  # shingles per permutation block: 32k × 112 × 8 B ≈ 29 MB of temporaries


@dataclass(frozen=True)
class MinHashConfig:
    word_ngram: int = 5
    char_ngram: int = 5
    bands: int = 14
    rows: int = 8
    seed: int = 1

    @property
    def permutations(self) -> int:
        return self.bands * self.rows


def simplify(text: str) -> str:
    """The text shingles are taken from: case, digits, punctuation and spacing do not count. (The
    batch code below does the same on code points; this is its readable reference.)"""
    classes = _char_classes()
    out, gap = [], False
    for ch in text.lower():
        kind = classes[ord(ch)]
        if kind == _OTHER:
            gap = bool(out)
            continue
        if gap:
            out.append(" ")
            gap = False
        out.append("0" if kind == _DIGIT else ch)
    return "".join(out)


_OTHER, _LETTER, _DIGIT = 0, 1, 2


@functools.cache
def _char_classes() -> np.ndarray:
    """Per code point: letter or mark (L*, M*: part of a word, vowel signs included), digit (N*),
    or other (punctuation, symbols, spaces, controls)."""
    table = np.zeros(0x110000, dtype=np.uint8)
    # planes 0–3 and 14 hold every assigned letter, mark and digit (4–13 are unassigned, 15–16
    # private use): 0.02 s instead of 0.12 s per process
    for cp in (*range(0x32400), *range(0xE0000, 0xE1000)):
        category = unicodedata.category(chr(cp))[0]
        if category in "LM":
            table[cp] = _LETTER
        elif category == "N":
            table[cp] = _DIGIT
    return table


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, element-wise (uint64, wrapping)."""
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P^k and P^-k mod 2^64 for k < n."""
    with np.errstate(over="ignore"):
        up = np.cumprod(np.full(n, _P, dtype=np.uint64))
        down = np.cumprod(np.full(n, _P_INV, dtype=np.uint64))
    up[1:], down[1:] = up[:-1].copy(), down[:-1].copy()
    up[0] = down[0] = 1
    return up, down


class SpanHasher:
    """Hashes of spans [start, end) of one uint64 sequence, any number of them in one vector
    operation: a polynomial hash over prefix sums (mod 2^64), h(s, e) = (S[e] - S[s]) · P^(e-1)
    with S[k] = Σ_{j<k} v_j · P^-j, mixed with the span's length by splitmix64. Equal contents
    hash equal wherever they are; the values should be non-zero (add 1 to code points)."""

    def __init__(self, values: np.ndarray):
        n = len(values)
        self.up, down = _powers(n + 1)
        self.prefix = np.zeros(n + 1, dtype=np.uint64)
        with np.errstate(over="ignore"):
            np.cumsum(values.astype(np.uint64) * down[:n], out=self.prefix[1:])

    def __call__(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            h = (self.prefix[ends] - self.prefix[starts]) * self.up[ends - 1]
            return _mix(h ^ (ends - starts).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))


def _simplified(codes: np.ndarray, separator: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`simplify` on code points: letters and digits (as 0) kept, the first character of each run
    of anything else kept as one space, `separator` characters always kept (so nothing spans
    them). Returns the kept code points, which of them are word characters, which separators."""
    kind = _char_classes()[codes]
    is_word = kind != _OTHER
    prev_word = np.concatenate(([False], is_word[:-1]))
    keep = is_word | (prev_word & ~separator) | separator
    compact = np.where(kind == _DIGIT, np.uint32(48), np.where(is_word | separator, codes, np.uint32(32)))[keep]
    return compact, is_word[keep], separator[keep]


def batch_shingle_hashes(texts: list[str], unspaced: list[bool],
                         config: MinHashConfig) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes of a batch of texts: (uint64 hashes in text order, shingles per text).

    All texts are simplified and hashed in one pass over one array of code points: the letters,
    digits (as 0) and one space for each run of anything else, a separator between texts."""
    if not texts:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    joined = "\x00".join(t.replace("\x00", " ") for t in texts).lower()
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    compact, word, kept_separator = _simplified(codes, codes == 0)
    doc = np.cumsum(kept_separator)  # text index of each kept character
    starts_of, ends_of = [], []
    # word n-grams (texts in spaced scripts): from the start of word i to the end of word i+k-1
    w_start = np.flatnonzero(word & ~np.concatenate(([False], word[:-1])))
    w_end = np.flatnonzero(word & ~np.concatenate((word[1:], [False]))) + 1
    w_doc = doc[w_start]
    spaced_word = ~np.asarray(unspaced, dtype=bool)[w_doc]
    w_start, w_end, w_doc = w_start[spaced_word], w_end[spaced_word], w_doc[spaced_word]
    k = config.word_ngram
    if len(w_start):
        last = np.arange(len(w_start)) + k - 1
        ok = last < len(w_start)
        ok[ok] = w_doc[last[ok]] == w_doc[ok]
        starts_of.append(w_start[ok])
        ends_of.append(w_end[last[ok]])
        # a text of fewer than k words: one shingle of all its words
        counts = np.bincount(w_doc, minlength=len(texts))
        short = np.flatnonzero((counts > 0) & (counts < k))
        if len(short):
            first = np.searchsorted(w_doc, short)
            starts_of.append(w_start[first])
            ends_of.append(w_end[first + counts[short] - 1])
    # character n-grams (texts in unspaced scripts), over their letters, digits and spaces
    c = config.char_ngram
    chars = np.flatnonzero(~kept_separator & np.asarray(unspaced, dtype=bool)[doc])
    if len(chars):
        c_doc = doc[chars]
        boundary = np.concatenate(([True], c_doc[1:] != c_doc[:-1]))
        first_of = chars[boundary]
        counts = np.bincount(c_doc, minlength=len(texts))
        span_end = chars + c  # exclusive end if the n-gram stays inside its text
        text_end = np.repeat(first_of + counts[c_doc[boundary]], counts[c_doc[boundary]])
        full = span_end <= text_end
        # a text shorter than c characters: one shingle of all of it
        whole = boundary & ~full
        starts_of += [chars[full], chars[whole]]
        ends_of += [span_end[full], text_end[whole]]
    if not starts_of:
        return np.zeros(0, dtype=np.uint64), np.zeros(len(texts), dtype=np.int64)
    starts = np.concatenate(starts_of)
    ends = np.concatenate(ends_of)
    order = np.argsort(starts, kind="stable")  # text order (starts grow with the text index)
    starts, ends = starts[order], ends[order]
    hashes = SpanHasher(compact.astype(np.uint64) + np.uint64(1))(starts, ends)
    per_text = np.bincount(doc[starts], minlength=len(texts))
    return hashes, per_text


def line_hashes(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Per line of `text` (split at "\\n"): a 64-bit hash of its simplified form (see `simplify`)
    and that form's length — 0 (and hash 0) for a line without letters or digits. Vectorised over
    the whole text; equal simplified lines hash equal in any document."""
    lowered = text.lower()
    source = lowered if len(lowered) == len(text) else text
    codes = np.frombuffer(source.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    n_lines = int(np.count_nonzero(codes == 10)) + 1
    compact, word, kept_newline = _simplified(codes, codes == 10)
    line_of = np.cumsum(kept_newline)  # the newline itself opens the next line; it is no word
    w_start = np.flatnonzero(word & ~np.concatenate(([False], word[:-1])))
    w_end = np.flatnonzero(word & ~np.concatenate((word[1:], [False]))) + 1
    hashes = np.zeros(n_lines, dtype=np.uint64)
    lengths = np.zeros(n_lines, dtype=np.int64)
    if not len(w_start):
        return hashes, lengths
    w_line = line_of[w_start]
    lines, first = np.unique(w_line, return_index=True)
    last = np.concatenate((first[1:], [len(w_line)])) - 1
    starts, ends = w_start[first], w_end[last]
    hashes[lines] = SpanHasher(compact.astype(np.uint64) + np.uint64(1))(starts, ends)
    lengths[lines] = ends - starts
    return hashes, lengths


def shingle_hashes(text: str, unspaced: bool, config: MinHashConfig) -> np.ndarray:
    """64-bit hashes of the shingles of one text (uint64, possibly repeated; empty if no words)."""
    return batch_shingle_hashes([text], [unspaced], config)[0]


class MinHasher:
    """Signatures for batches of documents; the permutations follow from `config.seed`."""

    def __init__(self, config: MinHashConfig):
        self.config = config
        rng = np.random.Generator(np.random.PCG64(config.seed))
        k = config.permutations
        self.a = (rng.integers(0, 1 << 63, size=k, dtype=np.uint64) << np.uint64(1)) | np.uint64(1)
        self.b = rng.integers(0, 1 << 63, size=k, dtype=np.uint64) << np.uint64(1)

    def signatures(self, texts: list[str], unspaced: list[bool]) -> list[np.ndarray | None]:
        """One uint32 signature (bands × rows values) per text; None for a text without shingles."""
        hashes, counts = batch_shingle_hashes(texts, unspaced, self.config)
        bounds = np.concatenate(([0], np.cumsum(counts)))
        out: list[np.ndarray | None] = [None] * len(texts)
        present = [i for i in range(len(texts)) if counts[i]]
        start = 0
        while start < len(present):  # texts in blocks of up to _CHUNK shingles (a longer one alone)
            stop = start + 1
            while stop < len(present) and bounds[present[stop] + 1] - bounds[present[start]] <= _CHUNK:
                stop += 1
            block = present[start:stop]
            values = hashes[bounds[block[0]]:bounds[block[-1] + 1]]
            offsets = bounds[block] - bounds[block[0]]
            minima = self._block_minima(values, offsets)
            for j, i in enumerate(block):
                out[i] = minima[:, j]
            start = stop
        return out

    def _block_minima(self, values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """(permutations, texts) minima of the permuted shingle hashes, top 32 bits."""
        if len(values) <= _CHUNK:
            with np.errstate(over="ignore"):
                permuted = np.multiply(self.a[:, None], values[None, :])
                np.add(permuted, self.b[:, None], out=permuted)
            return (np.minimum.reduceat(permuted, offsets, axis=1) >> np.uint64(32)).astype(np.uint32)
        # one long text: its shingles in chunks, the minima combined
        best = np.full(len(self.a), np.iinfo(np.uint64).max, dtype=np.uint64)
        for i in range(0, len(values), _CHUNK):
            with np.errstate(over="ignore"):
                permuted = self.a[:, None] * values[None, i:i + _CHUNK] + self.b[:, None]
            np.minimum(best, permuted.min(axis=1), out=best)
        return (best >> np.uint64(32)).astype(np.uint32)[:, None]


def band_hashes(signatures: np.ndarray, config: MinHashConfig) -> np.ndarray:
    """(documents, bands) uint64: one hash per band of each signature (rows of a (documents,
    bands × rows) uint32 matrix), vectorised; equal band values give equal hashes, and documents
    sharing any band hash are candidate near-duplicates."""
    values = signatures.reshape(len(signatures), config.bands, config.rows).astype(np.uint64)
    with np.errstate(over="ignore"):
        h = np.arange(1, config.bands + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        h = np.broadcast_to(h, values.shape[:2]).copy()
        for r in range(config.rows):
            h = _mix(h ^ (values[:, :, r] + np.uint64(r) * np.uint64(0xD6E8FEB86659FD93)))
    return h


def similarity(a: bytes | np.ndarray, b: bytes | np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures (fraction of equal values)."""
    a = np.frombuffer(a, dtype=np.uint32) if isinstance(a, bytes) else a
    b = np.frombuffer(b, dtype=np.uint32) if isinstance(b, bytes) else b
    return float(np.mean(a == b))


def true_jaccard(a: str, b: str, unspaced: bool, config: MinHashConfig) -> float:
    """Jaccard similarity of the two texts' shingle sets (by hash), for checking estimates."""
    sa = set(shingle_hashes(a, unspaced, config).tolist())
    sb = set(shingle_hashes(b, unspaced, config).tolist())
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0
