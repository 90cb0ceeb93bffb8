"""The SentencePiece tokenizer: trained on a temperature-sampled sample of a build, lossless,
with language tags and task tokens as single pieces, never reading held-out documents."""

from __future__ import annotations

import json
import shutil

import pyarrow.dataset as ds
import pytest

from tests.helpers import flip_middle_byte
from training.data import ShardError, sampling_probs
from training.split import is_heldout
from training.tokenizer import (
    TASK_TOKENS, Tokenizer, TokenizerError, language_sizes, sample_by_language, train_tokenizer,
)


@pytest.fixture(scope="module")
def tokenizer(sample_build, tmp_path_factory) -> Tokenizer:
    path = tmp_path_factory.mktemp("tok") / "tokenizer.model"
    return train_tokenizer(sample_build, path, vocab_size=4000, max_chars=2_000_000)


@pytest.fixture(scope="module")
def docs(sample_build) -> list[dict]:
    return ds.dataset(sample_build / "docs", format="parquet", partitioning="hive").to_table(
        columns=["id", "url", "lang", "text"]).to_pylist()


def test_round_trip_is_lossless_in_every_language(tokenizer, docs):
    """Bits per byte are computed on the text as written: decode(encode(text)) must give it back,
    white space, newlines and all (identity normalisation, byte fallback for unseen characters)."""
    seen = set()
    for doc in docs:
        if doc["lang"] in seen:
            continue
        seen.add(doc["lang"])
        ids = tokenizer.encode(doc["text"])
        assert tokenizer.decode(ids) == doc["text"], doc["lang"]
        assert len(ids) < len(doc["text"]), doc["lang"]  # pieces, not characters
    assert len(seen) >= 9
    assert tokenizer.decode(tokenizer.encode("𝔘𐍈 ☃")) == "𝔘𐍈 ☃"  # not in the sample: bytes


def test_language_tags_and_task_tokens_are_single_pieces(tokenizer, sample_build):
    manifest = json.loads((sample_build / "manifest.json").read_text())
    langs = set(language_sizes(manifest))
    assert set(tokenizer.langs) == langs
    ids = {tokenizer.lang_id(lang) for lang in langs}
    assert len(ids) == len(langs) and min(ids) > tokenizer.pad_id
    for token in TASK_TOKENS:
        piece = tokenizer.sp.piece_to_id(token)
        assert piece not in (0, *ids) and piece in tokenizer.encode(f"ls {token} cat")
    assert tokenizer.sep_id == tokenizer.sp.piece_to_id("<sep>") != 0
    with pytest.raises(TokenizerError, match="no tag for language 'sw'"):
        tokenizer.lang_id("sw")


def test_sample_follows_the_temperature_and_skips_heldout_documents(sample_build, docs):
    """Characters per language in the sample track max_chars · p(ℓ), p ∝ n^α, until a language
    runs out of text; no line of a held-out document is read."""
    manifest = json.loads((sample_build / "manifest.json").read_text())
    probs = sampling_probs(language_sizes(manifest), 0.3)
    budget = 200_000
    heldout_lines = {line for d in docs if is_heldout(d["url"], 0.2) for line in d["text"].split("\n") if line.strip()}
    training_lines = {line for d in docs if not is_heldout(d["url"], 0.2) for line in d["text"].split("\n")}
    only_heldout = heldout_lines - training_lines
    assert only_heldout
    chars, longest = {}, {}
    for lang, line in sample_by_language(sample_build, budget, 0.3, seed=1, heldout_fraction=0.2):
        assert line not in only_heldout
        chars[lang] = chars.get(lang, 0) + len(line)
        longest[lang] = max(longest.get(lang, 0), len(line))
    available = {}
    for d in docs:
        if not is_heldout(d["url"], 0.2):
            available[d["lang"]] = available.get(d["lang"], 0) + sum(len(x) for x in d["text"].split("\n"))
    for lang, p in probs.items():
        # a language stops at the first line that crosses its budget (or when its text runs out)
        want = min(budget * p, available[lang])
        assert want <= chars[lang] <= want + longest[lang], (lang, chars[lang], want)


def test_missing_build_and_missing_model_are_one_line_errors(tmp_path):
    with pytest.raises(TokenizerError, match="not a finished build"):
        train_tokenizer(tmp_path, tmp_path / "t.model")
    with pytest.raises(TokenizerError, match="no tokenizer at"):
        Tokenizer(tmp_path / "absent.model")


def test_a_corrupt_shard_is_named_not_handed_to_sentencepiece(sample_build, tmp_path):
    """SentencePiece turns what its sentence iterator raises into RuntimeError("INTERNAL: …"): a
    corrupt docs shard must come out as the loader's ShardError naming it, before any of it is read."""
    build = tmp_path / "corpus"
    shutil.copytree(sample_build, build)
    manifest = json.loads((build / "manifest.json").read_text())
    shard = next(s["path"] for s in manifest["shards"] if s["kind"] == "docs" and s["rows"])
    flip_middle_byte(build / shard)
    with pytest.raises(ShardError, match=f"shard {build / shard} does not match its sha256"):
        train_tokenizer(build, tmp_path / "tokenizer.model", vocab_size=2000, max_chars=10_000_000)
    assert not (tmp_path / "tokenizer.model").exists()


def test_an_error_while_sampling_comes_out_as_itself(sample_build, tmp_path, monkeypatch):
    """Not as SentencePiece's RuntimeError("INTERNAL: …") nor as a TokenizerError blaming it."""
    import training.tokenizer as tokenizer_module
    from transforms.fs import StorageError

    def failing(*args, **kwargs):
        yield "a first line of text"
        raise StorageError("cannot reach gs://bucket/corpus/docs/part-0.parquet: connection reset")

    monkeypatch.setattr(tokenizer_module, "sample_lines", failing)
    with pytest.raises(StorageError, match="connection reset"):
        train_tokenizer(sample_build, tmp_path / "tokenizer.model", vocab_size=2000)


def test_every_build_language_gets_a_tag_and_an_empty_sample_is_named(sample_build, tmp_path):
    """A language found only in bitext (its documents gone) still gets its <2xx> tag: translation
    examples into it need one. A sample with nothing left in it says why."""
    build = tmp_path / "corpus"
    shutil.copytree(sample_build, build)
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["shards"] = [s for s in manifest["shards"] if not (s["kind"] == "docs" and s["lang"] == "fr")]
    (build / "manifest.json").write_text(json.dumps(manifest))
    assert any(s["kind"] == "bitext" and "fr" in s["pair"].split("-") for s in manifest["shards"])
    tok = train_tokenizer(build, tmp_path / "t.model", vocab_size=2000, max_chars=300_000)
    assert "fr" in tok.langs and tok.sp.piece_to_id("<2fr>") != tok.unk_id
    with pytest.raises(TokenizerError, match="no text of .* is left to train a tokenizer on: .* all held out"):
        train_tokenizer(build, tmp_path / "u.model", vocab_size=2000, max_chars=300_000, heldout_fraction=1.0)
