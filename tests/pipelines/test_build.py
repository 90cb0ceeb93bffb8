"""End-to-end: `polycorp build` on the bundled sample, bad input, determinism, resume, CLI errors."""

from __future__ import annotations

import glob
import gzip
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.helpers import WarcBuilder, html_page, parquet_files, polycorp, read_kind

DOC_COLUMNS = {
    "id": pa.string(), "url": pa.string(), "host": pa.string(),
    "fetched_at": pa.timestamp("us", tz="UTC"), "source": pa.string(), "title": pa.string(),
    "text": pa.string(), "lang": pa.string(), "lang_score": pa.float32(), "script": pa.string(),
    "n_chars": pa.int32(),
}


def test_output_layout_and_schema(sample_build):
    assert (sample_build / "manifest.json").exists() and (sample_build / "stats.json").exists()
    for kind in ("docs", "dups", "filtered", "rejects"):
        assert (sample_build / kind).is_dir()
    docs = read_kind(sample_build, "docs")
    for name, dtype in DOC_COLUMNS.items():
        assert docs.schema.field(name).type == dtype, name
    assert docs.num_rows > 0
    assert all(t == t.strip() and "\n\n" not in t for t in docs.column("text").to_pylist())
    assert all(n == len(t) for n, t in zip(docs.column("n_chars").to_pylist(), docs.column("text").to_pylist()))
    # language partitions hold their language only
    for path in glob.glob(str(sample_build / "docs" / "lang=*" / "*.parquet")):
        lang = path.split("lang=")[1].split("/")[0]
        assert set(pq.read_table(path).column("lang").to_pylist()) == {lang}
    dups = read_kind(sample_build, "dups")
    assert {"id", "url", "duplicate_of", "duplicate_of_url", "kind", "similarity"} <= set(dups.column_names)
    filtered = read_kind(sample_build, "filtered")
    assert {"id", "url", "lang", "reason", "text"} <= set(filtered.column_names)


def test_languages_and_duplicates_match_the_sample(sample_build, gold):
    docs = read_kind(sample_build, "docs").to_pylist()
    gold_by_url = {g["url"]: g for g in gold}
    # every kept document is a sample page, in the language the sample says
    wrong = [(d["url"], d["lang"]) for d in docs if d["lang"] != gold_by_url[d["url"]]["lang"]]
    assert len(wrong) <= len(docs) // 100, wrong
    stats = json.loads((sample_build / "stats.json").read_text())
    expected = Counter(g["lang"] for g in gold if not g.get("duplicate_of"))
    kept = {lang: row["kept"] for lang, row in stats["per_language"].items() if row["kept"]}
    assert len(kept) >= 8
    for lang, n in expected.items():
        assert kept.get(lang, 0) >= 0.9 * n, (lang, kept.get(lang), n)
    # the sample's natural duplicates are found, each pair exactly once
    gold_pairs = {frozenset((g["url"], g["duplicate_of"])) for g in gold if g.get("duplicate_of")}
    dups = read_kind(sample_build, "dups").to_pylist()
    found = {frozenset((d["url"], d["duplicate_of_url"])) for d in dups}
    assert gold_pairs and gold_pairs <= found
    # and nothing else: different pages sharing their package's boilerplate (e.g. nl cat(1) and
    # rmdir(1), estimated Jaccard 0.54) are not near duplicates (near_dedup.min_similarity 0.7)
    assert all(d["kind"] == "exact" and d["similarity"] == 1.0 for d in dups)
    kept_ids = {d["id"] for d in docs}
    assert all(d["duplicate_of"] in kept_ids and d["id"] not in kept_ids for d in dups)


def test_accounting_adds_up(sample_build):
    stats = json.loads((sample_build / "stats.json").read_text())
    total = (stats["kept"] + sum(stats["filtered"].values()) + sum(stats["duplicates"].values())
             + sum(stats["rejected"].values()))
    assert stats["input_records"] == total > 0
    assert stats["kept"] == read_kind(sample_build, "docs").num_rows
    assert sum(stats["duplicates"].values()) == read_kind(sample_build, "dups").num_rows
    assert sum(stats["filtered"].values()) == read_kind(sample_build, "filtered").num_rows
    assert stats["warc_records_skipped"].get("request", 0) > 0
    assert sum(r["kept"] for r in stats["per_language"].values()) == stats["kept"]


