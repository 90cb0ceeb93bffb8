"""The streaming loader: partition, temperature sampling, packing, exact resume, shard checks."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch

from tests.helpers import flip_middle_byte
from tests.training.corpus import bitext_pairs, doc_record, train_tokenizer, write_build
from training.data import (
    IGNORE, DataError, LoaderConfig, ResumeError, RowStream, ShardError, StreamingDataset, StreamingLoader,
    load_plan, slot_index,
)
from training.split import is_heldout

ROOT = Path(__file__).resolve().parents[2]
SMALL = LoaderConfig(seq_len=32, pair_len=16, batch_size=8, seed=7)  # 6 lm, 1 mt, 1 pair per batch


@pytest.fixture(scope="session")
def pages(gold) -> dict[str, list[dict]]:
    """The sample's original pages (no planted duplicates) per language."""
    by_lang: dict[str, list[dict]] = {}
    for page in gold:
        if not page.get("duplicate_of"):
            by_lang.setdefault(page["lang"], []).append(page)
    return by_lang


@pytest.fixture(scope="session")
def tok(gold):
    return train_tokenizer([page["text"][:3000] for page in gold], sorted({page["lang"] for page in gold}))


@pytest.fixture(scope="session")
def links() -> dict[str, list[tuple[str, str]]]:
    return bitext_pairs()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory, pages, links):
    """Languages and pairs of very different sizes, so the temperature visibly matters."""
    docs = {"en": pages["en"][:40], "de": pages["de"][:10], "ja": pages["ja"][:3]}
    bitext = {"de-en": links["de-en"][:160], "en-fr": links["en-fr"][:40], "en-ja": links["en-ja"][:10]}
    return write_build(tmp_path_factory.mktemp("corpus"), docs, bitext)


def take(iterable, n: int) -> list:
    """The first n items, pulling no more (range first: zip stops before asking the loader again)."""
    return [batch for _, batch in zip(range(n), iterable)]


def manifest_rows(build, kind: str) -> dict[str, int]:
    key = {"docs": "lang", "bitext": "pair"}[kind]
    rows: Counter = Counter()
    for entry in json.loads((build / "manifest.json").read_text())["shards"]:
        if entry["kind"] == kind:
            rows[entry[key]] += entry["rows"]
    return dict(rows)


# --- partition ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def uneven(tmp_path_factory, pages):
    """One shard each. de: 13 rows in 7 row groups; it: 3 rows in 2; ja: 1 row (fewer rows than
    most slot counts); pt: 6 rows in groups of 5 and 1 (a shard's small last group)."""
    docs = {"de": pages["de"][:13], "it": pages["it"][:3], "ja": pages["ja"][:1], "pt": pages["pt"][:6]}
    return write_build(tmp_path_factory.mktemp("uneven"), docs, {}, n_shards=1, rows_per_group=2,
                       layout={"pt": (1, 5)})


def test_a_plan_of_other_settings_is_refused(uneven, tok):
    with pytest.raises(ValueError, match="the plan is of"):
        StreamingDataset(str(uneven), tok, replace(SMALL, heldout_fraction=0.1), plan=load_plan(str(uneven), 0.3))
    dataset = StreamingDataset(str(uneven), tok, replace(SMALL, heldout_fraction=0.3), plan=load_plan(str(uneven), 0.3))
    assert dataset.plan.heldout_fraction == 0.3


def test_translation_examples_are_mt_len_but_never_longer_than_lm_windows():
    assert LoaderConfig(seq_len=1024, mt_len=256).translation_len == 256
    assert LoaderConfig(seq_len=128, mt_len=256).translation_len == 128
    with pytest.raises(ValueError, match="mt_len >= 4"):
        LoaderConfig(mt_len=3)


