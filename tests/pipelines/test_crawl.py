"""The crawler against a real HTTP server on 127.0.0.1 (tests/crawl_site.py)."""

from __future__ import annotations

import json
from collections import Counter

import pyarrow.parquet as pq
import pytest
from warcio.archiveiterator import ArchiveIterator

from pipelines.crawl import run_crawl
from tests.crawl_site import Site
from tests.helpers import polycorp, read_kind
from transforms.crawl import CrawlConfig
from transforms.fetch import FetchConfig


IN_PROCESS = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]


@pytest.fixture(scope="module")
def crawl(tmp_path_factory, texts):
    """One crawl of the trouble site, shared by the tests that read its log and WARC."""
    out = tmp_path_factory.mktemp("crawl") / "out"
    other = Site(texts, host="127.0.0.2")
    with Site(texts, other_host=other.base) as site, other:
        config = CrawlConfig(
            fetch=FetchConfig(read_timeout=1.0, max_bytes=200_000, max_retries=1, backoff_base=0.1,
                              allowed_addresses=("127.0.0.1",)),
            delay=0.05, max_depth=2, exclude=(r"/excluded/",))
        # one process: the host's rounds share its robots.txt and its delay (HostState per worker)
        summary = run_crawl([site.base + "/"], str(out), config, IN_PROCESS)
        requests = list(site.requests)
        other_requests = list(other.requests)
    log = {row["url"]: row for row in pq.read_table(out / "crawl_log.parquet").to_pylist()}
    return site.base, out, summary, log, requests, other_requests


def test_robots_txt_is_obeyed_and_crawl_delay_spaces_requests(crawl):
    base, _, _, log, requests, _ = crawl
    secret = log[f"{base}/private/secret"]
    assert secret["robots_allowed"] is False and secret["status"] is None
    assert "/private/secret" not in [path for path, _ in requests]
    # robots.txt is asked once for the whole crawl (kept between rounds); Crawl-delay 0.3 beats
    # --delay 0.05 and spaces every request after it, also from one round to the next
    assert [path for path, _ in requests].count("/robots.txt") == 1
    assert len({row["depth"] for row in log.values() if row["status"]}) >= 2  # several rounds
    times = sorted(t for _, t in requests)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.25, gaps


def test_each_page_is_fetched_once_whatever_its_spelling(crawl):
    base, _, _, log, requests, _ = crawl
    paths = Counter(path for path, _ in requests)
    for lang in ("de", "fr", "ru", "ja"):
        assert paths[f"/page/{lang}"] == 1
        assert log[f"{base}/page/{lang}"]["status"] == 200
    assert not [u for u in log if "utm_" in u or "#" in u or "/./" in u]


def test_redirects_loops_and_private_targets(crawl):
    base, _, _, log, requests, _ = crawl
    assert log[f"{base}/redirect"]["redirect_to"] == f"{base}/page/fr"
    assert log[f"{base}/loop1"]["redirect_to"] == f"{base}/loop2"
    assert log[f"{base}/loop2"]["redirect_to"] == f"{base}/loop1"
    assert Counter(p for p, _ in requests)["/loop1"] == 1  # the loop ends: seen URLs are not refetched
    refused = log["http://127.0.0.2:9/admin"]
    assert refused["status"] is None and "private address refused" in refused["error"]


def test_errors_retries_and_limits(crawl):
    base, _, _, log, requests, _ = crawl
    paths = Counter(p for p, _ in requests)
    assert log[f"{base}/missing"]["status"] == 404 and paths["/missing"] == 1
    assert log[f"{base}/error500"]["status"] == 500 and paths["/error500"] == 2  # one retry
    assert log[f"{base}/flaky429"]["status"] == 200 and paths["/flaky429"] == 2  # after Retry-After
    assert log[f"{base}/flaky429"]["attempts"] == 2
    slow = log[f"{base}/slow"]
    assert slow["status"] is None and "timed out" in slow["error"].lower()
    for cut in ("endless", "bomb"):
        row = log[f"{base}/{cut}"]
        assert row["bytes"] == 200_000 and "truncated" in row["error"]
    image = log[f"{base}/image.png"]
    assert image["content_type"] == "image/png" and "not crawled" in image["error"]


def test_out_of_scope_and_private_hosts_are_logged_not_fetched(crawl):
    base, _, _, log, requests, other_requests = crawl
    assert log[f"{base}/excluded/page"]["error"].startswith("out_of_scope: matches --exclude")
    assert "/excluded/page" not in [p for p, _ in requests]
    elsewhere = [u for u in log if u.startswith("http://127.0.0.2:") and u.endswith("/elsewhere")]
    assert len(elsewhere) == 1 and "private address refused" in log[elsewhere[0]]["error"]
    assert other_requests == []  # 127.0.0.2 is not among the allowed addresses: never contacted


def test_hreflang_alternates_are_recorded(crawl):
    base, _, _, log, _, _ = crawl
    alternates = {(a["hreflang"], a["url"]) for a in log[f"{base}/page/de"]["alternates"]}
    assert {("fr", f"{base}/page/fr"), ("ja", f"{base}/page/ja"), ("ru", f"{base}/page/ru")} <= alternates