def test_manifest_lists_every_shard_with_its_checksum(sample_build):
    import hashlib

    manifest = json.loads((sample_build / "manifest.json").read_text())
    assert manifest["format"] == "polycorp/1"
    listed = {s["path"]: s for s in manifest["shards"]}
    assert set(listed) == set(parquet_files(sample_build))
    for path, shard in listed.items():
        data = (sample_build / path).read_bytes()
        assert shard["sha256"] == hashlib.sha256(data).hexdigest() and shard["bytes"] == len(data)
        assert shard["rows"] == pq.ParquetFile(sample_build / path).metadata.num_rows
        if shard["kind"] == "docs":
            assert f"lang={shard['lang']}/" in path
    assert manifest["config"]["langid"]["min_score"]["default"] == 0.5
    assert manifest["metrics_checked"] is True  # the runner's counters equal stats.json
    assert not glob.glob(str(sample_build.parent / ".*tmp-*"))  # no half-written build left behind


def test_rebuild_is_byte_identical_also_with_two_worker_processes(sample_build, sample_warc, tmp_path):
    out = tmp_path / "again"
    polycorp("build", sample_warc, "--out", out, "--cache", tmp_path / "fresh-cache",
             "--direct_running_mode=multi_processing", "--direct_num_workers=2")
    assert parquet_files(out) == parquet_files(sample_build)
    assert (out / "stats.json").read_text() == (sample_build / "stats.json").read_text()


