"""Sentence alignment inside a document pair: a banded dynamic program over beads.

Beads 1-1, 1-2, 2-1, 2-2 (a translation), 1-0 and 0-1 (a sentence without counterpart). A bead's
cost is

    −log P(bead)                                    Gale & Church's priors
  + w_len · −log 2(1 − Φ(|δ|)),  δ = (l_t − c·l_s) / √(s²·(l_s + l_t / c) / 2)
                                                    length in characters; c = the language pair's
                                                    ratio learned from the data, s² its variance
  + w_sim · mismatch                                how little the spans look like translations, from
                                                    a scorer (0 when nothing tells)

The similarity is pluggable (`Scorer`): `AnchorScorer` (the default) needs no model — shared
numbers, identical tokens (names, commands, code), question/exclamation marks and, where a
bilingual lexicon is available, dictionary translations, each weighted by its rarity in the
document pair; the mismatch is the weight left unmatched. A model's sentence embeddings can
replace it later (mismatch = 1 − the cosine of the spans' summed embeddings), with the same program.

The program is banded: row i (source sentences) only visits target positions within `w` of a
centre line — for a long pair, the path of a first pass over blocks of ~√n/2 sentences (the
coarse-to-fine idea of Vecalign), for a short one the line of proportional length.
w = band_min + band_sqrt · √max(n, m), so the cost is O(n · √n) cells. Bead costs are computed
with numpy over blocks of rows and the band; the program itself and the anchor matching run as
numba-compiled loops (a row at a time in numpy cost ~30 small array operations per row, which
dominated short documents): a 5,500-sentence pair aligns in ~0.6 CPU s
(benchmarks/bitext_quality.py). Compiled code is cached beside the module (numba `cache=True`).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import Protocol

import numba
import numpy as np

# (source sentences, target sentences) of each bead
BEADS = ((1, 1), (1, 0), (0, 1), (2, 1), (1, 2), (2, 2))
MERGES = tuple(b for b in BEADS if b[0] and b[1])  # beads pairing sentences, whose costs a scorer gives


@dataclass(frozen=True)
class AlignParams:
    ratio: float = 1.0  # target characters per source character (learned per language pair)
    variance: float = 6.8  # Gale & Church's s² (characters)
    w_len: float = 1.0
    w_skip_len: float = 1.0  # the length term of 1-0 / 0-1 beads (Gale & Church: as w_len)
    w_sim: float = 3.0  # per unit of unmatched anchor weight
    band_min: int = 12
    band_sqrt: float = 2.0
    # prior probabilities of the beads (Gale & Church's: 1-0 and 0-1 together 0.0099, 2-1 and 1-2
    # together 0.089, 2-2 0.011, the rest 1-1)
    skip_prior: float = 0.0099
    merge_prior: float = 0.089
    two_two_prior: float = 0.011

    def priors(self) -> dict[tuple[int, int], float]:
        one = 1.0 - self.skip_prior - self.merge_prior - self.two_two_prior
        return {(1, 1): one, (1, 0): self.skip_prior / 2, (0, 1): self.skip_prior / 2,
                (2, 1): self.merge_prior / 2, (1, 2): self.merge_prior / 2, (2, 2): self.two_two_prior}


@dataclass(frozen=True, slots=True)
class Bead:
    src: tuple[int, ...]  # source sentence indices (0, 1 or 2 of them)
    tgt: tuple[int, ...]
    cost: float  # the bead's cost in the program
    similarity: float  # the scorer's similarity of the two spans (0 for 1-0 / 0-1)
    score: float  # alignment confidence in (0, 1]: exp(−(cost − the cost of a perfect 1-1 bead))


# ------------------------------------------------------------------------------ scorers


class PairScorer(Protocol):
    skip_src: np.ndarray  # (n,) cost of leaving each source sentence without counterpart
    skip_tgt: np.ndarray  # (m,) the same for target sentences

    def costs(self, rows: np.ndarray, js: np.ndarray) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
        """For the beads (di, dj) with di, dj ≥ 1 ending in cells (rows[r], js[r, k]) — row i, target
        position j — source span [i − di, i) against target span [j − dj, j): (cost ≥ 0, how little
        they look like translations, additive over beads so that splitting or merging is judged by
        priors and lengths; similarity in [0, 1], reported with the bead), each shaped like `js`.
        Cells with i < di or j < dj may hold anything (the program ignores them)."""


class Scorer(Protocol):
    def prepare(self, src: list[str], tgt: list[str], band: "Band", anchors=None) -> PairScorer:
        """Per document pair: whatever the costs need, for the cells of `band`. `anchors`: the
        sentences' `sentence_anchors` (no lexicon), already computed for the band; may be ignored."""


