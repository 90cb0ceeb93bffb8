import os
from dataclasses import replace
from datetime import datetime, timezone

import numpy as np

import apache_beam as beam
import pyarrow.parquet as pq

from tests.helpers import WarcBuilder, html_page, local_pipeline
from transforms.normalise import normalise_doc
from transforms.read import Skipped
from transforms.records import Doc, Filtered, Reject
from transforms.staging import (
    STATUS_CANDIDATE, WriteStaging, input_fingerprint, read_staging, staging_table, write_staging,
)

DATE = datetime(2024, 1, 15, tzinfo=timezone.utc)


def results(texts):
    doc = normalise_doc(Doc("b" * 32, "https://e.org/de", "e.org", DATE, "in@10", "Titel", texts["de"],
                            "de", 0.98, "Latn", encoding="utf-8/utf8-valid"))
    return [
        doc,
        Filtered("c" * 32, "https://e.org/x.png", None, "not_html", None, "in@20", "image/png"),
        Reject("in@30", "read", "truncated_record", "payload has 3 of 9 declared bytes", "https://e.org/t"),
        Skipped("in@0", "warcinfo"),
    ]


def test_staging_round_trip_keeps_every_record(tmp_path, texts):
    path = str(tmp_path / "s.parquet")
    write_staging(path, staging_table("in.warc.gz", results(texts)))
    staged = read_staging(path)
    original = results(texts)
    assert staged.input_path == "in.warc.gz"
    assert staged.input_records == 3  # the skipped warcinfo is not a document
    # lang_score is stored as float32
    assert staged.docs == [replace(original[0], lang_score=float(np.float32(original[0].lang_score)))]
    assert staged.filtered == [original[1]]
    assert staged.rejected == [original[2]]
    assert staged.skipped == [original[3]]
    assert not [f for f in os.listdir(tmp_path) if ".tmp-" in f]


def test_staging_bytes_do_not_depend_on_record_order(tmp_path, texts):
    a, b = str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")
    write_staging(a, staging_table("in", results(texts)))
    write_staging(b, staging_table("in", list(reversed(results(texts)))))
    assert open(a, "rb").read() == open(b, "rb").read()
    assert pq.read_table(a).column("status").to_pylist()[0] == STATUS_CANDIDATE


def test_fingerprint_follows_content_not_name(tmp_path, texts):
    w = WarcBuilder(tmp_path / "one.warc.gz")
    w.response("https://e.org/", html_page("t", texts["de"]).encode())
    w.close()
    copy = tmp_path / "copy.warc.gz"
    copy.write_bytes((tmp_path / "one.warc.gz").read_bytes())
    assert input_fingerprint(str(copy)) == input_fingerprint(str(tmp_path / "one.warc.gz"))
    copy.write_bytes(copy.read_bytes() + b"\n")
    assert input_fingerprint(str(copy)) != input_fingerprint(str(tmp_path / "one.warc.gz"))


def test_write_staging_dofn_writes_one_file_per_input_even_without_records(tmp_path, texts):
    full, empty = str(tmp_path / "full.parquet"), str(tmp_path / "empty.parquet")
    elements = [(full, r) for r in results(texts)] + [(full, None), (empty, None)]
    with local_pipeline() as p:
        _ = (p | beam.Create(elements) | beam.GroupByKey()
             | beam.ParDo(WriteStaging({full: "full.warc", empty: "empty.warc"})))
    assert read_staging(full).input_records == 3
    assert read_staging(empty).input_records == 0 and read_staging(empty).input_path == "empty.warc"