def test_warc_reads_back_with_warcio_and_builds(crawl, tmp_path):
    base, out, summary, log, _, _ = crawl
    responses, requests = {}, 0
    for name in summary["warc_files"]:
        with open(out / "warc" / name, "rb") as f:
            types = []
            for record in ArchiveIterator(f):
                types.append(record.rec_type)
                if record.rec_type == "response":
                    body = record.content_stream().read()
                    responses[record.rec_headers.get_header("WARC-Target-URI")] = (record, body)
                elif record.rec_type == "request":
                    requests += 1
            assert types[0] == "warcinfo"
    assert requests == len(responses)
    fetched = {u for u, row in log.items() if row["warc_file"]}
    assert fetched == set(responses)
    record, body = responses[f"{base}/page/de"]
    assert record.rec_headers.get_header("WARC-Payload-Digest").startswith("sha1:")
    assert record.http_headers.get_statuscode() == "200"
    bomb_record, bomb_body = responses[f"{base}/bomb"]
    assert bomb_record.rec_headers.get_header("WARC-Truncated") == "length" and len(bomb_body) == 200_000
    assert bomb_record.http_headers.get_header("X-Crawler-Content-Encoding") == "gzip"

    built = tmp_path / "corpus"
    polycorp("build", out, "--out", built)
    docs = {d["url"]: d for d in read_kind(built, "docs").to_pylist()}
    for lang in ("de", "ru", "ja"):
        assert docs[f"{base}/page/{lang}"]["lang"] == lang
    # /flaky429 serves /page/fr's text under another title, and was fetched first: /page/fr is its
    # near duplicate
    assert docs[f"{base}/flaky429"]["lang"] == "fr" and f"{base}/page/fr" not in docs
    dups = {d["url"]: d for d in read_kind(built, "dups").to_pylist()}
    assert dups[f"{base}/page/fr"]["duplicate_of_url"] == f"{base}/flaky429"
    assert dups[f"{base}/page/fr"]["kind"] == "near" and dups[f"{base}/page/fr"]["similarity"] > 0.9
    # the cp1251 page served as utf-8 is decoded right (its meta charset): it is /page/ru's text
    assert dups[f"{base}/wrong-charset"]["duplicate_of_url"] == f"{base}/page/ru"
    assert dups[f"{base}/wrong-charset"]["similarity"] > 0.9
    filtered = {r["url"]: r["reason"] for r in read_kind(built, "filtered").to_pylist()}
    assert filtered[f"{base}/binary.html"] == "binary_content"
    assert filtered[f"{base}/missing"] == "http_status"
    stats = json.loads((built / "stats.json").read_text())
    assert stats["input_records"] == len(responses)


def test_crawl_cli_refuses_loopback_without_the_flag(tmp_path, texts):
    with Site(texts) as site:
        result = polycorp("crawl", site.base + "/", "--out", tmp_path / "c", "--delay", "0", "--max-depth", "0")
        assert site.requests == []
    log = pq.read_table(tmp_path / "c" / "crawl_log.parquet").to_pylist()
    assert len(log) == 1 and "private address refused" in log[0]["error"]
    assert "1 URLs tried, 0 fetched" in result.stdout


def test_crawl_cli_same_host_and_page_limit(tmp_path, texts):
    other = Site(texts, host="127.0.0.2")
    with Site(texts, other_host=other.base) as site, other:
        polycorp("crawl", site.base + "/page/de", "--out", tmp_path / "c", "--allow-private",
                 "--delay", "0", "--max-depth", "3", "--max-pages", "3", "--same-host")
        fetched_pages = [p for p, _ in site.requests if p != "/robots.txt"]
        assert other.requests == []
    assert len(fetched_pages) == 3
    log = pq.read_table(tmp_path / "c" / "crawl_log.parquet").to_pylist()
    limited = [r for r in log if r["error"] and "page limit" in r["error"]]
    assert limited and all(r["status"] is None for r in limited)
    assert [r["error"] for r in log if r["url"].endswith("/elsewhere")] == ["out_of_scope: other host"]


def test_interrupted_crawl_resumes_without_refetching(tmp_path):
    import glob
    import signal
    import subprocess
    import sys
    import time

    from pipelines.sample_site import SampleSite

    out = tmp_path / "c"
    args = ["--out", str(out), "--allow-private", "--delay", "0.01", "--max-depth", "2", "--same-host",
            "--direct_running_mode=in_memory", "--direct_num_workers=1"]
    with SampleSite() as site:
        seed = site.base + "/en/"
        proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "crawl", seed, *args],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not glob.glob(str(out / "parts" / "*.parquet")) and time.monotonic() < deadline:
            assert proc.poll() is None, "crawl ended before finishing a host"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert not (out / "crawl_log.parquet").exists()
        first_run = [p for p in site.paths() if p != "/robots.txt"]
        finished = pq.read_table(glob.glob(str(out / "parts" / "*.parquet"))[0]).column("url").to_pylist()

        again = polycorp("crawl", seed, *args, check=False)
        assert again.returncode != 0 and "--resume" in again.stderr  # no silent overwrite
        polycorp("crawl", seed, *args, "--resume")
        all_paths = [p for p in site.paths() if p != "/robots.txt"]

    counts = Counter(all_paths)
    for url in finished:  # what a finished host-round fetched is never fetched again
        assert counts[url.replace(site.base, "")] == 1
    log = pq.read_table(out / "crawl_log.parquet").to_pylist()
    urls = [r["url"] for r in log]
    assert len(urls) == len(set(urls))
    assert len(all_paths) > len(first_run)
    ok = [r for r in log if r["status"] == 200]
    assert len(ok) > 20
    # every WARC file with a final name is complete (read to the end by warcio)
    for path in glob.glob(str(out / "warc" / "*.warc.gz")):
        with open(path, "rb") as f:
            assert sum(1 for _ in ArchiveIterator(f)) >= 1