_TOKEN = re.compile(r"[^\W_]+(?:[-_./:@][^\W_]+)*", re.UNICODE)
_NUMBER = re.compile(r"\d+")
_MARKS = {"?": "?", "？": "?", "؟": "?", "!": "!", "！": "!"}
_MARK = re.compile("[?？؟!！]")


def sentence_anchors(sentence: str, lexicon_side=None) -> Counter:
    """Anchors of one sentence: ("#", digits), ("=", token) for case-folded tokens of ≥ 2
    characters, ("p", "?"/"!") for question and exclamation marks (any script's), and ("d", word)
    from `lexicon_side` (a callable: tokens → the source words they stand for)."""
    keys = [("#", n.lstrip("0") or "0") for n in _NUMBER.findall(sentence)]
    keys += [("=", t) for t in map(str.casefold, _TOKEN.findall(sentence)) if len(t) >= 2 and not t.isdigit()]
    keys += [("p", _MARKS[ch]) for ch in _MARK.findall(sentence)]
    out = Counter(keys)
    if lexicon_side is not None:
        from transforms.lexicon import lexicon_tokens

        for word in lexicon_side(lexicon_tokens(sentence)):
            out["d", word] += 1
    return out


@dataclass
class Band:
    """Row i of the program visits target positions lo[i] .. hi[i] (inclusive)."""

    lo: np.ndarray
    hi: np.ndarray

    @property
    def width(self) -> int:
        return int((self.hi - self.lo).max()) + 1


class AnchorScorer:
    """Weighted anchors (see `sentence_anchors`): an anchor found in both documents weighs
    1 / (how many sentences hold it, on the side where it is commoner), so rare names and numbers
    count fully and common words little; anchors never found on the other side count for nothing.
    A bead's cost is the weight of its anchors left unmatched (a sentence without anchors costs
    nothing, whatever it is paired with); its similarity the Dice of matched weight.
    `lexicon`: an object with `translations(word) -> set` (transforms/lexicon.py), or None."""

    def __init__(self, lexicon=None, dict_weight: float = 0.5):
        self.lexicon, self.dict_weight = lexicon, dict_weight

    def prepare(self, src: list[str], tgt: list[str], band: Band, anchors=None) -> "_AnchorPair":
        if self.lexicon is None and anchors is not None:
            return _AnchorPair(anchors[0], anchors[1], band, self.dict_weight)
        lexicon_src = lexicon_tgt = None
        if self.lexicon is not None:
            from transforms.lexicon import lexicon_tokens

            vocabulary = {t for s in src for t in lexicon_tokens(s)}
            back = defaultdict(set)  # target word → the source words of this document it translates
            for word in vocabulary:
                for translation in self.lexicon.translations(word):
                    back[translation].add(word)
            lexicon_src = lambda tokens: [t for t in tokens if t in vocabulary and self.lexicon.translations(t)]  # noqa: E731
            lexicon_tgt = lambda tokens: [w for t in tokens for w in back.get(t, ())]  # noqa: E731
        a = [sentence_anchors(s, lexicon_src) for s in src]
        b = [sentence_anchors(s, lexicon_tgt) for s in tgt]
        return _AnchorPair(a, b, band, self.dict_weight)


MARGIN = 2  # target positions below a row's band that a 2-sentence span may reach


