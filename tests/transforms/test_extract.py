import os
from datetime import datetime, timezone

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from tests.helpers import html_page, local_pipeline
from transforms.extract import ExtractText, decode_payload, extract_document, html_to_text, looks_binary
from transforms.records import Doc, Filtered, RawRecord

DATE = datetime(2024, 1, 15, tzinfo=timezone.utc)


def record(payload: bytes, content_type="text/html", charset=None, warc_type="response", url="https://example.org/p"):
    return RawRecord(f"in.warc.gz@{len(payload)}", "<urn:uuid:1>", url, DATE, warc_type, 200,
                     content_type, charset, payload)


def test_utf8_page_decodes_as_utf8(texts):
    text, how = decode_payload(texts["ja"].encode("utf-8"), None)
    assert text == texts["ja"] and how == "utf-8/utf8-valid"


def test_header_charset_is_used_for_legacy_encodings(texts):
    payload = texts["ru"].encode("koi8-r", "replace")
    text, how = decode_payload(payload, "KOI8-R")
    assert how == "koi8-r/header"
    assert text.split()[:5] == texts["ru"].split()[:5]


def test_meta_charset_is_used_when_the_header_has_none(texts):
    page = html_page("Страница", texts["ru"], "ru", charset="windows-1251")
    text, how = decode_payload(page.encode("cp1251", "replace"), None)
    assert how == "cp1251/meta"
    assert texts["ru"].split()[0] in text


def test_wrong_declared_charset_falls_through_to_meta_or_detection(texts):
    # The header claims Shift_JIS, the bytes are windows-1251: strict decoding with the declared
    # charset fails, and the meta declaration (or detection) gives the right text.
    page = html_page("Страница", texts["ru"], "ru", charset="windows-1251")
    text, how = decode_payload(page.encode("cp1251", "replace"), "shift_jis")
    assert how.startswith("cp1251/")
    assert texts["ru"].split()[3] in text
    # No meta at all: detection finds it.
    bare = texts["ru"].encode("cp1251", "replace")
    text, how = decode_payload(bare, "utf-8")
    assert how == "cp1251/detected"
    assert text.split()[:4] == texts["ru"].split()[:4]


def test_invalid_utf8_never_raises(texts):
    payload = texts["de"].encode() + b"\xff\xfe\xc3(" + texts["fr"].encode()
    text, how = decode_payload(payload, "utf-8")
    assert texts["fr"][:40] in text or "\ufffd" in text
    assert isinstance(text, str) and how


def test_looks_binary():
    assert looks_binary(b"\x89PNG\r\n\x1a\n" + bytes(100), 0.01)
    assert looks_binary(os.urandom(4096), 0.01)
    assert not looks_binary(html_page("t", "Ein ganz normaler Text.").encode(), 0.01)
    assert not looks_binary(b"", 0.01)


def test_html_to_text_keeps_title_and_main_text_drops_navigation(texts):
    title, text = html_to_text(html_page("ls(1)", texts["de"], "de"), main_content=True)
    assert title == "ls(1)"
    first = texts["de"].split("\n")[0]
    assert first[:30] in text
    assert "About" not in text  # the nav bar


def test_extract_document_outcomes(texts, config):
    cfg = config.extract
    page = html_page("Titre", texts["fr"], "fr").encode()
    doc = extract_document(record(page, charset="utf-8"), cfg)
    assert isinstance(doc, Doc) and doc.title == "Titre" and doc.host == "example.org"
    assert doc.encoding == "utf-8/utf8-valid"
    assert texts["fr"].split("\n")[0][:30] in doc.text

    image = extract_document(record(b"\x89PNG\r\n\x1a\n" + bytes(10), content_type="image/png"), cfg)
    assert isinstance(image, Filtered) and (image.reason, image.detail) == ("not_html", "image/png")
    binary = extract_document(record(os.urandom(5000)), cfg)
    assert isinstance(binary, Filtered) and binary.reason == "binary_content"
    empty = extract_document(record(b"  \n "), cfg)
    assert isinstance(empty, Filtered) and empty.reason == "empty_payload"
    wet = extract_document(record(texts["ja"].encode(), content_type="text/plain", warc_type="conversion"), cfg)
    assert isinstance(wet, Doc) and wet.text == texts["ja"] and wet.title is None


def test_extract_text_dofn_routes_outputs(texts, config):
    good = record(html_page("t", texts["de"]).encode(), url="https://example.org/good")
    image = record(b"GIF89a" + bytes(20), content_type="image/gif", url="https://example.org/img")
    with local_pipeline() as p:
        results = (
            p | beam.Create([("k", good), ("k", image)])
            | beam.ParDo(ExtractText(config.extract)).with_outputs("filtered", "rejected", main="docs")
        )
        assert_that(results.docs | "DocUrl" >> beam.MapTuple(lambda k, d: d.url),
                    equal_to(["https://example.org/good"]), label="docs")
        assert_that(results.filtered | "Reason" >> beam.MapTuple(lambda k, f: f.reason),
                    equal_to(["not_html"]), label="filtered")
        assert_that(results.rejected, equal_to([]), label="rejected")
