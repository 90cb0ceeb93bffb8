import gzip

import pytest

from tests.helpers import html_page
from transforms.config import ReadConfig
from transforms.read import (
    Skipped,
    decode_transfer,
    parse_http_response,
    read_warc,
    sniff_warc,
    split_media_type,
)
from transforms.records import Filtered, RawRecord, Reject


def read_all(path, config):
    return list(read_warc(str(path), config.read))


def test_sniff_warc():
    assert sniff_warc(b"WARC/1.1\r\nWARC-Type: warcinfo") is None
    assert sniff_warc(gzip.compress(b"WARC/1.0\r\nWARC-Type: response")) is None
    assert "not a WARC" in sniff_warc(b"<html><body>hello")
    assert "does not hold a WARC" in sniff_warc(gzip.compress(b"just some text"))
    assert sniff_warc(b"") == "file is empty"


def test_split_media_type():
    assert split_media_type('text/HTML; Charset="KOI8-R"') == ("text/html", "KOI8-R")
    assert split_media_type("text/html") == ("text/html", None)
    assert split_media_type(None) == (None, None)


def test_parse_http_response_and_bad_status_line():
    r = parse_http_response(b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n<p>gone</p>")
    assert (r.status, r.headers["content-type"], r.body) == (404, "text/html", b"<p>gone</p>")
    with pytest.raises(ValueError):
        parse_http_response(b"SMTP nonsense\r\n\r\nbody")
    with pytest.raises(ValueError):
        parse_http_response(b"HTTP/1.1 200 OK\r\nContent-Type: text/html")  # headers never end


def test_gzip_content_encoding_is_decoded_and_bombs_are_refused(texts):
    body = html_page("t", texts["de"]).encode()
    response = parse_http_response(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n" + gzip.compress(body))
    assert decode_transfer(response, 10_000_000) == body
    bomb = parse_http_response(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n" + gzip.compress(b"a" * 5_000_000))
    with pytest.raises(ValueError, match="decompression bomb"):
        decode_transfer(bomb, 1_000_000)
    chunked = parse_http_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    assert decode_transfer(chunked, 100) == b"hello world"


def test_every_record_type_has_an_outcome(warc_builder, config, texts):
    w = warc_builder()
    w.request("https://example.org/de")
    w.response("https://example.org/de", html_page("Seite", texts["de"], "de").encode())
    w.response("https://example.org/missing", b"<p>not found</p>", status="404 Not Found")
    w.response("https://example.org/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(200), content_type="image/png")
    w.conversion("https://example.org/fr", texts["fr"])
    results = read_all(w.close(), config)
    kinds = [type(r).__name__ for r in results]
    assert kinds == ["Skipped", "RawRecord", "Filtered", "RawRecord", "RawRecord"]
    page, missing, image, wet = results[1:]
    assert page.http_status == 200 and page.content_type == "text/html" and page.header_charset == "utf-8"
    assert page.payload.decode().startswith("<!DOCTYPE html>")
    assert page.fetched_at.isoformat() == "2024-01-15T10:00:00+00:00"
    assert (missing.reason, missing.detail) == ("http_status", "404")
    assert image.content_type == "image/png"  # the content-type decision is the extract stage's
    assert wet.warc_type == "conversion" and wet.payload.decode() == texts["fr"]
    # sources point at distinct record offsets
    assert len({r.source for r in results}) == len(results)


def test_truncated_gzip_keeps_complete_records_and_rejects_the_cut_one(warc_builder, config, texts):
    w = warc_builder()
    for i, lang in enumerate(["de", "fr", "ru", "ja"]):
        w.response(f"https://example.org/{i}", html_page(lang, texts[lang], lang).encode())
    path = w.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 300])  # cut inside the last record
    results = read_all(path, config)
    assert [type(r) for r in results[:3]] == [RawRecord] * 3
    assert len(results) == 4
    assert isinstance(results[3], Reject) and results[3].error == "truncated_record"


def test_malformed_header_is_rejected_and_reading_resumes(warc_builder, config, texts):
    w = warc_builder()
    w.response("https://example.org/a", html_page("a", texts["de"]).encode())
    w.raw(b"WARC/1.1\r\nthis line is not a header\r\nContent-Length: many\r\n\r\nxx\r\n\r\n")
    w.response("https://example.org/b", html_page("b", texts["fr"]).encode())
    results = read_all(w.close(), config)
    assert [type(r) for r in results] == [RawRecord, Reject, RawRecord]
    assert results[1].error == "malformed_record" and results[1].stage == "read"
    assert results[2].url == "https://example.org/b"


def test_malformed_header_in_uncompressed_warc(warc_builder, config, texts):
    w = warc_builder("plain.warc", gzip_records=False)
    w.response("https://example.org/a", html_page("a", texts["de"]).encode())
    w.raw(b"WARC/1.1\r\nWARC-Type: response\r\nContent-Length: 999999\r\n\r\nshort", gzip_member=False)
    results = read_all(w.close(), config)
    assert isinstance(results[0], RawRecord)
    assert isinstance(results[-1], Reject)
    assert len(results) == 2


def test_non_warc_file_is_one_reject(tmp_path, config, texts):
    path = tmp_path / "notes.txt"
    path.write_text(texts["en"])
    results = read_all(path, config)
    assert len(results) == 1 and results[0].error == "not_warc"


def test_huge_page_is_filtered_without_reading_it(warc_builder, config, texts):
    w = warc_builder()
    body = html_page("big", texts["en"] * (20_000_000 // len(texts["en"]) + 1)).encode()
    assert len(body) > 20_000_000
    w.response("https://example.org/big", body)
    w.response("https://example.org/small", html_page("s", texts["de"]).encode())
    results = read_all(w.close(), config)
    assert isinstance(results[0], Filtered) and results[0].reason == "payload_too_large"
    assert isinstance(results[1], RawRecord)


def test_skipped_records_are_not_documents(warc_builder, config):
    w = warc_builder()
    w.request("https://example.org/")
    results = read_all(w.close(), config)
    assert results == [Skipped(results[0].source, "request")]


def test_record_types_are_configurable(warc_builder, config, texts):
    w = warc_builder()
    w.conversion("https://example.org/fr", texts["fr"])
    only_responses = ReadConfig(config.read.max_payload_bytes, ("response",))
    assert [type(r) for r in read_warc(str(w.close()), only_responses)] == [Skipped]


def test_read_warc_dofn_routes_every_record(warc_builder, config, texts):
    import apache_beam as beam
    from apache_beam.testing.util import assert_that, equal_to

    from tests.helpers import local_pipeline
    from transforms.read import InputFile, ReadWarc

    w = warc_builder()
    w.request("https://example.org/a")
    w.response("https://example.org/a", html_page("a", texts["de"]).encode())
    w.response("https://example.org/b", b"<p>moved</p>", status="301 Moved Permanently")
    path = str(w.close())
    bad = path + ".txt"
    open(bad, "w").write(texts["en"][:500])
    inputs = [InputFile(path, "fp1", "/staging/1"), InputFile(bad, "fp2", "/staging/2")]
    with local_pipeline() as p:
        out = p | beam.Create(inputs) | beam.ParDo(ReadWarc(config.read)).with_outputs(
            "filtered", "rejected", "skipped", main="records")
        assert_that(out.records | "R" >> beam.MapTuple(lambda k, r: (k, r.url)),
                    equal_to([("/staging/1", "https://example.org/a")]), label="records")
        assert_that(out.filtered | "F" >> beam.MapTuple(lambda k, r: (k, r.reason)),
                    equal_to([("/staging/1", "http_status")]), label="filtered")
        assert_that(out.rejected | "X" >> beam.MapTuple(lambda k, r: (k, r.error)),
                    equal_to([("/staging/2", "not_warc")]), label="rejected")
        assert_that(out.skipped | "S" >> beam.MapTuple(lambda k, r: (k, r.warc_type)),
                    equal_to([("/staging/1", "request")]), label="skipped")
