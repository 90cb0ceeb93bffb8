"""`polycorp build NEW --previous OLD`: a re-crawl adds only what the earlier build lacks."""

from __future__ import annotations

import argparse
import json

from warcio.archiveiterator import ArchiveIterator

from tests.helpers import WarcBuilder, html_page, polycorp, read_kind

PAGES = ("https://manpages.example.org/en/man1/cat.1.html", "https://manpages.example.org/en/man1/chmod.1.html")


def sample_payloads(sample_warc) -> dict[str, bytes]:
    out = {}
    with open(sample_warc, "rb") as f:
        for record in ArchiveIterator(f):
            url = record.rec_headers.get_header("WARC-Target-URI")
            if record.rec_type == "response" and url in PAGES:
                out[url] = record.content_stream().read()
    return out


def test_previous_build_removes_what_it_already_holds(tmp_path, sample_build, sample_warc):
    cat, chmod = (sample_payloads(sample_warc)[u] for u in PAGES)
    assert b" the " in chmod
    warc = tmp_path / "recrawl.warc.gz"
    builder = WarcBuilder(warc)
    builder.response("https://mirror.example.net/cat.html", cat, date="2025-02-01T00:00:00Z")  # same page
    builder.response("https://mirror.example.net/chmod.html", chmod.replace(b" the ", b" one ", 1),
                     date="2025-02-01T00:00:00Z")  # one word edited
    new_text = argparse.__doc__.strip()  # real text the sample does not hold (Python's argparse)
    builder.response("https://mirror.example.net/argparse.html",
                     html_page("argparse", new_text.replace("\n\n", "\n"), "en").encode(),
                     date="2025-02-01T00:00:00Z")
    builder.close()

    out = tmp_path / "v2"
    polycorp("build", warc, "--out", out, "--previous", sample_build)
    old_docs = {d["url"]: d["id"] for d in read_kind(sample_build, "docs").to_pylist()}
    dups = {d["url"]: d for d in read_kind(out, "dups").to_pylist()}
    assert dups["https://mirror.example.net/cat.html"]["kind"] == "exact_previous"
    assert dups["https://mirror.example.net/cat.html"]["duplicate_of"] == old_docs[PAGES[0]]
    near = dups["https://mirror.example.net/chmod.html"]
    assert near["kind"] == "near_previous" and near["duplicate_of"] == old_docs[PAGES[1]]
    assert near["similarity"] > 0.9  # estimated: one word in ~1,000 shingles may not show in 112 values
    assert [d["url"] for d in read_kind(out, "docs").to_pylist()] == ["https://mirror.example.net/argparse.html"]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["duplicates"] == {"exact_previous": 1, "near_previous": 1} and stats["kept"] == 1
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["previous"]["path"] == str(sample_build) and manifest["previous"]["docs"] == len(old_docs)


def test_previous_must_be_a_finished_build(tmp_path, sample_warc):
    (tmp_path / "half").mkdir()
    result = polycorp("build", sample_warc, "--out", tmp_path / "v2", "--previous", tmp_path / "half", check=False)
    assert result.returncode != 0
    assert "not a finished build" in result.stderr and len(result.stderr.strip().splitlines()) == 1