def split_warc(source: Path, parts: int, out_dir: Path) -> list[Path]:
    """Split a per-record-gzipped WARC into `parts` files at gzip member boundaries."""
    data = source.read_bytes()
    members, pos = [], 0
    while pos < len(data):
        d = __import__("zlib").decompressobj(wbits=31)
        d.decompress(data[pos:])
        end = len(data) - len(d.unused_data)
        members.append(data[pos:end])
        pos = end
    out_dir.mkdir()
    size = -(-len(members) // parts)
    paths = []
    for i in range(parts):
        path = out_dir / f"part-{i}.warc.gz"
        path.write_bytes(b"".join(members[i * size:(i + 1) * size]))
        paths.append(path)
    return paths


def test_killed_build_resumes_from_staging_with_the_same_shards(sample_warc, tmp_path, no_bitext):
    inputs = split_warc(sample_warc, 4, tmp_path / "in")
    reference = tmp_path / "reference"
    polycorp("build", *inputs, "--out", reference, "--config", no_bitext)

    out, cache = tmp_path / "out", tmp_path / "cache"
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "build", *map(str, inputs),
                             "--out", str(out), "--cache", str(cache), "--config", str(no_bitext)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not glob.glob(str(cache / "staging" / "*.parquet")) and time.monotonic() < deadline:
        assert proc.poll() is None, "build ended before writing any staging"
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    assert not out.exists(), "a killed build must not look finished"
    staged = len(glob.glob(str(cache / "staging" / "*.parquet")))
    assert staged >= 1
    rerun = polycorp("build", *inputs, "--out", out, "--cache", cache, "--config", no_bitext)
    assert f"({staged} from staging cache)" in rerun.stderr
    assert parquet_files(out) == parquet_files(reference)

    # a later build with one more input re-reads only the new one
    extra = tmp_path / "extra.warc.gz"
    w = WarcBuilder(extra)
    w.response("https://extra.example.org/de", html_page("Neu", "Ein neues Dokument. " * 30, "de").encode())
    w.close()
    more = polycorp("build", *inputs, extra, "--out", tmp_path / "more", "--cache", cache, "--config", no_bitext)
    assert "(4 from staging cache)" in more.stderr
    stats = json.loads((tmp_path / "more" / "stats.json").read_text())
    assert stats["input_records"] == json.loads((reference / "stats.json").read_text())["input_records"] + 1


def make_bad_inputs(folder: Path, texts: dict[str, str]) -> dict[str, Path]:
    folder.mkdir()
    files = {}
    w = WarcBuilder(folder / "truncated.warc.gz")
    for lang in ("de", "fr", "it"):
        w.response(f"https://bad.example.org/trunc/{lang}", html_page(lang, texts[lang], lang).encode())
    w.close()
    data = (folder / "truncated.warc.gz").read_bytes()
    (folder / "truncated.warc.gz").write_bytes(data[:-200])
    files["truncated"] = folder / "truncated.warc.gz"

    w = WarcBuilder(folder / "mixed.warc.gz")
    w.response("https://bad.example.org/ok", html_page("ok", texts["es"], "es").encode())
    w.raw(b"WARC/1.1\r\nnot a header at all\r\nContent-Length: lots\r\n\r\nxx\r\n\r\n")
    ru_page = html_page("Страница", texts["ru"], "ru", charset="windows-1251").encode("cp1251", "replace")
    w.response("https://bad.example.org/wrong-charset", ru_page, content_type="text/html; charset=utf-8")
    w.response("https://bad.example.org/invalid-utf8",
               html_page("x", texts["pl"], "pl").encode()[:-400] + b"\xff\xfe\xc3(" + b"</p></main></html>")
    w.response("https://bad.example.org/binary.html", bytes(range(256)) * 40)
    w.response("https://bad.example.org/huge", html_page("huge", texts["en"] * (20_000_000 // len(texts["en"]) + 1)).encode())
    w.response("https://bad.example.org/empty", b"")
    w.close()
    files["mixed"] = folder / "mixed.warc.gz"

    (folder / "notes.warc").write_text(texts["en"][:2000])
    files["not_warc"] = folder / "notes.warc"
    gz = folder / "garbage.warc.gz"
    gz.write_bytes(gzip.compress(texts["fr"].encode())[:-50])
    files["garbage_gzip"] = gz
    return files


def test_bad_input_is_rejected_or_filtered_and_the_rest_is_built(tmp_path, texts, sample_warc, no_bitext):
    bad = make_bad_inputs(tmp_path / "bad", texts)
    out = tmp_path / "out"
    result = polycorp("build", sample_warc, *bad.values(), "--out", out, "--config", no_bitext)
    assert result.returncode == 0
    # files that could not be read at all are named in one warning line (the rest was built)
    warning = [line for line in result.stderr.splitlines() if "warning:" in line]
    assert len(warning) == 1 and "2 input file(s) could not be read" in warning[0]
    assert "notes.warc (not_warc" in warning[0] and "garbage.warc.gz (not_warc" in warning[0]
    stats = json.loads((out / "stats.json").read_text())
    rejects = read_kind(out, "rejects").to_pylist()
    by_file = Counter((os.path.basename(r["source"].rsplit("@", 1)[0]), r["error"]) for r in rejects)
    assert by_file[("truncated.warc.gz", "truncated_record")] == 1
    assert by_file[("mixed.warc.gz", "malformed_record")] == 1
    assert by_file[("notes.warc", "not_warc")] == 1
    assert by_file[("garbage.warc.gz", "not_warc")] == 1
    filtered = {r["url"]: r["reason"] for r in read_kind(out, "filtered").to_pylist()}
    assert filtered["https://bad.example.org/binary.html"] == "binary_content"
    assert filtered["https://bad.example.org/huge"] == "payload_too_large"
    assert filtered["https://bad.example.org/empty"] == "empty_payload"
    docs = {d["url"]: d for d in read_kind(out, "docs").to_pylist()}
    assert docs["https://bad.example.org/wrong-charset"]["lang"] == "ru"
    assert texts["ru"].split()[2] in docs["https://bad.example.org/wrong-charset"]["text"]
    assert docs["https://bad.example.org/invalid-utf8"]["lang"] == "pl"
    assert "https://bad.example.org/trunc/fr" in docs and "https://bad.example.org/ok" in docs
    total = (stats["kept"] + sum(stats["filtered"].values()) + sum(stats["duplicates"].values())
             + sum(stats["rejected"].values()))
    assert stats["input_records"] == total


def test_cli_errors_are_one_line_with_nonzero_exit(tmp_path, sample_warc, sample_build):
    missing = polycorp("build", tmp_path / "nope.warc.gz", "--out", tmp_path / "o", check=False)
    assert missing.returncode != 0
    assert missing.stderr.strip().splitlines() == [f"polycorp build: error: input not found: {tmp_path / 'nope.warc.gz'}"]

    blocker = tmp_path / "file"
    blocker.write_text("x")
    unwritable = polycorp("build", sample_warc, "--out", blocker / "sub" / "out", check=False)
    assert unwritable.returncode != 0
    assert len(unwritable.stderr.strip().splitlines()) == 1 and "cannot create" in unwritable.stderr

    exists = polycorp("build", sample_warc, "--out", sample_build, check=False)
    assert exists.returncode != 0 and "--overwrite" in exists.stderr
    assert len(exists.stderr.strip().splitlines()) == 1

    bad_config = tmp_path / "bad.toml"
    bad_config.write_text("[filters]\nmin_charz = 1\n")
    config = polycorp("build", sample_warc, "--out", tmp_path / "c", "--config", bad_config, check=False)
    assert config.returncode != 0 and "filters.min_charz" in config.stderr


def test_overwrite_replaces_a_build_only_when_the_new_one_is_complete(tmp_path, sample_warc, no_bitext):
    out = tmp_path / "o"
    polycorp("build", sample_warc, "--out", out, "--config", no_bitext)
    first = json.loads((out / "manifest.json").read_text())["created"]
    cfg = tmp_path / "c.toml"
    cfg.write_text(no_bitext.read_text() + "[filters]\nmin_chars = 1000000\n")  # filters everything: a different build
    polycorp("build", sample_warc, "--out", out, "--overwrite", "--config", cfg)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["kept"] == 0 and stats["filtered"]["too_short"] > 0
    assert json.loads((out / "manifest.json").read_text())["inputs"][0]["reused_staging"] is True
    assert first


def test_bitext_shards_add_up_and_are_reported(sample_build):
    """The sample's pages link their translations (hreflang): every pair of its 12 languages that
    shares a page gives aligned sentence pairs, in bitext/pair=<a>-<b>/ with a < b; what was dropped
    is in bitext_filtered/ with its reason; the counts match stats.json; `polycorp report` lists them."""
    import pyarrow.dataset as ds

    stats = json.loads((sample_build / "stats.json").read_text())["bitext"]
    bitext = ds.dataset(sample_build / "bitext", format="parquet", partitioning="hive").to_table()
    rows = bitext.to_pylist()
    per_pair = Counter(r["pair"] for r in rows)
    assert per_pair == {p: v["kept"] for p, v in stats["per_pair"].items() if v["kept"]}
    assert {"de-en", "en-ja", "en-zh", "de-fr", "ja-zh"} <= set(per_pair)
    assert all(r["src_lang"] < r["tgt_lang"] and r["pair"] == f"{r['src_lang']}-{r['tgt_lang']}" for r in rows)
    # the language switcher links nearly everything; the rest (a second zh locale, …) by content
    assert sum(r["method"].startswith("hreflang/") for r in rows) >= 0.99 * len(rows)
    dropped = read_kind(sample_build, "bitext_filtered").to_pylist()
    assert len(dropped) == sum(stats["filtered"].values()) + stats["duplicates"]
    assert stats["candidates"] == stats["kept"] + len(dropped)
    manifest = json.loads((sample_build / "manifest.json").read_text())
    listed = Counter(s["pair"] for s in manifest["shards"] if s["kind"] == "bitext" and s["rows"])
    assert set(listed) == set(per_pair)
    report = polycorp("report", sample_build).stdout
    assert "bitext:" in report and "de-en" in report and str(stats["per_pair"]["de-en"]["kept"]) in report