@pytest.mark.parametrize("batch_size, bitext_share, pair_share, expected", [
    (16, 0.25, 0.5, (12, 2, 2)), (10, 0.25, 0.5, (7, 1, 2)), (14, 0.25, 0.5, (10, 2, 2)),
    (6, 0.25, 1 / 3, (4, 1, 1)), (4, 0.0, 0.5, (4, 0, 0)), (5, 1.0, 0.9, (0, 0, 5))])
def test_batch_composition_rounds_shares_half_up(batch_size, bitext_share, pair_share, expected):
    config = LoaderConfig(batch_size=batch_size, bitext_share=bitext_share, pair_share=pair_share)
    assert tuple(config.composition(True).values()) == expected  # lm, mt, pair
    assert config.composition(False) == {"lm": batch_size, "mt": 0, "pair": 0}


@pytest.mark.parametrize("world_size,num_workers", [(1, 0), (1, 2), (1, 3), (2, 3), (3, 2), (7, 1), (2, 4), (3, 4)])
def test_every_row_once_per_epoch_on_every_slot_layout(uneven, world_size, num_workers):
    plan = load_plan(str(uneven))
    assert [[u.rows for u in plan.docs[lang].units] for lang in ("it", "ja", "pt")] == [[2, 1], [1], [5, 1]]
    assert len(plan.docs["de"].units) == 7
    workers = max(1, num_workers)
    slots = [slot_index(rank, worker, workers) for rank in range(world_size) for worker in range(workers)]
    assert sorted(slots) == list(range(world_size * workers))
    for lang, source in plan.docs.items():
        streams = [RowStream(plan, source, ("id",), 3, slot, len(slots)) for slot in slots]
        per_epoch = streams[0].per_epoch
        epochs = max(2, math.ceil(len(slots) / per_epoch))  # enough epochs for every slot to get a part
        seen: dict[int, list] = {e: [] for e in range(epochs)}
        for slot, stream in zip(slots, streams):
            epochs_read = set()
            while stream.cursor[0] < epochs * per_epoch:
                (row_id,), (q, i) = stream.next_row()
                seen[q // per_epoch].append((q, i, row_id))
                epochs_read.add(q // per_epoch)
            assert epochs_read, f"slot {slot} got no {lang} rows"
            if source.rows >= len(slots):  # enough rows: units are strided so every slot reads every epoch
                assert epochs_read == set(range(epochs)), (lang, slot, epochs_read)
        for e, rows in seen.items():
            assert Counter(r for _, _, r in rows) == Counter(shard_ids(uneven, lang)), (lang, e)
        orders = [[r for *_, r in sorted(rows)] for rows in seen.values()]
        if source.rows > 2:
            assert orders[0] != orders[1], "every epoch has its own order"


def shard_ids(build, lang: str) -> list[str]:
    """Every id of a language's shards, read whole with pyarrow (independently of the loader)."""
    return [i for path in (build / "docs" / f"lang={lang}").glob("*.parquet")
            for i in pq.read_table(path, columns=["id"]).column("id").to_pylist()]


def test_heldout_documents_and_pairs_never_served(corpus):
    """20% of documents held out (so ~36% of pairs: either side): an epoch over 2 × 3 slots is
    exactly the other rows, each once."""
    plan = load_plan(str(corpus), heldout_fraction=0.2)
    for source, partition, held in (
        (plan.docs["en"], "docs/lang=en", lambda r: is_heldout(r["url"], 0.2)),  # the URL's hash, both sides'
        (plan.bitext["de-en"], "bitext/pair=de-en", lambda r: is_heldout(r["src_url"], 0.2) or is_heldout(r["tgt_url"], 0.2)),
    ):
        rows = pq.read_table(corpus / partition).to_pylist()
        training = [r["id"] for r in rows if not held(r)]
        assert len(rows) / 2 < len(training) < len(rows)
        seen: Counter = Counter()
        for slot in range(6):
            stream = RowStream(plan, source, ("id",), 5, slot, 6)
            while stream.cursor[0] < stream.per_epoch:
                seen[stream.next_row()[0][0]] += 1
        assert seen == Counter(training)


def test_every_rank_and_worker_gets_batches(uneven, tok):
    """2 ranks × 3 workers over 7, 2, 1 and 2 row groups: each slot serves every language, differently."""
    config = LoaderConfig(seq_len=24, batch_size=4, alpha=0.0, seed=1)
    firsts = []
    for rank in range(2):
        dataset = StreamingDataset(str(uneven), tok, config, rank=rank, world_size=2)
        for role in range(3):
            batches = take(dataset.batches(role, 3), 12)
            langs = {int(x) for b in batches for x in b["lm"]["lang"]}
            assert langs == {tok.lang_id(lang) for lang in ("de", "it", "ja", "pt")}
            firsts.append(batches[0]["lm"]["input_ids"])
    assert len({tuple(t.flatten().tolist()) for t in firsts}) == 6


# --- sampling ----------------------------------------------------------------------------------

def expected_p(rows: dict[str, int], alpha: float) -> dict[str, float]:
    weights = {name: n ** alpha for name, n in rows.items()}
    return {name: w / sum(weights.values()) for name, w in weights.items()}


def max_z(counts: Counter, p: dict[str, float]) -> float:
    """Largest |count - N p| in binomial standard deviations over the categories."""
    n = sum(counts.values())
    return max(abs(counts[name] - n * q) / math.sqrt(n * q * (1 - q)) for name, q in p.items())


def test_languages_and_pairs_sampled_by_temperature(corpus, tok):
    """Counts of a multinomial: each within 4 binomial s.d. of N·p (a right sampler fails that for a
    given category with probability ~6e-5; the seeds are fixed anyway), while p for α = 1 is >10
    s.d. away, so a sampler ignoring the temperature fails."""
    batches = take(StreamingDataset(str(corpus), tok, SMALL), 300)
    lang_of = {tok.lang_id(lang): lang for lang in ("en", "de", "ja")}
    langs: Counter = Counter()
    for batch in batches:
        for ids, lang in zip(batch["lm"]["input_ids"], batch["lm"]["lang"]):
            langs[lang_of[int(lang)]] += 1
            tags = {lang_of[int(t)] for t in ids if int(t) in lang_of}
            assert tags <= {lang_of[int(lang)]}, "a window holds only its language's documents"
    pairs: Counter = Counter()
    for batch in batches:
        for kind in ("mt", "pair"):
            for src, tgt in zip(batch[kind]["src_lang"], batch[kind]["tgt_lang"]):
                pairs["-".join(sorted((tok.sp.id_to_piece(int(src))[2:-1], tok.sp.id_to_piece(int(tgt))[2:-1])))] += 1
    for counts, rows in ((langs, manifest_rows(corpus, "docs")), (pairs, manifest_rows(corpus, "bitext"))):
        assert set(counts) == set(rows)
        assert max_z(counts, expected_p(rows, 0.3)) < 4, counts
        assert max_z(counts, expected_p(rows, 1.0)) > 10, counts


# --- examples ----------------------------------------------------------------------------------

def test_lm_windows_pack_whole_documents(corpus, tok, pages):
    """All en windows of one slot, joined, are `<2en> document eos` for successive real documents:
    nothing dropped, nothing invented, nothing held out; labels are the ids except at the tags."""
    encoded = {tuple(tok.encode(p["text"])): p["text"] for i, p in enumerate(pages["en"][:40])
               if not is_heldout(doc_record(p, i).url, SMALL.heldout_fraction)}
    tag, tags = tok.lang_id("en"), {tok.lang_id(lang) for lang in ("en", "de", "ja")}
    stream: list[int] = []
    for batch in take(StreamingDataset(str(corpus), tok, SMALL), 60):
        lm = batch["lm"]
        for ids, labels, lang in zip(lm["input_ids"].tolist(), lm["labels"].tolist(), lm["lang"].tolist()):
            assert labels == [IGNORE if i in tags else i for i in ids]
            if lang == tag:
                stream += ids
    assert stream[0] == tag
    texts, pos = [], 0
    while tok.eos_id in stream[pos:]:
        end = stream.index(tok.eos_id, pos)
        assert stream[pos] == tag
        texts.append(encoded[tuple(stream[pos + 1:end])])
        pos = end + 1
    assert len(texts) >= 2 and len(set(texts)) == len(texts)  # several documents, none twice in epoch 0
    assert stream[pos] == tag and any(doc[:len(stream) - pos - 1] == tuple(stream[pos + 1:]) for doc in encoded)
    first_window = tok.decode(stream[:SMALL.seq_len])  # e.g. "<2en> CAT(1) User Commands CAT(1)\n\nNAME\ncat"
    assert first_window.startswith("<2en> ") and texts[0].startswith(first_window[6:].rstrip("\ufffd"))


def is_gold(a: str, b: str, gold: set[tuple[str, str]], whole: bool) -> bool:
    """(a, b) is a gold pair (either way round), or, when cut to fit, a prefix of one."""
    if whole:
        return (a, b) in gold or (b, a) in gold
    a, b = a.rstrip("\ufffd"), b.rstrip("\ufffd")  # a cut may split a byte-fallback character
    return any(x.startswith(a) and y.startswith(b) or x.startswith(b) and y.startswith(a) for x, y in gold)


def test_mt_loss_on_target_only_and_pairs_real(corpus, tok, links):
    """mt rows are mt_len long (not seq_len): `<2tgt> source <sep> target eos` + padding."""
    config = LoaderConfig(seq_len=200, mt_len=96, pair_len=48, batch_size=8, bitext_share=1.0, seed=3)
    gold = {pair for pairs in links.values() for pair in pairs}
    directions, whole = Counter(), Counter()
    for batch in take(StreamingDataset(str(corpus), tok, config), 10):
        mt = batch["mt"]
        assert mt["input_ids"].shape == mt["labels"].shape == (4, 96)
        columns = (mt[key].tolist() for key in ("input_ids", "labels", "src_lang", "tgt_lang"))
        for ids, labels, src, tgt in zip(*columns):
            sep = ids.index(tok.sep_id)
            assert ids[0] == tgt and all(label == IGNORE for label in labels[:sep + 1])
            target = [t for t in labels[sep + 1:] if t != IGNORE]
            assert target == [t for t in ids[sep + 1:] if t != tok.pad_id]
            fits = ids[-1] == tok.pad_id  # padded: nothing was cut, the target ends with eos
            assert target[-1] == tok.eos_id or not fits
            source, target_text = tok.decode(ids[1:sep]), tok.decode([t for t in target if t != tok.eos_id])
            assert is_gold(source, target_text, gold, fits)
            directions[tok.sp.id_to_piece(src), tok.sp.id_to_piece(tgt)] += 1
            whole[fits] += 1
        pair = batch["pair"]
        for src, tgt in zip(pair["src_ids"].tolist(), pair["tgt_ids"].tolist()):
            assert src[0] == tgt[0] == tok.bos_id and tok.eos_id in src and tok.eos_id in tgt
            sides = [tok.decode([t for t in s if t not in (tok.bos_id, tok.eos_id, tok.pad_id)]) for s in (src, tgt)]
            assert is_gold(*sides, gold, whole=src[-1] == tgt[-1] == tok.pad_id)
    assert all((tgt, src) in directions for src, tgt in directions) and len(directions) == 6, \
        f"both directions of every pair: {directions}"
    assert whole[True] > whole[False], "most gettext messages fit in 96 tokens"


# --- resume ------------------------------------------------------------------------------------

@pytest.mark.parametrize("num_workers", [0, 2])
def test_resume_is_bit_exact(corpus, tok, num_workers):
    """Stopped after 3 and again after 5 batches (not multiples of 2), state through JSON: the same
    9 batches as one uninterrupted run, tensor for tensor."""
    whole = StreamingLoader(StreamingDataset(str(corpus), tok, SMALL), num_workers)
    expected = take(whole, 9)
    got, state = [], None
    for n in (3, 2, 4):
        loader = StreamingLoader(StreamingDataset(str(corpus), tok, SMALL), num_workers)
        if state is not None:
            loader.load_state_dict(json.loads(state))
        got += take(loader, n)
        state = json.dumps(loader.state_dict())
    assert json.loads(state) == whole.state_dict()
    assert not torch.equal(expected[0]["lm"]["input_ids"], expected[1]["lm"]["input_ids"])
    for a, b in zip(expected, got, strict=True):
        assert a.keys() == b.keys()
        for kind in a:
            assert a[kind].keys() == b[kind].keys()
            assert all(torch.equal(a[kind][key], b[kind][key]) for key in a[kind])


def test_a_loader_left_open_does_not_hold_up_the_exit(corpus, tok, tmp_path):
    """Workers ignore SIGTERM (a scheduler's signal to the job must not end them before the
    checkpoint), and multiprocessing ends workers at exit with SIGTERM and waits for them: a script
    that stops iterating without closing the loader waited forever until the loader shut them down."""
    model = tmp_path / "tokenizer.model"
    model.write_bytes(tok.sp.serialized_model_proto())
    script = (
        "from pathlib import Path\n"
        "from tests.training.corpus import SpmTokenizer\n"
        "from training.data import LoaderConfig, StreamingDataset, StreamingLoader\n"
        f"tok = SpmTokenizer(Path({str(model)!r}).read_bytes())\n"
        f"dataset = StreamingDataset({str(corpus)!r}, tok, LoaderConfig(seq_len=32, pair_len=16, batch_size=8))\n"
        "batches = iter(StreamingLoader(dataset, num_workers=2))\n"
        "print(sorted(next(batches)), flush=True)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=90,
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['lm', 'mt', 'pair']"


def test_resume_refuses_other_layout_or_data(corpus, tok):
    loader = StreamingLoader(StreamingDataset(str(corpus), tok, SMALL), 0)
    take(loader, 2)
    state = loader.state_dict()
    with pytest.raises(ResumeError, match="num_workers=0"):
        StreamingLoader(StreamingDataset(str(corpus), tok, SMALL), 2).load_state_dict(state)
    with pytest.raises(ResumeError, match="world_size=1"):
        StreamingLoader(StreamingDataset(str(corpus), tok, SMALL, rank=0, world_size=2)).load_state_dict(state)
    other_seed = LoaderConfig(**{**SMALL.__dict__, "seed": 8})
    with pytest.raises(ResumeError, match="another build or loader config"):
        StreamingLoader(StreamingDataset(str(corpus), tok, other_seed)).load_state_dict(state)


# --- shard checks ------------------------------------------------------------------------------

@pytest.fixture
def small_build(tmp_path, pages):
    return write_build(tmp_path / "build", {"fr": pages["fr"][:4]}, {}, n_shards=2)


def one_line(error: pytest.ExceptionInfo) -> str:
    assert "\n" not in str(error.value)
    return str(error.value)


def test_corrupt_shard_named(small_build, tok):
    shard = flip_middle_byte(sorted((small_build / "docs" / "lang=fr").glob("*.parquet"))[1])
    with pytest.raises(ShardError) as error:
        StreamingDataset(str(small_build), tok, SMALL)
    assert str(shard) in one_line(error) and "sha256" in str(error.value)


def test_missing_shard_named(small_build, tok):
    shard = sorted((small_build / "docs" / "lang=fr").glob("*.parquet"))[0]
    shard.unlink()
    with pytest.raises(ShardError) as error:
        StreamingDataset(str(small_build), tok, SMALL)
    assert str(shard) in one_line(error) and "missing" in str(error.value)


def test_unfinished_build_named(tmp_path, tok):
    with pytest.raises(DataError, match="no manifest.json"):
        StreamingDataset(str(tmp_path), tok, SMALL)
