"""A build is readable by the tools data teams already use: pyarrow.dataset, DuckDB and Polars read
docs/ and bitext/ directly, with the language (pair) as a hive partition column."""

from __future__ import annotations

import json
from collections import Counter

import duckdb
import polars as pl
import pyarrow.dataset as ds


def expected(build) -> tuple[Counter, Counter]:
    """Rows per language and per language pair, from the manifest."""
    manifest = json.loads((build / "manifest.json").read_text())
    langs, pairs = Counter(), Counter()
    for s in manifest["shards"]:
        if s["kind"] == "docs":
            langs[s["lang"]] += s["rows"]
        elif s["kind"] == "bitext":
            pairs[s["pair"]] += s["rows"]
    return +langs, +pairs


def test_pyarrow_dataset_with_hive_partitioning(sample_build):
    langs, pairs = expected(sample_build)
    docs = ds.dataset(sample_build / "docs", format="parquet", partitioning="hive")
    assert Counter(docs.to_table(columns=["lang"]).column("lang").to_pylist()) == langs
    de = docs.to_table(filter=ds.field("lang") == "de", columns=["id", "text", "lang"])  # partition pruning
    assert de.num_rows == langs["de"] and set(de.column("lang").to_pylist()) == {"de"}
    bitext = ds.dataset(sample_build / "bitext", format="parquet", partitioning="hive")
    assert Counter(bitext.to_table(columns=["pair"]).column("pair").to_pylist()) == pairs


def test_duckdb_reads_docs_and_bitext(sample_build):
    langs, pairs = expected(sample_build)
    got = duckdb.sql(f"SELECT lang, count(*) FROM read_parquet('{sample_build}/docs/*/*.parquet', "
                     "hive_partitioning = true) GROUP BY lang").fetchall()
    assert dict(got) == langs
    got = duckdb.sql(f"SELECT pair, count(*), min(src_lang < tgt_lang) FROM read_parquet("
                     f"'{sample_build}/bitext/*/*.parquet', hive_partitioning = true) GROUP BY pair").fetchall()
    assert {p: n for p, n, _ in got} == pairs and all(ordered for _, _, ordered in got)


def test_polars_reads_docs_and_bitext(sample_build):
    langs, pairs = expected(sample_build)
    docs = pl.scan_parquet(f"{sample_build}/docs/**/*.parquet", hive_partitioning=True)
    assert dict(docs.group_by("lang").len().collect().iter_rows()) == langs
    chars = docs.filter(pl.col("lang") == "ja").select(pl.col("n_chars").sum()).collect().item()
    assert chars == json.loads((sample_build / "stats.json").read_text())["per_language"]["ja"]["chars"]
    bitext = pl.scan_parquet(f"{sample_build}/bitext/**/*.parquet", hive_partitioning=True)
    assert dict(bitext.group_by("pair").len().collect().iter_rows()) == pairs
