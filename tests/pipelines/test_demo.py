"""`polycorp demo`: serve the sample on 127.0.0.1, crawl it, build the crawl, train and evaluate."""

import json
import socket
from urllib.parse import urlsplit

import pyarrow.dataset as ds

from pipelines.sample_site import DEMO_PORT, LocalServer, QuietHandler
from tests.helpers import polycorp


def test_demo_crawls_the_sample_site_and_builds_the_same_documents(tmp_path, sample_build):
    result = polycorp("demo", "--out", tmp_path / "demo", "--train-steps", "12", timeout=600)
    assert "crawled" in result.stdout and "built" in result.stdout
    crawled = json.loads((tmp_path / "demo" / "corpus" / "stats.json").read_text())
    direct = json.loads((sample_build / "stats.json").read_text())
    # every page of the sample is reached by following links, and builds to the same documents
    kept = {lang: row["kept"] for lang, row in crawled["per_language"].items() if row["kept"]}
    assert kept == {lang: row["kept"] for lang, row in direct["per_language"].items() if row["kept"]}
    assert crawled["duplicates"] == direct["duplicates"]
    assert (tmp_path / "demo" / "corpus" / "manifest.json").exists()
    # served at the demo's own port (so URLs, and the held-out documents, repeat from run to run)
    # unless something else held it, which the demo says
    urls = ds.dataset(tmp_path / "demo" / "corpus" / "docs", format="parquet").to_table(columns=["url"]).column("url")
    ports = {urlsplit(u).port for u in urls.to_pylist()}
    assert ports == {DEMO_PORT} or (len(ports) == 1 and f"port {DEMO_PORT} is taken" in result.stderr), ports
    # … then trains a tiny model and evaluates it on held-out documents and pairs
    evaluation = json.loads((tmp_path / "demo" / "run" / "eval.json").read_text())
    assert evaluation["step"] == 12 and set(evaluation["bits_per_byte"]) <= set(kept)
    assert len(evaluation["bits_per_byte"]) >= 6 and all(0 < v < 10 for v in evaluation["bits_per_byte"].values())
    assert "bits_per_byte" in result.stdout and (tmp_path / "demo" / "run" / "plots" / "loss.png").exists()


def test_a_preferred_port_is_used_when_free_and_given_up_when_taken():
    with socket.socket() as probe:  # a port free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with LocalServer(QuietHandler, prefer_port=port) as first:
        assert first.base == f"http://127.0.0.1:{port}"
        with LocalServer(QuietHandler, prefer_port=port) as second:
            assert second.base.startswith("http://127.0.0.1:") and second.base != first.base
