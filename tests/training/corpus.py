"""Small real builds and a real tokenizer for training tests.

Text: the bundled sample's gold pages (Debian manual pages) for docs, and the translated gettext
messages of tests/data/bitext-dev.jsonl.gz (gold 1-1 links) for bitext. Shards are written the way
`polycorp build` writes them (transforms/shard.py): hash-partitioned by id, sorted, zstd, with a
manifest entry (path, kind, lang/pair, rows, bytes, sha256) per shard.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import sentencepiece as spm

from transforms.config import ShardConfig
from transforms.records import Bitext, Doc, shard_of, stable_hash
from transforms.shard import ShardInfo, parquet_bytes

BITEXT_DEV = Path(__file__).resolve().parent.parent / "data" / "bitext-dev.jsonl.gz"
FETCHED = datetime(2024, 1, 15, 10, tzinfo=timezone.utc)


def bitext_pairs() -> dict[str, list[tuple[str, str]]]:
    """Gold 1-1 links of the dev catalogues per pair "a-b" (a < b), as (a text, b text)."""
    pairs: dict[str, list[tuple[str, str]]] = {}
    with gzip.open(BITEXT_DEV, "rt", encoding="utf-8") as f:
        for doc in map(json.loads, f):
            a_is_src = doc["src_lang"] < doc["tgt_lang"]
            for i, j in doc["alignment"]:
                src, tgt = doc["src_units"][i], doc["tgt_units"][j]
                pairs.setdefault(doc["pair"], []).append((src, tgt) if a_is_src else (tgt, src))
    return pairs


def doc_record(page: dict, index: int) -> Doc:
    return Doc(id=stable_hash(page["url"]), url=page["url"], host=urlsplit(page["url"]).hostname,
               fetched_at=FETCHED, source=f"gold.jsonl.gz@{index}", title=page.get("title"),
               text=page["text"], lang=page["lang"], lang_score=1.0, n_chars=len(page["text"]))


def bitext_record(pair: str, a: str, b: str, index: int) -> Bitext:
    src_lang, tgt_lang = pair.split("-")
    src_url, tgt_url = (f"https://example.org/{lang}/{pair}/{index}" for lang in (src_lang, tgt_lang))
    return Bitext(id=stable_hash(pair, a, b), src_lang=src_lang, tgt_lang=tgt_lang, src_text=a, tgt_text=b,
                  score=1.0, src_url=src_url, tgt_url=tgt_url, src_doc_id=stable_hash(src_url),
                  tgt_doc_id=stable_hash(tgt_url), method="gold/1-1")


def write_shards(out: Path, kind: str, partition: str, records: list, cls: type,
                 n_shards: int, rows_per_group: int) -> list[dict]:
    """`n_shards` shards of `kind/<partition>/` with row groups of exactly `rows_per_group` rows."""
    config = ShardConfig(target_bytes=1 << 30, row_group_bytes=rows_per_group, compression="zstd",
                         compression_level=3)
    name = {"docs": "lang", "bitext": "pair"}[kind]
    entries = []
    for index in range(n_shards):
        rows = sorted((r for r in records if shard_of(r.id, n_shards) == index), key=lambda r: r.id)
        data = parquet_bytes(rows, cls, [1] * len(rows), config)  # size 1 per row: groups by count
        rel = f"{kind}/{name}={partition}/part-{index:05d}-of-{n_shards:05d}.parquet"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
        info = ShardInfo(rel, kind, partition, len(rows), len(data), hashlib.sha256(data).hexdigest(), 0)
        entries.append(info.manifest_entry(name))
    return entries


def write_build(out: Path, docs: dict[str, list[dict]], bitext: dict[str, list[tuple[str, str]]],
                n_shards: int = 2, rows_per_group: int = 2,
                layout: dict[str, tuple[int, int]] | None = None) -> Path:
    """A build directory with docs and bitext shards and the manifest that lists them. Each
    partition has `n_shards` shards of `rows_per_group`-row groups, or its own (n, rows) in `layout`."""
    layout = layout or {}
    shards = []
    for lang, pages in docs.items():
        shards += write_shards(out, "docs", lang, [doc_record(p, i) for i, p in enumerate(pages)], Doc,
                               *layout.get(lang, (n_shards, rows_per_group)))
    for pair, links in bitext.items():
        shards += write_shards(out, "bitext", pair, [bitext_record(pair, a, b, i) for i, (a, b) in enumerate(links)],
                               Bitext, *layout.get(pair, (n_shards, rows_per_group)))
    manifest = {"format": "polycorp/1", "created": FETCHED.isoformat(), "config": {}, "inputs": [],
                "shards": shards}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return out


class SpmTokenizer:
    """The loader's tokenizer interface around a SentencePiece model."""

    def __init__(self, model: bytes):
        self.sp = spm.SentencePieceProcessor(model_proto=model)
        self.bos_id, self.eos_id, self.pad_id = self.sp.bos_id(), self.sp.eos_id(), self.sp.pad_id()
        self.sep_id = self.sp.piece_to_id("<sep>")

    def encode(self, text: str) -> list[int]:
        return self.sp.encode(text)

    def decode(self, ids: list[int]) -> str:
        return self.sp.decode(ids)

    def lang_id(self, lang: str) -> int:
        piece = self.sp.piece_to_id(f"<2{lang}>")
        if piece == self.sp.unk_id():
            raise KeyError(f"no language tag <2{lang}> in the tokenizer")
        return piece


def train_tokenizer(texts: list[str], langs: list[str]) -> SpmTokenizer:
    """A small BPE model (~0.5 s) that round-trips text exactly: identity normalisation, byte fallback."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_writer=model, vocab_size=2000, model_type="bpe",
        user_defined_symbols=[f"<2{lang}>" for lang in langs] + ["<sep>"], byte_fallback=True,
        character_coverage=0.995, normalization_rule_name="identity", remove_extra_whitespaces=False,
        max_sentence_length=100_000, pad_id=3, minloglevel=2, num_threads=2)
    return SpmTokenizer(model.getvalue())
