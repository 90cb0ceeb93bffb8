"""Builds whose inputs, output, staging cache, --previous and report live on an object store.

`tests/fakefs.py` registers the scheme fakefs:// (an object store kept in a local directory: no
directories, rename = copy + delete), loaded with --beam_plugins like any custom FileSystem.
Every polycorp call runs in an empty working directory, which must stay empty: code that used
os/open on a fakefs:// path would create `fakefs:/...` there (or fail)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.helpers import WarcBuilder, html_page, polycorp, read_kind

PLUGIN = "--beam_plugins=tests.fakefs"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path, texts):
    """(root of the fake store, env for polycorp, a run directory); the store holds in/pages.warc.gz:
    one real page per sample language, one exact copy of a page, and a request record."""
    root, cwd = tmp_path / "store", tmp_path / "cwd"
    (root / "in").mkdir(parents=True)
    cwd.mkdir()
    builder = WarcBuilder(root / "in" / "pages.warc.gz")
    for lang, text in sorted(texts.items()):
        builder.response(f"https://docs.example.org/{lang}/page.html", html_page(lang, text, lang).encode())
    first = sorted(texts)[0]
    builder.response("https://mirror.example.net/copy.html", html_page(first, texts[first], first).encode())
    builder.request("https://docs.example.org/")
    builder.close()
    env = {**os.environ, "POLYCORP_FAKEFS_ROOT": str(root), "PYTHONPATH": str(REPO)}
    return root, env, cwd


def run(store, *args, check=True):
    root, env, cwd = store
    result = polycorp(*args, PLUGIN, check=check, env=env, cwd=cwd)
    assert os.listdir(cwd) == [], f"wrote to the local working directory: {os.listdir(cwd)}"
    return result


def test_build_report_and_previous_on_an_object_store(store, no_bitext, texts):
    root = store[0]
    # worker processes: they read inputs, write staging and shards through the plugin too
    run(store, "build", "fakefs://in/*.warc.gz", "--out", "fakefs://bucket/v1", "--config", no_bitext, "--quiet",
        "--direct_running_mode=multi_processing", "--direct_num_workers=2")
    build = root / "bucket" / "v1"
    manifest = json.loads((build / "manifest.json").read_text())
    for shard in manifest["shards"]:  # every listed shard is there, whole
        data = (build / shard["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == shard["sha256"] and len(data) == shard["bytes"]
    assert not list(build.glob("**/_shards.json")) and (build / "report.html").exists()
    assert {p.name for p in (build / "plots").iterdir()} >= {"languages.png", "funnel.png"}
    stats = json.loads((build / "stats.json").read_text())
    assert stats["kept"] == len(texts) and stats["duplicates"] == {"exact": 1}
    docs = read_kind(build, "docs")
    assert sorted(docs.column("lang").to_pylist()) == sorted(texts)
    assert {s.rsplit("@", 1)[0] for s in docs.column("source").to_pylist()} == {"fakefs://in/pages.warc.gz"}
    staging = list((root / "bucket" / "v1.cache" / "staging").iterdir())  # cache beside the output
    assert len(staging) == 1 and [i["staging"] for i in manifest["inputs"]] == [staging[0].name]

    # report rewritten from the store
    (build / "report.html").unlink()
    assert "report.html" in run(store, "report", "fakefs://bucket/v1").stdout
    assert "<img" in (build / "report.html").read_text()

    # --previous read from the store (everything is already in v1), staging read back from v1's cache
    run(store, "build", "fakefs://in/*.warc.gz", "--out", "fakefs://bucket/v2", "--config", no_bitext,
        "--previous", "fakefs://bucket/v1", "--cache", "fakefs://bucket/v1.cache", "--quiet")
    v2 = root / "bucket" / "v2"
    assert [i["reused_staging"] for i in json.loads((v2 / "manifest.json").read_text())["inputs"]] == [True]
    dups = read_kind(v2, "dups").to_pylist()
    assert len(dups) == len(texts) + 1 and {d["kind"] for d in dups} == {"exact_previous"}  # the copy too
    assert {d["duplicate_of"] for d in dups} == set(docs.column("id").to_pylist())
    assert json.loads((v2 / "stats.json").read_text())["kept"] == 0


def test_existing_output_on_an_object_store(store, no_bitext):
    root = store[0]
    stale = root / "bucket" / "out" / "docs" / "lang=xx" / "part-00000-of-00001.parquet"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left by an older build")
    refused = run(store, "build", "fakefs://in/*.warc.gz", "--out", "fakefs://bucket/out", "--config", no_bitext,
                  check=False)
    assert refused.returncode == 1 and "not empty; pass --overwrite" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and stale.exists()

    run(store, "build", "fakefs://in/*.warc.gz", "--out", "fakefs://bucket/out", "--config", no_bitext,
        "--overwrite", "--quiet")
    out = root / "bucket" / "out"
    assert not stale.exists()  # written in place: the old files are gone, not mixed in
    listed = {s["path"] for s in json.loads((out / "manifest.json").read_text())["shards"]}
    on_disk = {str(p.relative_to(out)) for p in out.glob("**/*.parquet")}
    assert on_disk == listed
    pq.read_table(out / sorted(listed)[0])

    complete = run(store, "build", "fakefs://in/*.warc.gz", "--out", "fakefs://bucket/out", "--config", no_bitext,
                   check=False)
    assert complete.returncode == 1 and "already holds a complete build" in complete.stderr


def test_unknown_plugin_or_scheme_is_a_one_line_error(tmp_path):
    result = polycorp("report", tmp_path, "--beam_plugins", "no_such_package.Storage", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("polycorp report: error: --beam_plugins no_such_package.Storage")
    assert len(result.stderr.strip().splitlines()) == 1
    for args in (("report", "nosuch://bucket/corpus"), ("build", "nosuch://bucket/in.warc.gz", "--out", tmp_path / "o"),
                 ("train", "--data", "nosuch://bucket/corpus", "--out", tmp_path / "run")):
        result = polycorp(*args, check=False)
        assert result.returncode == 1 and "no file system for nosuch://bucket/" in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_input_folders_relative_local_or_remote_with_a_slash(store, monkeypatch):
    """A crawl's output named as a relative local folder, or as a remote prefix ending in "/":
    its warc/*.warc.gz, not the other files beside them (crawl_log.parquet)."""
    from pipelines.build import resolve_inputs
    from tests import fakefs  # registers fakefs://

    root = store[0]
    for base in (root / "local" / "crawl", root / "bucket" / "crawl"):
        (base / "warc").mkdir(parents=True)
        (base / "warc" / "a.warc.gz").write_bytes(b"")
        (base / "crawl_log.parquet").write_bytes(b"")
    monkeypatch.chdir(root / "local")
    assert resolve_inputs(["crawl"]) == [str(root / "local" / "crawl" / "warc" / "a.warc.gz")]
    monkeypatch.setenv("POLYCORP_FAKEFS_ROOT", str(root))
    assert resolve_inputs(["fakefs://bucket/crawl/"]) == [fakefs.PREFIX + "bucket/crawl/warc/a.warc.gz"]


def test_crawl_to_an_object_store_resume_and_build_from_it(store, no_bitext):
    from pipelines.sample_site import SampleSite

    root = store[0]
    args = ["--out", "fakefs://bucket/crawl", "--allow-private", "--delay", "0", "--max-depth", "2", "--same-host"]
    with SampleSite() as site:  # the default runner: worker processes import the plugin too
        run(store, "crawl", site.base + "/en/", *args, "--max-pages", "6", "--quiet")
        first = [p for p in site.paths() if p != "/robots.txt"]
        run(store, "crawl", site.base + "/en/", *args, "--max-pages", "12", "--resume", "--quiet",
            "--direct_running_mode=in_memory")
        both = [p for p in site.paths() if p != "/robots.txt"]
    assert len(first) == 6 and len(both) == 12 and len(set(both)) == 12  # resumed from parts in the store
    crawl = root / "bucket" / "crawl"
    log = pq.read_table(crawl / "crawl_log.parquet").to_pylist()
    assert sum(r["status"] is not None for r in log) == 12  # fetched, whatever the answer
    warcs = sorted((crawl / "warc").iterdir())
    assert warcs and not [w for w in warcs if w.name.startswith(".")]
    from warcio.archiveiterator import ArchiveIterator

    responses = 0
    for path in warcs:
        with open(path, "rb") as f:
            responses += sum(r.rec_type == "response" for r in ArchiveIterator(f))
    assert responses == 12

    run(store, "build", "fakefs://bucket/crawl", "--out", "fakefs://bucket/corpus", "--config", no_bitext, "--quiet")
    manifest = json.loads((root / "bucket" / "corpus" / "manifest.json").read_text())
    assert sorted(i["path"] for i in manifest["inputs"]) == [f"fakefs://bucket/crawl/warc/{w.name}" for w in warcs]
    assert manifest["stats"]["input_records"] == 12
