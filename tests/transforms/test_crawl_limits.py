"""Page limits of a crawl round and the crawl log assembled from parts."""

from __future__ import annotations

from datetime import datetime, timezone

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.util import assert_that, equal_to

from pipelines.crawl import page_limits
from tests.helpers import local_pipeline
from transforms.crawl import (
    CrawlConfig, CrawlLogRow, FrontierEntry, RoundCutoff, admit_host, assemble_log, rank_key, write_part,
)
from transforms.urls import origin_of

HOSTS = ["https://a.example", "https://b.example", "https://c.example"]
CANDIDATES = [FrontierEntry(f"{host}/doc/{n}.html", depth=1 + n % 3, referrer=f"{host}/")
              for host in HOSTS for n in range(12)]


def expected_admitted(candidates, counts, config):
    """The limits as one sorted pass over everything (what the distributed version must equal)."""
    per_host = dict(counts)
    passed = []
    for entry in sorted(candidates, key=rank_key):
        host = origin_of(entry.url)
        if per_host.get(host, 0) < config.max_pages_per_host:
            per_host[host] = per_host.get(host, 0) + 1
            passed.append(entry)
    left = config.max_pages - sum(counts.values())
    return sorted(e.url for e in passed[:max(left, 0)])


@pytest.mark.parametrize("max_pages,per_host,counts,n_admitted", [
    (1000, 1000, {}, 36),  # no limit binds
    (20, 1000, {HOSTS[0]: 3}, 17),  # the total binds: 17 left
    (1000, 5, {HOSTS[1]: 2}, 13),  # the per-host limit binds: 5 + 3 + 5
    (14, 6, {HOSTS[2]: 6}, 8),  # both bind: c.example is full, 8 left of the 12 a and b may take
    (10, 1000, {HOSTS[0]: 10}, 0),  # nothing left at all
])
def test_page_limits_equal_one_global_sorted_pass(max_pages, per_host, counts, n_admitted):
    config = CrawlConfig(max_pages=max_pages, max_pages_per_host=per_host)
    want = expected_admitted(CANDIDATES, counts, config)
    assert len(want) == n_admitted
    with local_pipeline() as p:
        admitted, log = page_limits(p | "Candidates" >> beam.Create(CANDIDATES),
                                    p | "Counts" >> beam.Create(sorted(counts.items())), config, "T")
        assert_that(admitted | beam.Map(lambda e: e.url), equal_to(want), label="admitted")
        reasons = log | beam.Map(lambda row: (row.url, row.error.split(" (")[0], row.status))
        dropped = sorted({e.url for e in CANDIDATES} - set(want))
        assert_that(reasons | "Urls" >> beam.Map(lambda r: r[0]), equal_to(dropped), label="logged")
        assert_that(reasons | "Kinds" >> beam.Filter(
            lambda r: r[1] not in ("page limit reached", "host page limit reached") or r[2] is not None),
            equal_to([]), label="reasons")


def test_host_limit_takes_the_shallowest_then_the_url_hash():
    config = CrawlConfig(max_pages_per_host=4)
    entries = [e for e in CANDIDATES if e.url.startswith(HOSTS[0])]
    out = list(admit_host(list(reversed(entries)), 1, config))
    admitted = [e for e in out if isinstance(e, FrontierEntry)]
    assert [e.url for e in admitted] == [e.url for e in sorted(entries, key=rank_key)[:3]]
    assert all(e.depth == 1 for e in admitted)
    rows = [r for r in out if isinstance(r, CrawlLogRow)]
    assert len(rows) == 9 and all(r.error == "host page limit reached (4)" for r in rows)


def test_crawl_log_is_assembled_from_parts_sorted_and_without_links(tmp_path):
    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    fetched = [CrawlLogRow("https://b.example/", 200, t, "text/html", 10, 0, None, True,
                           links=("https://b.example/x",)),
               CrawlLogRow("https://a.example/", 404, t, "text/html", 3, 0, None, True)]
    unfetched = [CrawlLogRow("https://a.example/z", None, None, None, 0, 1, "out_of_scope: other host", None)]
    write_part(str(tmp_path / "parts" / "g00-r00-b.parquet"), fetched)
    write_part(str(tmp_path / "parts" / "unfetched" / "g00-r00-003.parquet"), unfetched)
    write_part(str(tmp_path / "parts" / ".g00-r01-c.parquet.tmp"), fetched)  # unfinished: ignored
    table = assemble_log(str(tmp_path / "parts"), str(tmp_path / "crawl_log.parquet"))
    on_disk = pq.read_table(tmp_path / "crawl_log.parquet")
    assert on_disk.equals(table)
    assert table.column("url").to_pylist() == ["https://a.example/", "https://a.example/z", "https://b.example/"]
    assert "links" not in table.column_names
    assert table.column("status").to_pylist() == [404, None, 200]


def test_round_cutoff_keeps_the_smallest_keys_in_bounded_accumulators():
    import random

    combine = RoundCutoff(max_pages=10)
    rng = random.Random(7)
    keys = [(rng.randrange(4), rng.randrange(1 << 63)) for _ in range(1000)]
    accumulators = []
    for part in (keys[:400], keys[400:401], keys[401:]):
        acc = combine.create_accumulator()
        for key in part:
            acc = combine.add_input(acc, ("k", key))
            assert len(acc[1]) < 2 * 10  # compacted as it goes
        accumulators.append(combine.add_input(acc, ("n", 3)))
    total, smallest = combine.extract_output(combine.merge_accumulators(accumulators))
    assert total == 9 and smallest == sorted(keys)[:10]
    assert combine.extract_output(combine.create_accumulator()) == (0, [])
