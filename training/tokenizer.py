"""SentencePiece tokenizer trained on a temperature-sampled, size-capped sample of a build.

The sample is streamed from the build's `docs` shards (row group by row group, never the whole
corpus in memory): language ℓ gets a budget of `max_chars · p(ℓ)` characters with p(ℓ) ∝ n_ℓ^α
(n_ℓ = the language's kept documents in the manifest, α = 0.3 as for training), so that small
languages get enough pieces and large ones do not crowd them out. Held-out documents
(`training.split`) are never read, so bits per byte on them stays honest.

Settings, and why:
- unigram (SentencePiece's default; better bits per byte than BPE at small vocabularies),
- `byte_fallback`: no `<unk>` for unseen characters (rare CJK, emoji), bytes instead,
- `character_coverage` 0.9995: the setting SentencePiece recommends for CJK-rich input,
- normalisation `identity`, extra white space kept: the build already wrote NFC text, and
  `decode(encode(text)) == text` keeps bits per byte exact (tested),
- `split_digits`: numbers as digits, not arbitrary chunks,
- user-defined symbols: language tags `<2xx>` for every language of the build, `<sep>` (source |
  target in translation examples) and the task tokens `<lm>`, `<mt>`, `<ret>`,
- ids: 0 `<unk>`, 1 `<s>`, 2 `</s>`, 3 `<pad>`, then the symbols above.
"""

from __future__ import annotations

import io
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import sentencepiece as spm

from training.data import sampling_probs, verify_shard
from training.split import HELDOUT_COLUMNS, heldout
from transforms import fs

TASK_TOKENS = ("<sep>", "<lm>", "<mt>", "<ret>")
UNK, BOS, EOS, PAD = 0, 1, 2, 3


class TokenizerError(ValueError):
    """A tokenizer that cannot be trained or used; the message says what to do."""


def lang_tag(lang: str) -> str:
    return f"<2{lang}>"


def read_manifest(build_dir: str | os.PathLike) -> dict:
    path = fs.join(str(build_dir), "manifest.json")
    if not fs.exists(path):
        raise TokenizerError(f"{build_dir} is not a finished build (no manifest.json): run `polycorp build` first")
    return fs.read_json(path)


def language_sizes(manifest: dict) -> dict[str, int]:
    """Kept documents per language, from the manifest's docs shards."""
    sizes: dict[str, int] = {}
    for shard in manifest["shards"]:
        if shard["kind"] == "docs":
            sizes[shard["lang"]] = sizes.get(shard["lang"], 0) + shard["rows"]
    return {lang: n for lang, n in sorted(sizes.items()) if n}


def sample_lines(build_dir: str | os.PathLike, max_chars: int, alpha: float, seed: int,
                 heldout_fraction: float, verify: bool = True) -> Iterator[str]:
    """Lines (paragraphs) of training documents, each language up to its character budget."""
    return (line for _, line in sample_by_language(build_dir, max_chars, alpha, seed, heldout_fraction, verify))


def sample_by_language(build_dir: str | os.PathLike, max_chars: int, alpha: float, seed: int,
                       heldout_fraction: float, verify: bool = True) -> Iterator[tuple[str, str]]:
    """(language, line) of the sample. Shards are visited in a seeded order, row group by row group,
    each checked against its manifest sha256 first (a corrupt or missing one: ShardError naming it)
    unless `verify` is False (the caller has checked them: the training loop's `load_plan`)."""
    manifest = read_manifest(build_dir)
    probs = sampling_probs(language_sizes(manifest), alpha)
    rng = random.Random(seed)
    for lang, p in probs.items():
        budget = int(max_chars * p)
        shards = sorted((s["path"], s["sha256"]) for s in manifest["shards"] if s["kind"] == "docs" and s.get("lang") == lang)
        rng.shuffle(shards)
        for path, sha256 in shards:
            if budget <= 0:
                break
            if verify:
                verify_shard(fs.join(str(build_dir), path), sha256)
            with fs.open_read(fs.join(str(build_dir), path)) as raw, pq.ParquetFile(raw) as f:
                for group in range(f.num_row_groups):
                    for row in f.read_row_group(group, columns=["text", *HELDOUT_COLUMNS["docs"]]).to_pylist():
                        text = row["text"]
                        if budget <= 0 or heldout("docs", row, heldout_fraction):
                            continue
                        for line in text.split("\n"):
                            if line.strip() and budget > 0:
                                budget -= len(line)
                                yield lang, line
                    if budget <= 0:
                        break


