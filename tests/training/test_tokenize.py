"""`polycorp tokenize` and the loader on its token-id shards: shards mirror the build row group for
row group, a rerun is byte-identical, batches equal those from text (also across a resume that
switches), and a wrong tokenizer, another build or a corrupt shard is refused in one line."""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from pipelines.cli import main
from pipelines.tokenize import TokenizeError, plan_tokenize, run_tokenize
from tests.helpers import flip_middle_byte, polycorp
from tests.training.corpus import bitext_pairs, train_tokenizer, write_build
from training.data import DataError, LoaderConfig, ShardError, StreamingDataset, StreamingLoader, load_plan
from training.loop import TrainConfig, TrainError, train, train_run_tokenizer
from training.tokenizer import Tokenizer, TokenizerError
from transforms.fs import sha256

ROOT = Path(__file__).resolve().parents[2]
LOADER = LoaderConfig(seq_len=32, pair_len=16, batch_size=8, bitext_share=0.5, heldout_fraction=0.2, seed=5)
TEXT = {"ids": "text", "src_ids": "src_text", "tgt_ids": "tgt_text"}


@pytest.fixture(scope="module")
def build(gold, tmp_path_factory) -> Path:
    """Docs and bitext in 2-row row groups; ja: one document over 3 shards, so two are empty."""
    pages: dict[str, list[dict]] = {}
    for page in gold:
        if not page.get("duplicate_of"):
            pages.setdefault(page["lang"], []).append(page)
    links = bitext_pairs()
    return write_build(tmp_path_factory.mktemp("tok") / "build",
                       {"en": pages["en"][:12], "de": pages["de"][:6], "ja": pages["ja"][:1]},
                       {"de-en": links["de-en"][:60], "en-ja": links["en-ja"][:20]}, layout={"ja": (3, 2)})


@pytest.fixture(scope="module")
def model_file(gold, build) -> Path:
    path = build.parent / "tokenizer.model"
    path.write_bytes(train_tokenizer([p["text"][:3000] for p in gold], ["de", "en", "ja"]).sp.serialized_model_proto())
    return path


@pytest.fixture(scope="module")
def tok(model_file) -> Tokenizer:
    return Tokenizer(model_file)


@pytest.fixture(scope="module")
def tokens(build, model_file) -> Path:
    out = build.parent / "tokens"
    run_tokenize(plan_tokenize(str(build), str(out), str(model_file)), [])
    return out


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def one_line(error: pytest.ExceptionInfo) -> str:
    assert "\n" not in str(error.value)
    return str(error.value)


def test_token_shards_mirror_the_build_row_group_for_row_group(build, tokens, tok, model_file):
    """Every docs and bitext shard, at the same path: the same row groups (empty ones too), ids and
    languages copied, each text as exactly tok.encode(text); the manifest describes what is there."""
    build_shards = [s for s in json.loads((build / "manifest.json").read_text())["shards"] if s["kind"] in ("docs", "bitext")]
    manifest = json.loads((tokens / "manifest.json").read_text())
    assert manifest["format"] == "polycorp-tokens/2" and manifest["build"] == str(build)
    assert manifest["build_fingerprint"] == load_plan(str(build)).fingerprint
    assert manifest["tokenizer"]["path"] == "tokenizer.model"
    assert manifest["tokenizer"]["sha256"] == sha256(tokens / "tokenizer.model") == sha256(model_file)
    entries = {e["path"]: e for e in manifest["shards"]}
    assert sorted(entries) == sorted(s["path"] for s in build_shards)
    empty_groups = encoded = 0
    for shard in build_shards:
        entry, source, target = entries[shard["path"]], pq.ParquetFile(build / shard["path"]), pq.ParquetFile(tokens / shard["path"])
        assert target.num_row_groups == source.num_row_groups == entry["row_groups"]
        assert (entry["kind"], entry["source_sha256"], entry["rows"]) == (shard["kind"], shard["sha256"], shard["rows"])
        assert entry["sha256"] == sha256(tokens / shard["path"]) and entry["bytes"] == (tokens / shard["path"]).stat().st_size
        tokens_in_shard = 0
        for group in range(source.num_row_groups):
            text, ids = source.read_row_group(group), target.read_row_group(group)
            assert ids.num_rows == text.num_rows
            empty_groups += ids.num_rows == 0
            for name in ids.schema.names:
                if name in TEXT:
                    assert ids.schema.field(name).type == pa.list_(pa.int32())
                    expected = [tok.encode(t) for t in text.column(TEXT[name]).to_pylist()]
                    assert ids.column(name).to_pylist() == expected
                    tokens_in_shard += sum(map(len, expected))
                    encoded += len(expected)
                else:
                    assert ids.column(name).equals(text.column(name))
        assert set(target.schema_arrow.names) == ({"id", "url", "ids"} if shard["kind"] == "docs" else
                                                  {"src_doc_id", "tgt_doc_id", "src_url", "tgt_url", "src_lang",
                                                   "tgt_lang", "src_ids", "tgt_ids"})
        assert entry["tokens"] == tokens_in_shard
    assert empty_groups == 2 and encoded == 12 + 6 + 1 + 2 * (60 + 20)


