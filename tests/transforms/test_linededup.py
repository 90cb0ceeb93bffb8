"""Repeated lines: the sample's translation colophons are the real boilerplate here."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import apache_beam as beam
from apache_beam.testing.util import assert_that

from tests.helpers import local_pipeline
from transforms.linededup import RepeatedLines, doc_line_hashes, line_hash, remove_lines
from transforms.records import Doc

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


COLOPHON = ("Diese Übersetzung ist Freie Dokumentation", "Wenn Sie Fehler in der Übersetzung")


def colophon(text: str) -> list[str]:
    """The lines German translated pages share (licence of the translation, where to send bugs)."""
    return [line for line in text.split("\n") if line.startswith(COLOPHON)]


def german_pages(gold, n):
    pages = sorted({p["text"] for p in gold if p["lang"] == "de" and not p.get("duplicate_of")}, key=len)
    return [p for p in pages if len(p) > 2500 and len(colophon(p)) == 2][:n]


def doc(n: int, text: str) -> Doc:
    return Doc(f"{n:032x}", f"https://e{n}.example/de/page", f"e{n}.example", T0 + timedelta(days=n),
               f"in.warc@{n}", None, text, "de", 0.99, "Latn", len(text))


def test_line_hashes_ignore_case_punctuation_and_short_lines():
    assert line_hash("NAME", 40) is None
    long = "Diese Übersetzung ist Freie Dokumentation; lesen Sie die GNU General Public License."
    assert line_hash(long, 40) == line_hash(long.upper().replace(";", ","), 40)
    assert doc_line_hashes(f"{long}\nkurz\n{long}", 40) == [line_hash(long, 40)]
    trimmed, n = remove_lines(doc(1, f"Kopf\n{long}\nRest des Textes"), {line_hash(long, 40)}, 40)
    assert (trimmed.text, trimmed.n_chars, n) == ("Kopf\nRest des Textes", 20, 1)


def test_repeated_lines_stay_in_the_preferred_document_only(gold, config):
    pages = german_pages(gold, 5)
    shared = colophon(pages[0])
    assert len(shared) >= 2 and all(line in page for page in pages for line in shared)
    docs = [doc(i, page) for i, page in enumerate(pages)]
    # a page that is little more than the colophon: too short once it is gone
    stub = "Kurzer Hinweis.\n" + "\n".join(shared)
    docs.append(doc(9, stub))
    removed = [docs[0].id]  # removed by dedup: it neither keeps the lines nor counts
    strict = replace(config, repeated_lines=replace(config.repeated_lines, min_docs=3))

    with local_pipeline() as p:
        out = (p | "Docs" >> beam.Create(docs), p | "Removed" >> beam.Create(removed)) | RepeatedLines(strict)

        def check_docs(got):
            got = {d.id: d for d in got}
            assert docs[0].id not in got and docs[5].id not in got  # removed by dedup; the stub
            assert set(got) == {d.id for d in docs[1:5]}
            # docs[1] is the earliest surviving document: it keeps the colophon
            assert all(line in got[docs[1].id].text for line in shared)
            for d in docs[2:5]:
                assert not any(line in got[d.id].text for line in shared)
                assert got[d.id].n_chars == len(got[d.id].text) < d.n_chars

        def check_filtered(got):
            assert [(f.id, f.reason) for f in got] == [(docs[5].id, "repeated_lines")]
            assert "chars < 200" in got[0].detail

        assert_that(out.docs, check_docs, label="docs")
        assert_that(out.filtered, check_filtered, label="filtered")


def test_lines_below_the_document_count_are_kept(gold, config):
    pages = german_pages(gold, 3)
    docs = [doc(i, page) for i, page in enumerate(pages)]  # the colophon is in 3 documents
    lenient = replace(config, repeated_lines=replace(config.repeated_lines, min_docs=4))
    with local_pipeline() as p:
        out = (p | "Docs" >> beam.Create(docs), p | "Removed" >> beam.Create([])) | RepeatedLines(lenient)
        assert_that(out.docs | beam.Map(lambda d: (d.id, d.text)),
                    lambda got: _same(sorted(got), sorted((d.id, d.text) for d in docs)))


def _same(got, want):
    assert got == want


def test_vectorised_line_hashes_agree_with_the_reference_simplification(gold):
    from transforms.minhash import line_hashes, simplify

    by_form: dict[str, int] = {}
    for page in gold[:80]:
        lines = page["text"].split("\n")
        hashes, lengths = line_hashes(page["text"])
        assert len(hashes) == len(lines)
        for line, h, n in zip(lines, hashes.tolist(), lengths.tolist()):
            form = simplify(line)
            assert n == len(form), (line, form)
            if form:
                assert by_form.setdefault(form, h) == h, form  # same form, same hash, any page
    assert len(set(by_form.values())) == len(by_form)  # different forms, different hashes