def train_tokenizer(build_dir: str | os.PathLike, out_path: str | os.PathLike, vocab_size: int = 8000,
                    alpha: float = 0.3, max_chars: int = 50_000_000, seed: int = 0,
                    heldout_fraction: float = 0.05, model_type: str = "unigram", verify: bool = True) -> "Tokenizer":
    """Train on a sample of the build and write the model to `out_path` (atomically). `verify`:
    check each docs shard sampled against its sha256 first (False: the caller has checked them)."""
    manifest = read_manifest(build_dir)
    with_docs = language_sizes(manifest)
    if not with_docs:
        raise TokenizerError(f"{build_dir} holds no documents to train a tokenizer on")
    # a tag for every language of the build: also those only in bitext (translation targets)
    langs = sorted(set(with_docs) | {lang for s in manifest["shards"] if s["kind"] == "bitext" and s["rows"]
                                     for lang in s["pair"].split("-")})
    model = io.BytesIO()
    spm.set_random_generator_seed(seed)
    failed: list[BaseException] = []  # SentencePiece turns what its iterator raises into a RuntimeError

    sampled = [0]

    def lines() -> Iterator[str]:
        try:
            for line in sample_lines(build_dir, max_chars, alpha, seed, heldout_fraction, verify):
                sampled[0] += 1
                yield line
        except BaseException as e:  # a storage error, a corrupt shard, Ctrl-C: re-raised as itself below
            failed.append(e)
            raise

    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=lines(),
            model_writer=model, model_type=model_type, vocab_size=vocab_size, hard_vocab_limit=False,
            character_coverage=0.9995, byte_fallback=True, split_digits=True,
            normalization_rule_name="identity", remove_extra_whitespaces=False,
            max_sentence_length=1 << 16, unk_id=UNK, bos_id=BOS, eos_id=EOS, pad_id=PAD,
            user_defined_symbols=list(TASK_TOKENS) + [lang_tag(lang) for lang in langs],
            num_threads=min(4, os.cpu_count() or 1), seed_sentencepiece_size=200_000, minloglevel=2,
        )
    except RuntimeError as e:  # e.g. a vocabulary smaller than the characters it must cover
        if failed:
            raise failed[0] from None
        if not sampled[0]:
            raise TokenizerError(f"no text of {build_dir} is left to train a tokenizer on: its documents are all held "
                                 f"out (heldout fraction {heldout_fraction}) or the sample is empty (max_chars "
                                 f"{max_chars})") from None
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TokenizerError(f"SentencePiece cannot train a {vocab_size}-piece tokenizer on {build_dir}: {reason}") from None
    tmp = f"{out_path}.part"
    with open(tmp, "wb") as f:
        f.write(model.getvalue())
    os.replace(tmp, out_path)
    return Tokenizer(out_path)


class Tokenizer:
    """A trained SentencePiece model with the ids training needs."""

    def __init__(self, path: str | os.PathLike):
        if not Path(path).exists():
            raise TokenizerError(f"no tokenizer at {path}: train one with `polycorp train` (it writes tokenizer.model)")
        self.path = str(path)
        try:
            self.sp = spm.SentencePieceProcessor(model_file=self.path)
        except (RuntimeError, OSError) as e:
            raise TokenizerError(f"{path} is not a SentencePiece model ({str(e).strip().splitlines()[0]}): "
                                 "give a tokenizer.model of polycorp train or tokenize") from None
        self.vocab_size = self.sp.get_piece_size()
        self.unk_id, self.bos_id, self.eos_id, self.pad_id = UNK, BOS, EOS, PAD
        self.sep_id = self.sp.piece_to_id("<sep>")
        self.langs = sorted(piece[2:-1] for piece in map(self.sp.id_to_piece, range(self.vocab_size))
                            if piece.startswith("<2") and piece.endswith(">") and len(piece) > 3)

    def encode(self, text: str) -> list[int]:
        return self.sp.encode(text)

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return self.sp.encode(texts)

    def decode(self, ids: list[int]) -> str:
        return self.sp.decode(ids)

    def lang_id(self, lang: str) -> int:
        piece = self.sp.piece_to_id(lang_tag(lang))
        if piece == UNK:
            raise TokenizerError(f"the tokenizer has no tag for language {lang!r} (it knows {', '.join(self.langs)}): "
                                 "train a new tokenizer on a build that holds it")
        return piece

    def __getstate__(self):  # DataLoader workers receive the path and load the model themselves
        return {"path": self.path}

    def __setstate__(self, state):
        self.__init__(state["path"])