def test_rerun_is_byte_identical_and_an_existing_out_is_refused(build, tokens, model_file, tmp_path):
    refused = polycorp("tokenize", build, "--out", tokens, "--tokenizer", model_file, check=False, cwd=ROOT)
    assert refused.returncode == 1 and "exists and is not empty; pass --overwrite" in one_line_stderr(refused)
    again = tmp_path / "again"
    done = polycorp("tokenize", build, "--out", again, "--tokenizer", model_file, "--direct_running_mode=in_memory",
                    cwd=ROOT)
    summary = done.stdout.strip().splitlines()
    assert len(summary) == 1 and summary[0].startswith("tokenized ") and "11 shards" in summary[0], done.stdout
    assert files(again).keys() == files(tokens).keys()
    for name, data in files(tokens).items():
        if name != "manifest.json":
            assert files(again)[name] == data, name
    manifests = [json.loads((d / "manifest.json").read_text()) for d in (again, tokens)]
    assert [m.pop("created") for m in manifests] and manifests[0] == manifests[1]
    (again / "docs" / "stale.parquet").write_bytes(b"x")
    with pytest.raises(TokenizeError, match="pass --overwrite"):
        plan_tokenize(str(build), str(again))
    run_tokenize(plan_tokenize(str(build), str(again), str(model_file), overwrite=True), [])
    assert not (again / "docs" / "stale.parquet").exists() and files(again).keys() == files(tokens).keys()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again"], "no temporary directory left"


def test_without_a_tokenizer_it_trains_the_one_polycorp_train_would(build, model_file, tmp_path, capsys):
    settings = (TrainConfig(vocab_size=600), LoaderConfig(alpha=0.5))
    manifest = run_tokenize(plan_tokenize(str(build), str(tmp_path / "tokens")), [], *settings)
    train_run_tokenizer(str(build), tmp_path / "reference.model", *settings)  # what prepare_run trains
    assert (tmp_path / "tokens" / "tokenizer.model").read_bytes() == (tmp_path / "reference.model").read_bytes()
    assert manifest["tokenizer"]["trained"] == {"vocab_size": 600, "max_chars": 50_000_000, "alpha": 0.5,
                                                "heldout_fraction": 0.05, "seed": 0}
    tok = Tokenizer(tmp_path / "reference.model")
    shard = next(s["path"] for s in manifest["shards"] if s["kind"] == "docs" and s["rows"])
    texts = pq.read_table(build / shard, columns=["text"]).column("text").to_pylist()
    assert pq.read_table(tmp_path / "tokens" / shard).column("ids").to_pylist() == [tok.encode(t) for t in texts]
    assert main(["tokenize", str(build), "--out", str(tmp_path / "x"), "--tokenizer", str(model_file),
                 "--vocab-size", "600"]) == 1
    assert "--vocab-size sets how a tokenizer is trained" in capsys.readouterr().err
    # a run holding out more (0.2) than that tokenizer did (0.05) would evaluate on text it saw
    with pytest.raises(TrainError, match="trained holding out 0.05 of the documents, so some this run holds out"):
        train(str(build), tmp_path / "run", TrainConfig(steps=1), LOADER, device="cpu", tokens_dir=str(tmp_path / "tokens"))


def one_line_stderr(result) -> str:
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr


class NoEncode(Tokenizer):
    """The tokenizer, but encoding text fails: batches must then come from the stored ids."""

    def encode(self, text: str) -> list[int]:
        raise AssertionError("text encoded although token shards were given")


