"""Which documents and sentence pairs are held out of training (for `polycorp eval`).

A document is held out when a stable hash of its URL falls below the fraction (of its id when it
has no URL): the same documents for every run on the same build, whatever the number of ranks and
workers — and a page crawled again at the same URL stays on its side in the next build, while its
record, and so its id, is new (keyed by id, such a page held out of one scheduled build's runs was
trained on in the next one's). The URL is taken as recorded (http/https, a trailing slash, query
order make other keys), and a text held out at one URL can reach training at another when its
duplicate there is the copy a later build keeps. A sentence pair is held out when either of its documents is, so a
held-out pair's sentences are never seen as a pair in training (one side may still be read as
monolingual text when only the other document is held out: the retrieval task never sees the pair).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import xxhash

_SCALE = 1 << 32
SPLIT = "url"  # recorded in a run's config.json; runs without it (older polycorp) held out by "id"
# a row's documents, each as (url, id): what its held-out status is computed from
HELDOUT_COLUMNS = {"docs": ("url", "id"), "bitext": ("src_url", "src_doc_id", "tgt_url", "tgt_doc_id")}


def is_heldout(key: str, fraction: float) -> bool:
    """`key`: a document's URL, or its id when it has none (`row_is_heldout` chooses)."""
    if fraction <= 0:
        return False
    return xxhash.xxh32_intdigest(key.encode("utf-8"), seed=0x5EED) < fraction * _SCALE


def row_is_heldout(values: Sequence, fraction: float) -> bool:
    """`values`: a row's HELDOUT_COLUMNS in order, (url, id) per document; held out when any of
    its documents is."""
    return any(is_heldout(values[i] or values[i + 1], fraction) for i in range(0, len(values), 2))


def heldout(kind: str, row: Mapping, fraction: float, split: str = SPLIT) -> bool:
    """Whether a `docs` or `bitext` row (a dict with at least its HELDOUT_COLUMNS) is held out;
    `split` "id": as runs of older polycorp held rows out (by document ids), for evaluating them."""
    values = [row[c] for c in HELDOUT_COLUMNS[kind]]
    if split == "id":
        return any(is_heldout(doc_id, fraction) for doc_id in values[1::2])
    return row_is_heldout(values, fraction)
