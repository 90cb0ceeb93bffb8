import glob
import os

import apache_beam as beam
import pyarrow.parquet as pq

from tests.helpers import local_pipeline
from transforms.config import ShardConfig
from transforms.normalise import normalise_text
from transforms.records import Doc, stable_hash
from transforms.shard import WritePartitioned, row_group_bounds, shard_count


def test_row_group_bounds_cover_all_rows_in_order():
    assert row_group_bounds([5, 5, 5, 5, 5], 10) == [(0, 2), (2, 4), (4, 5)]
    assert row_group_bounds([50], 10) == [(0, 1)]
    assert row_group_bounds([], 10) == [(0, 0)]
    sizes = [3, 9, 1, 1, 12, 2]
    bounds = row_group_bounds(sizes, 10)
    assert [i for a, b in bounds for i in range(a, b)] == list(range(len(sizes)))


def test_shard_count():
    assert shard_count(0, 100) == 1
    assert shard_count(100, 100) == 1
    assert shard_count(101, 100) == 2


def corpus_docs(texts):
    docs = []
    for lang, text in texts.items():
        for i, paragraph in enumerate(normalise_text(text).split("\n")):
            doc_id = stable_hash(lang, str(i))
            docs.append(Doc(doc_id, f"https://e.org/{lang}/{i}", "e.org", None, f"s@{i}", None,
                            paragraph, lang, 0.9, "Latn", len(paragraph)))
    return docs


def write(docs, out, config):
    with local_pipeline() as p:
        records = p | "Docs" >> beam.Create(docs)
        infos = records | WritePartitioned(str(out), "docs", Doc, config, partition_of=lambda d: d.lang,
                                           partition_name="lang")
        infos | beam.combiners.ToList() | beam.Map(lambda rows: (out / "infos.txt").write_text(
            "\n".join(sorted(f"{i.path} {i.rows}" for i in rows))))


def test_partitioned_shards_hold_every_row_once_sorted_with_small_row_groups(tmp_path, texts):
    docs = corpus_docs(texts)
    config = ShardConfig(target_bytes=4000, row_group_bytes=1000, compression="zstd", compression_level=3)
    write(docs, tmp_path / "a", config)
    files = sorted(glob.glob(str(tmp_path / "a" / "docs" / "lang=*" / "*.parquet")))
    seen = []
    for path in files:
        pf = pq.ParquetFile(path)
        ids = pf.read().column("id").to_pylist()
        assert ids == sorted(ids)
        lang = path.split("lang=")[1].split("/")[0]
        n = int(path.rsplit("-of-", 1)[1].split(".")[0])
        index = int(os.path.basename(path).split("-")[1])
        assert all(int(i[:16], 16) % n == index for i in ids)
        assert set(pf.read().column("lang").to_pylist()) <= {lang}
        assert pf.metadata.row_group(0).column(0).compression == "ZSTD"
        if pf.metadata.num_rows > 20:
            assert pf.metadata.num_row_groups > 1
        seen += ids
    assert sorted(seen) == sorted(d.id for d in docs)
    # several shards for the languages with more text than the target
    by_lang = {}
    for path in files:
        by_lang.setdefault(path.split("lang=")[1].split("/")[0], []).append(path)
    assert max(len(v) for v in by_lang.values()) > 1
    for paths in by_lang.values():  # every one of the n shards exists
        n = int(paths[0].rsplit("-of-", 1)[1].split(".")[0])
        assert len(paths) == n


def test_shards_are_byte_identical_whatever_the_input_order(tmp_path, texts):
    docs = corpus_docs(texts)
    config = ShardConfig(target_bytes=4000, row_group_bytes=1000, compression="zstd", compression_level=3)
    write(docs, tmp_path / "a", config)
    write(list(reversed(docs)), tmp_path / "b", config)
    a = sorted(glob.glob(str(tmp_path / "a" / "docs" / "**" / "*.parquet"), recursive=True))
    b = sorted(glob.glob(str(tmp_path / "b" / "docs" / "**" / "*.parquet"), recursive=True))
    assert [os.path.relpath(p, tmp_path / "a") for p in a] == [os.path.relpath(p, tmp_path / "b") for p in b]
    for x, y in zip(a, b):
        assert open(x, "rb").read() == open(y, "rb").read()
