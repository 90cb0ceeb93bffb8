"""Which documents and sentence pairs are held out of training (for `polycorp eval`).

A document is held out when a stable hash of its id falls below the fraction: the same documents
for every run on the same build, whatever the number of ranks and workers. A sentence pair is held
out when either of its documents is, so a held-out pair's sentences are never seen as a pair in
training (one side may still be read as monolingual text when only the other document is held
out: the retrieval task never sees the pair).
"""

from __future__ import annotations

import xxhash

_SCALE = 1 << 32


def is_heldout(doc_id: str, fraction: float) -> bool:
    if fraction <= 0:
        return False
    return xxhash.xxh32_intdigest(doc_id.encode("utf-8"), seed=0x5EED) < fraction * _SCALE


def pair_is_heldout(src_doc_id: str, tgt_doc_id: str, fraction: float) -> bool:
    return is_heldout(src_doc_id, fraction) or is_heldout(tgt_doc_id, fraction)