def _anchor_table(counters: list[Counter], ids: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sentences' anchors as arrays (sentence, anchor number from `ids`, count), in order."""
    sentence, key, count = [], [], []
    for s, c in enumerate(counters):
        sentence += [s] * len(c)
        key += [ids.setdefault(k, len(ids)) for k in c]
        count += c.values()
    return np.array(sentence, dtype=np.int64), np.array(key, dtype=np.int64), np.array(count, dtype=float)


@numba.njit(cache=True, nogil=True)
def _band_match_kernel(sentence, key, count, post_sentence, post_count, post_start, weight, base, top, n, width):  # pragma: no cover (compiled)
    """matches[s, j − base[s]] = Σ over anchors k of source sentence s found in target sentence j,
    base[s] ≤ j ≤ top[s]: weight[k] · min(the counts on both sides)."""
    matches = np.zeros((n, width))
    for e in range(len(sentence)):
        k = key[e]
        w = weight[k]
        if w == 0.0:
            continue
        s, lo = sentence[e], base[sentence[e]]
        first, last = post_start[k], post_start[k + 1]
        start = first + np.searchsorted(post_sentence[first:last], lo)
        end = first + np.searchsorted(post_sentence[first:last], top[s], side="right")
        for q in range(start, end):
            matches[s, post_sentence[q] - lo] += w * min(post_count[q], count[e])
    return matches


class _AnchorPair:
    def __init__(self, a: list[Counter], b: list[Counter], band: Band, dict_weight: float = 0.0):
        ids: dict = {}  # anchor → its number
        src, tgt = _anchor_table(a, ids), _anchor_table(b, ids)
        df_a = np.bincount(src[1], minlength=len(ids))  # sentences holding each anchor
        df_b = np.bincount(tgt[1], minlength=len(ids))
        with np.errstate(divide="ignore"):
            weight = np.where((df_a > 0) & (df_b > 0), 1.0 / np.maximum(df_a, df_b), 0.0)
        from_lexicon = np.array([key[0] == "d" for key in ids], dtype=bool)
        exact = np.where(from_lexicon, 0.0, weight)
        self.mass_a = np.bincount(src[0], weights=exact[src[1]] * src[2], minlength=len(a))
        self.mass_b = np.bincount(tgt[0], weights=exact[tgt[1]] * tgt[2], minlength=len(b))
        self.skip_src, self.skip_tgt = self.mass_a, self.mass_b
        self.cum_b = np.concatenate(([0.0], np.cumsum(self.mass_b)))
        # source sentence s is covered by beads ending in rows s+1 or s+2: their target spans lie
        # in [lo[s] − 2, hi[s+2]) (lo and hi never decrease)
        n = len(a)
        self.base = band.lo[:n] - MARGIN  # column 0 of sentence s is target position base[s]
        top = band.hi[np.minimum(np.arange(n) + 2, n)]
        self.width = int((top - self.base).max()) + 1
        # the target side's anchors as postings: sorted by anchor, then sentence
        order = np.lexsort((tgt[0], tgt[1]))
        postings = tgt[0][order], tgt[2][order], np.searchsorted(tgt[1][order], np.arange(len(ids) + 1))
        self.cum = self._band_matches(src, postings, exact, top)
        # dictionary translations only ever add evidence: a lexicon misses too many real
        # translations for an unmatched entry to count against a pair
        self.dict_weight = dict_weight
        dictionary = np.where(from_lexicon, weight, 0.0)
        self.cum_d = self._band_matches(src, postings, dictionary, top) if dict_weight and dictionary.any() else None

    def _band_matches(self, src, postings, weight, top) -> np.ndarray:
        """Cumulative (over each sentence's band) weighted anchor matches: (n, width + 1)."""
        matches = _band_match_kernel(*src, *postings, weight, self.base, top, len(self.mass_a), self.width)
        return np.concatenate((np.zeros((len(matches), 1)), np.cumsum(matches, axis=1)), axis=1)

    def costs(self, rows: np.ndarray, js: np.ndarray) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
        # sentence s's columns cover [lo[s] − 2, hi[s + 2]]: for s = i − 1 and s = i − 2 every
        # js − 2 … js of row i is inside (lo and hi never decrease); clipping only touches cells
        # the program ignores
        n = len(self.mass_a)
        last = self.cum.shape[1] - 1
        shared, bonus = {}, {}
        for di in (1, 2):
            s = np.clip(rows - di, 0, n - 1)[:, None]
            k = js - self.base[s]
            for dj in (1, 2):
                hi_k, lo_k = np.clip(k, 0, last), np.clip(k - dj, 0, last)
                shared[di, dj] = self.cum[s, hi_k] - self.cum[s, lo_k]
                if self.cum_d is not None:
                    bonus[di, dj] = self.cum_d[s, hi_k] - self.cum_d[s, lo_k]
        m_cum = self.cum_b
        mass_b = {dj: m_cum[js] - m_cum[np.maximum(js - dj, 0)] for dj in (1, 2)}
        cum_a = np.concatenate(([0.0], np.cumsum(self.mass_a)))
        out = {}
        for di in (1, 2):
            mass_a = (cum_a[rows] - cum_a[np.maximum(rows - di, 0)])[:, None]
            for dj in (1, 2):
                sh = shared[1, dj] + (shared[2, dj] if di == 2 else 0.0)
                mass = mass_a + mass_b[dj]
                cost = np.maximum(mass - 2.0 * sh, 0.0)
                if self.cum_d is not None:
                    cost = cost - self.dict_weight * (bonus[1, dj] + (bonus[2, dj] if di == 2 else 0.0))
                with np.errstate(invalid="ignore", divide="ignore"):
                    sim = np.where(mass > 0, np.minimum(2.0 * sh / mass, 1.0), 0.0)
                out[di, dj] = cost, sim.astype(np.float32)
        return out


# ------------------------------------------------------------------------------ the band


COARSE_FROM = 200  # sentences: longer documents are first aligned block by block
CHUNK_ROWS = 256  # rows whose bead costs are computed at once (bounded memory for long documents)


def coarse_path(src: list[str], tgt: list[str], params: AlignParams, scorer) -> list[tuple[int, int]]:
    """Where the alignment path of a long document pair runs, from a first pass over blocks of
    k ≈ √n / 2 sentences (joined) with a band wide enough to hold every block: the corners between
    its beads, in sentence positions (Vecalign's coarse-to-fine idea). Empty for short documents,
    whose band is centred on proportional length."""
    n, m = len(src), len(tgt)
    if max(n, m) < COARSE_FROM:
        return []
    k = max(2, int(math.sqrt(max(n, m)) / 2))
    blocks_src = [" ".join(src[i:i + k]) for i in range(0, n, k)]
    blocks_tgt = [" ".join(tgt[j:j + k]) for j in range(0, m, k)]
    # blocks: a whole block without counterpart is rare, and its length says so (w_skip_len)
    wide = replace(params, band_min=max(len(blocks_src), len(blocks_tgt)) + 2, w_skip_len=params.w_len)
    coarse = align(blocks_src, blocks_tgt, wide, scorer)
    points, i, j = [], 0, 0
    for bead in coarse.beads[:-1]:
        i, j = i + len(bead.src), j + len(bead.tgt)
        points.append((min(i * k, n) - 1, min(j * k, m) - 1))
    return points


def make_band(src_lens: np.ndarray, tgt_lens: np.ndarray, points: list[tuple[int, int]],
              params: AlignParams) -> Band:
    """Rows 0..n, each a window of target positions around a centre line through the anchor
    points (or, between and beyond them, proportional to cumulative length)."""
    n, m = len(src_lens), len(tgt_lens)
    cs = np.concatenate(([0.0], np.cumsum(src_lens)))
    ct = np.concatenate(([0.0], np.cumsum(tgt_lens)))
    knots = [(0, 0)] + [(i + 0.5, j + 0.5) for i, j in points] + [(n, m)]
    centre = np.empty(n + 1)
    for (i0, j0), (i1, j1) in zip(knots, knots[1:]):
        rows = np.arange(math.ceil(i0), math.floor(i1) + 1)
        if not len(rows):
            continue
        # inside a segment: proportional to the characters covered on each side
        a0, a1 = np.interp([i0, i1], np.arange(n + 1), cs)
        b0, b1 = np.interp([j0, j1], np.arange(m + 1), ct)
        frac = (cs[rows] - a0) / (a1 - a0) if a1 > a0 else (rows - i0) / max(i1 - i0, 1e-9)
        target_chars = b0 + np.clip(frac, 0, 1) * (b1 - b0)
        centre[rows] = np.interp(target_chars, ct, np.arange(m + 1))
    w = params.band_min + params.band_sqrt * math.sqrt(max(n, m, 1))
    lo = np.clip(np.floor(centre - w), 0, m).astype(np.int64)
    hi = np.clip(np.ceil(centre + w), 0, m).astype(np.int64)
    lo[0], hi[n] = 0, m
    lo = np.minimum.accumulate(lo[::-1])[::-1]  # lo non-decreasing from the end backwards
    hi = np.maximum.accumulate(hi)
    lo[1:] = np.minimum(lo[1:], hi[:-1])  # consecutive rows overlap: a path always exists
    return Band(lo, hi)


# ------------------------------------------------------------------------------ the program


def _neg_log_erfc(z: np.ndarray) -> np.ndarray:
    """−log erfc(z) for z ≥ 0 (Numerical Recipes' erfcc, relative error < 1.2e-7), without
    underflow for large z."""
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))
    return z * z - poly - np.log(t)