def assert_same(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for kind in x:
            assert x[kind].keys() == y[kind].keys()
            assert all(torch.equal(x[kind][key], y[kind][key]) for key in x[kind]), kind


def take(loader, n: int) -> list[dict]:
    return [batch for _, batch in zip(range(n), loader)]


def test_batches_from_token_shards_equal_batches_from_text_across_resumes(build, tokens, tok):
    """36 batches (20% of documents held out): from text in one go; from token shards (text never
    encoded) stopped after 11, resumed from text after 12 more (state through JSON), then from
    tokens again — the same tensors. With two workers too."""
    text = take(StreamingLoader(StreamingDataset(str(build), tok, LOADER)), 36)
    assert {"lm", "mt", "pair"} <= text[0].keys() and not torch.equal(text[0]["lm"]["input_ids"], text[1]["lm"]["input_ids"])
    no_encode = NoEncode(tok.path)
    got, state = [], None
    for n, tokens_dir, tokenizer in ((11, str(tokens), no_encode), (12, None, tok), (13, str(tokens), no_encode)):
        loader = StreamingLoader(StreamingDataset(str(build), tokenizer, LOADER, tokens_dir=tokens_dir))
        if state is not None:
            loader.load_state_dict(json.loads(state))
        got += take(loader, n)
        state = json.dumps(loader.state_dict())
    assert_same(got, text)
    two = [take(StreamingLoader(StreamingDataset(str(build), t, LOADER, tokens_dir=d), 2), 6)
           for t, d in ((tok, None), (no_encode, str(tokens)))]
    assert_same(*two)


def test_another_tokenizer_or_build_or_no_tokens_refused(build, tokens, gold, tmp_path):
    other = tmp_path / "other.model"
    other.write_bytes(train_tokenizer([p["text"][:2000] for p in gold], ["de", "en", "ja"]).sp.serialized_model_proto())
    with pytest.raises(DataError) as error:
        StreamingDataset(str(build), Tokenizer(other), LOADER, tokens_dir=str(tokens))
    assert "another tokenizer" in one_line(error) and str(tokens) in str(error.value)
    smaller = tmp_path / "build"
    shutil.copytree(build, smaller)
    manifest = json.loads((smaller / "manifest.json").read_text())
    manifest["shards"] = [s for s in manifest["shards"] if "lang=de" not in s["path"]]
    (smaller / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError) as error:
        StreamingDataset(str(smaller), Tokenizer(tokens / "tokenizer.model"), LOADER, tokens_dir=str(tokens))
    assert "another build" in one_line(error) and "polycorp tokenize" in str(error.value)
    with pytest.raises(DataError) as error:
        StreamingDataset(str(build), Tokenizer(tokens / "tokenizer.model"), LOADER, tokens_dir=str(tmp_path))
    assert "no manifest.json" in one_line(error) and "polycorp tokenize" in str(error.value)
    older = tmp_path / "older"  # token shards of the first format (no URL columns)
    shutil.copytree(tokens, older)
    manifest = json.loads((older / "manifest.json").read_text())
    (older / "manifest.json").write_text(json.dumps({**manifest, "format": "polycorp-tokens/1"}))
    with pytest.raises(DataError) as error:
        StreamingDataset(str(build), Tokenizer(tokens / "tokenizer.model"), LOADER, tokens_dir=str(older))
    assert "older format (polycorp-tokens/1" in one_line(error)
    assert f"--out {older} --overwrite (with --tokenizer {older}/tokenizer.model" in str(error.value)


def corrupt_copy(source: Path, copy: Path, shard: str) -> Path:
    """A copy of a directory of shards with one byte flipped in `shard` ("folder#index": the
    index-th Parquet file of the folder); returns the corrupted file."""
    shutil.copytree(source, copy)
    folder, index = shard.split("#")
    return flip_middle_byte(sorted((copy / folder).glob("*.parquet"))[int(index)])


def test_corrupt_or_missing_token_shard_named(build, tokens, tok, tmp_path):
    copy = tmp_path / "tokens"
    shard = corrupt_copy(tokens, copy, "bitext/pair=de-en#1")
    with pytest.raises(ShardError) as error:
        StreamingDataset(str(build), tok, LOADER, tokens_dir=str(copy))
    assert str(shard) in one_line(error) and "sha256" in str(error.value) and "polycorp tokenize" in str(error.value)
    shard.unlink()
    with pytest.raises(ShardError) as error:
        StreamingDataset(str(build), tok, LOADER, tokens_dir=str(copy))
    assert str(shard) in one_line(error) and "missing" in str(error.value)


def test_corrupt_or_missing_build_shard_named_by_tokenize(build, model_file, tmp_path):
    copy = tmp_path / "build"
    shard = corrupt_copy(build, copy, "docs/lang=en#0")
    with pytest.raises(ShardError) as error:
        run_tokenize(plan_tokenize(str(copy), str(tmp_path / "tokens"), str(model_file)), [])
    assert str(shard) in one_line(error) and "sha256" in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build"], "nothing written, no temporary directory left"
    shard.unlink()
    with pytest.raises(ShardError, match="missing"):
        plan_tokenize(str(copy), str(tmp_path / "tokens"))


def test_train_with_tokens_resumes_with_them_and_equals_a_text_run(build, tokens, model_file, tmp_path):
    """`train(tokens_dir=)` copies the tokens' tokenizer and records the directory; --resume reads
    it back (a resume after the tokens' manifest is gone fails on it); 1 + 1 steps on token shards
    give the weights of 2 steps on text."""
    config = TrainConfig(steps=2, num_workers=0, log_every=1, checkpoint_every=100, warmup=1, vocab_size=2000)
    text_run = tmp_path / "text"
    text_run.mkdir()
    shutil.copy(model_file, text_run / "tokenizer.model")
    expected = train(str(build), text_run, config, LOADER, device="cpu", quiet=True)["model"].state_dict()
    run = tmp_path / "tokens-run"
    train(str(build), run, config, LOADER, device="cpu", quiet=True, stop_at=1, tokens_dir=str(tokens))
    assert (run / "tokenizer.model").read_bytes() == (tokens / "tokenizer.model").read_bytes()
    assert json.loads((run / "config.json").read_text())["tokens"] == str(tokens)
    manifest = (tokens / "manifest.json").read_bytes()
    (tokens / "manifest.json").unlink()
    try:
        with pytest.raises(DataError, match="no manifest.json"):
            train(str(build), run, config, LOADER, device="cpu", quiet=True, resume=True)
    finally:
        (tokens / "manifest.json").write_bytes(manifest)
    resumed = train(str(build), run, config, LOADER, device="cpu", quiet=True, resume=True)
    assert resumed["step"] == 2
    got = resumed["model"].state_dict()
    assert all(torch.equal(got[k], expected[k]) for k in expected)


def test_tokenize_and_load_on_an_object_store(build, tokens, tok, tmp_path, monkeypatch):
    """The build on an object-store-like FileSystem (tests/fakefs.py: no directories, no rename):
    tokenize writes there in place, manifest.json last, the same bytes as locally; the loader reads
    build and token shards from there and gives the local batches."""
    importlib.import_module("tests.fakefs")  # registers fakefs://

    monkeypatch.setenv("POLYCORP_FAKEFS_ROOT", str(tmp_path))
    shutil.copytree(build, tmp_path / "bucket" / "build")
    remote_build, remote_tokens = "fakefs://bucket/build", "fakefs://bucket/tokens"
    plan = plan_tokenize(remote_build, remote_tokens, str(tok.path))
    assert plan.work_dir == remote_tokens  # written in place
    run_tokenize(plan, [])
    local = files(tokens)
    remote = files(tmp_path / "bucket" / "tokens")
    assert remote.keys() == local.keys()
    assert all(remote[k] == local[k] for k in local if k != "manifest.json")
    local_batches = take(StreamingLoader(StreamingDataset(str(build), tok, LOADER)), 8)
    remote_batches = take(StreamingLoader(StreamingDataset(remote_build, NoEncode(tok.path), LOADER,
                                                           tokens_dir=remote_tokens)), 8)
    assert_same(remote_batches, local_batches)
    with pytest.raises(TokenizeError, match="exists and is not empty; pass --overwrite"):
        plan_tokenize(remote_build, remote_tokens, str(tok.path))


def test_vocab_size_with_tokens_is_refused(build, tokens, tmp_path, capsys):
    code = main(["train", "--data", str(build), "--out", str(tmp_path / "run"), "--tokens", str(tokens),
                 "--vocab-size", "500", "--device", "cpu"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith("polycorp train: error: --vocab-size") and "\n" not in err
    assert not (tmp_path / "run").exists()


def test_overwrite_never_replaces_a_build_or_other_files(build, tokens, model_file, tmp_path):
    """--overwrite replaces a set of token shards only: a build given as --out (or --tokens) is named
    for what it is, and a directory of other files is left alone."""
    victim = tmp_path / "another-build"
    shutil.copytree(build, victim)
    with pytest.raises(TokenizeError, match="holds a polycorp/1 output, not a set of token shards"):
        plan_tokenize(str(build), str(victim), str(model_file), overwrite=True)
    others = tmp_path / "notes"
    others.mkdir()
    (others / "todo.txt").write_text("keep me")
    with pytest.raises(TokenizeError, match="holds files but no set of token shards .*empty it yourself"):
        plan_tokenize(str(build), str(others), str(model_file), overwrite=True)
    assert (victim / "manifest.json").exists() and (others / "todo.txt").read_text() == "keep me"
    with pytest.raises(DataError, match="holds a polycorp/1 output, not token shards \\(a build goes to --data\\)"):
        StreamingDataset(str(build), Tokenizer(tokens / "tokenizer.model"), LOADER, tokens_dir=str(victim))
    with pytest.raises(TokenizerError, match="is not a SentencePiece model"):
        plan_tokenize(str(build), str(tmp_path / "t"), str(victim / "manifest.json"))
