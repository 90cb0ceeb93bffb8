from datetime import datetime, timezone

from warcio.archiveiterator import ArchiveIterator

from tests.helpers import html_page
from transforms.fetch import FetchResult
from transforms.warc_write import RollingWarcWriter


def result(url, text, truncated=None):
    body = html_page("t", text).encode()
    return FetchResult(url, 200, "OK", [("Content-Type", "text/html"), ("Content-Encoding", "gzip"),
                                        ("Content-Length", "12")],
                       body, datetime(2024, 1, 1, tzinfo=timezone.utc), "127.0.0.1", None, truncated,
                       "text/html", [("Host", "e.org"), ("User-Agent", "polycorp")])


def test_files_roll_at_the_size_limit_and_each_is_complete(tmp_path, texts):
    writer = RollingWarcWriter(str(tmp_path), "crawl-test", max_file_bytes=20_000, software="polycorp")
    names = [writer.write(result(f"https://e.org/{lang}/{i}", texts[lang]))
             for i in range(3) for lang in ("de", "fr", "ja")]
    files = writer.close()
    assert len(files) > 1 and sorted(set(names)) == files
    assert sorted(p.name for p in tmp_path.iterdir()) == files  # no temporary file left
    seen = []
    for name in files:
        with open(tmp_path / name, "rb") as f:
            records = list((r.rec_type, r.rec_headers.get_header("WARC-Target-URI"),
                            r.http_headers.get_header("Content-Length") if r.http_headers else None,
                            r.http_headers.get_header("X-Crawler-Content-Encoding") if r.http_headers else None)
                           for r in ArchiveIterator(f))
        assert records[0][0] == "warcinfo"
        for kind, url, length, encoding in records[1:]:
            if kind == "response":
                seen.append(url)
                assert encoding == "gzip" and int(length) > 12  # stored decoded, real length
    assert len(seen) == 9


def test_an_unclosed_file_has_no_final_name(tmp_path, texts):
    writer = RollingWarcWriter(str(tmp_path), "crawl-test", max_file_bytes=1 << 30, software="polycorp")
    writer.write(result("https://e.org/de", texts["de"], truncated="length"))
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".warc.gz")] == []
    writer.close()
    with open(tmp_path / "crawl-test-00000.warc.gz", "rb") as f:
        response = [r for r in ArchiveIterator(f) if r.rec_type == "response"][0]
        assert response.rec_headers.get_header("WARC-Truncated") == "length"