def length_cost(ls, lt, params: AlignParams) -> np.ndarray:
    """Gale & Church's −log P(|δ| ≥ observed) for span lengths ls (source) and lt (target)."""
    ls = np.asarray(ls, dtype=float)
    lt = np.asarray(lt, dtype=float)
    mean = np.maximum((ls + lt / params.ratio) / 2.0, 1.0)
    delta = np.abs(lt - ls * params.ratio) / np.sqrt(params.variance * mean)
    return _neg_log_erfc(delta / math.sqrt(2.0))


_BEAD_DI = np.array([di for di, _ in BEADS], dtype=np.int64)
_BEAD_DJ = np.array([dj for _, dj in BEADS], dtype=np.int64)
_BEAD_MERGE = np.array([MERGES.index(b) if b in MERGES else -1 for b in BEADS], dtype=np.int64)
_ZERO_ONE = BEADS.index((0, 1))


@numba.njit(cache=True, nogil=True)
def _program_rows(i0, i1, lo, hi, cost, back, sims, bead_cost, bead_sim, skip_s, skip_t):  # pragma: no cover (compiled)
    """Rows i0 .. i1 − 1 of the program, in place (cost, back: the bead ending in each cell, sims).
    Row i, cell k is target position lo[i] + k; bead_cost / bead_sim [merge, i − i0, k] hold the
    scorer's and length costs of the MERGES beads ending there. 1-0 beads come from the row above,
    0-1 beads move along the row (a prefix scan). Ties keep the earlier bead of BEADS."""
    for i in range(i0, i1):
        r = i - i0
        lo_i, hi_i = lo[i], hi[i]
        w = hi_i - lo_i + 1
        if i == 0:
            if lo_i == 0:
                cost[0, 0] = 0.0
        else:
            for b in range(len(_BEAD_DI)):
                di, dj, k = _BEAD_DI[b], _BEAD_DJ[b], _BEAD_MERGE[b]
                if di == 0 or di > i:
                    continue
                p = i - di
                # cells (i, j) whose predecessor (p, j − dj) lies in row p's band
                a0 = max(lo_i, lo[p] + dj) - lo_i
                a1 = min(hi_i, hi[p] + dj) - lo_i + 1
                shift = lo_i - dj - lo[p]
                for a in range(a0, a1):
                    c = cost[p, a + shift] + (skip_s[i - 1] if k < 0 else bead_cost[k, r, a])
                    if c < cost[i, a]:
                        cost[i, a] = c
                        back[i, a] = b
                        sims[i, a] = 0.0 if k < 0 else bead_sim[k, r, a]
        # 0-1 beads: F[j] = min(E[j], F[j − 1] + skip_t[j − 1]), as min over the row of E − acc, + acc
        acc = 0.0
        best = cost[i, 0]
        for a in range(1, w):
            acc += skip_t[lo_i + a - 1]
            e = cost[i, a]
            if e - acc < best:
                best = e - acc
            scanned = best + acc
            if scanned < e - 1e-9:  # strictly better, not a rounding of the same value
                cost[i, a] = scanned
                back[i, a] = _ZERO_ONE
                sims[i, a] = 0.0


@dataclass
class Alignment:
    beads: list[Bead] = field(default_factory=list)
    cells: int = 0  # cells the program visited (for the band's cost)


def align(src: list[str], tgt: list[str], params: AlignParams = AlignParams(),
          scorer: Scorer | None = None) -> Alignment:
    """The minimum-cost sequence of beads covering both sentence lists in order."""
    n, m = len(src), len(tgt)
    if n == 0 or m == 0:
        beads = [Bead((i,), (), 0.0, 0.0, 0.0) for i in range(n)] + [Bead((), (j,), 0.0, 0.0, 0.0) for j in range(m)]
        return Alignment(beads, 0)
    scorer = scorer or AnchorScorer()
    sl = np.array([len(s) for s in src], dtype=float)
    tl = np.array([len(t) for t in tgt], dtype=float)
    anchors = [sentence_anchors(x) for x in src], [sentence_anchors(x) for x in tgt]
    band = make_band(sl, tl, coarse_path(src, tgt, params, scorer), params)
    pair = scorer.prepare(src, tgt, band, anchors=anchors)
    cs = np.concatenate(([0.0], np.cumsum(sl)))
    ct = np.concatenate(([0.0], np.cumsum(tl)))
    width = band.width
    inf = np.inf
    cost = np.full((n + 1, width), inf)
    back = np.full((n + 1, width), -1, dtype=np.int8)
    prior = {b: -math.log(p) for b, p in params.priors().items()}
    skip_t = prior[(0, 1)] + params.w_skip_len * length_cost(np.zeros(m), tl, params) + params.w_sim * pair.skip_tgt
    skip_s = prior[(1, 0)] + params.w_skip_len * length_cost(sl, np.zeros(n), params) + params.w_sim * pair.skip_src
    sims = np.zeros((n + 1, width), dtype=np.float32)  # similarity of the bead ending in each cell
    ks = np.arange(width)
    bead_cost = np.empty((len(MERGES), min(CHUNK_ROWS, n + 1), width))
    bead_sim = np.empty((len(MERGES), min(CHUNK_ROWS, n + 1), width), dtype=np.float32)
    for i0 in range(0, n + 1, CHUNK_ROWS):  # bead costs of CHUNK_ROWS rows at once, vectorised over the band
        rows = np.arange(i0, min(i0 + CHUNK_ROWS, n + 1))
        js_chunk = np.minimum(band.lo[rows][:, None] + ks[None, :], m)
        scores = pair.costs(rows, js_chunk)
        for k, (di, dj) in enumerate(MERGES):
            ls = (cs[rows] - cs[np.maximum(rows - di, 0)])[:, None]
            lt = ct[js_chunk] - ct[np.maximum(js_chunk - dj, 0)]
            span_cost, sim = scores[di, dj]
            bead_cost[k, :len(rows)] = prior[(di, dj)] + params.w_len * length_cost(ls, lt, params) + params.w_sim * span_cost
            bead_sim[k, :len(rows)] = sim
        _program_rows(i0, i0 + len(rows), band.lo, band.hi, cost, back, sims, bead_cost, bead_sim, skip_s, skip_t)
    beads = []
    i, j = n, m
    while i > 0 or j > 0:
        k = j - band.lo[i]
        b = back[i, k]
        if b < 0:
            raise RuntimeError(f"no path through the band at ({i}, {j})")  # cannot happen: rows overlap
        di, dj = BEADS[b]
        p, q = i - di, j - dj
        prev_cost = 0.0 if p == 0 and q == 0 else cost[p, q - band.lo[p]]
        spent = float(cost[i, k] - prev_cost)
        beads.append(Bead(tuple(range(p, i)), tuple(range(q, j)), spent, float(sims[i, k]),
                          math.exp(-max(0.0, spent - prior[(1, 1)]))))
        i, j = p, q
    return Alignment(beads[::-1], int((band.hi - band.lo + 1).sum()))
