"""`polycorp crawl`: seeds → rounds of (new URLs → scope → limits → per-host fetch → links).

The rounds are unrolled into one Beam graph: max_depth + 2 rounds, the last one for the targets of
redirects met in the one before (a redirect target is fetched one round later, at the depth of the
page that redirected). Frontier entries left after the last round are logged as not fetched. A URL
seen in an earlier round is never fetched again; a host's URLs are fetched in one worker, one after the other, while other
hosts are fetched by other workers. Output: `warc/*.warc.gz` and `crawl_log.parquet`.
"""

from __future__ import annotations

import io
import os

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions

from transforms.crawl import (
    CrawlConfig, CrawlHost, CrawlLogRow, FrontierEntry, admit, crawl_log_table, out_of_scope,
    read_parts, resume_frontier,
)
from transforms.staging import write_atomically
from transforms.urls import UrlError, canonical_url, origin_of

# Fetching waits on the network and on politeness delays, and CrawlHost already overlaps up to
# host_concurrency hosts in threads: the in-process runner without runner threads is fastest and
# leanest (benchmarks/crawl_throughput.py); multi_processing adds cores for CPU-bound crawls.
DEFAULT_CRAWL_OPTIONS = ["--runner=FnApiRunner", "--direct_running_mode=in_memory",
                         "--direct_num_workers=1"]


class CrawlError(Exception):
    """A crawl that cannot start; the message is one line saying what to do."""


def canonical_seeds(seeds: list[str]) -> list[str]:
    out = []
    for seed in seeds:
        try:
            out.append(canonical_url(seed))
        except UrlError as e:
            raise CrawlError(f"bad seed URL {seed!r}: {e}") from None
    return sorted(set(out))


def _first_of_each_url(element):
    url, groups = element
    if list(groups["seen"]):
        return
    candidates = sorted(groups["cand"], key=lambda e: (e.depth, e.redirects, e.referrer or ""))
    if candidates:
        yield candidates[0]


def unseen(frontier, seen, name: str):
    """Frontier entries whose URL is not in `seen`, one per URL (shallowest, deterministic)."""
    return (
        {"cand": frontier | f"{name}KeyCandidates" >> beam.Map(lambda e: (e.url, e)),
         "seen": seen | f"{name}KeySeen" >> beam.Map(lambda url: (url, None))}
        | f"{name}JoinSeen" >> beam.CoGroupByKey()
        | f"{name}NewUrls" >> beam.FlatMap(_first_of_each_url)
    )


def crawl_round(frontier, seen, admitted_so_far, config: CrawlConfig, seed_hosts, out_dir: str,
                run_tag: str, r: int):
    """One round; returns (log rows, next frontier, URLs considered, admitted entries)."""
    name = f"R{r:02d}"
    new = unseen(frontier, seen, name)

    def scope(entry):
        why = out_of_scope(entry.url, config, seed_hosts)
        if why:
            yield beam.pvalue.TaggedOutput("log", CrawlLogRow(
                entry.url, None, None, None, 0, entry.depth, why, None, entry.referrer))
        else:
            yield entry

    scoped = new | f"{name}Scope" >> beam.FlatMap(scope).with_outputs("log", main="urls")
    fetched_counts = (
        admitted_so_far
        | f"{name}HostOfFetched" >> beam.Map(lambda e: (origin_of(e.url), 1))
        | f"{name}PerHost" >> beam.CombinePerKey(sum)
    )
    total = admitted_so_far | f"{name}Total" >> beam.combiners.Count.Globally()

    def within_limits(keyed, fetched_total, per_host):
        for item in admit(list(keyed[1]), fetched_total, per_host, config):
            yield item if isinstance(item, FrontierEntry) else beam.pvalue.TaggedOutput("log", item)

    limited = (
        scoped.urls
        | f"{name}All" >> beam.Map(lambda e: (None, e))
        | f"{name}Gather" >> beam.GroupByKey()
        | f"{name}Limits" >> beam.FlatMap(
            within_limits, fetched_total=beam.pvalue.AsSingleton(total),
            per_host=beam.pvalue.AsDict(fetched_counts)).with_outputs("log", main="admitted")
    )
    fetched = (
        limited.admitted
        | f"{name}ByHost" >> beam.Map(lambda e: (origin_of(e.url), e))
        | f"{name}GroupByHost" >> beam.GroupByKey()
        | f"{name}Fetch" >> beam.ParDo(CrawlHost(config, out_dir, run_tag, r)).with_outputs(
            "next", main="rows")
    )
    rows = (scoped.log, limited.log, fetched.rows) | f"{name}Rows" >> beam.Flatten()
    considered = new | f"{name}Considered" >> beam.Map(lambda e: e.url)
    return rows, fetched.next, considered, limited.admitted


def run_crawl(seeds: list[str], out_dir: str, config: CrawlConfig, beam_args: list[str],
              resume: bool = False) -> dict:
    """Crawl into `out_dir`; with `resume`, continue an interrupted (or finished) crawl there:
    URLs of finished host-rounds are not fetched again, their links are followed."""
    seeds = canonical_seeds(seeds)
    out_dir = os.path.abspath(out_dir)
    log_path = os.path.join(out_dir, "crawl_log.parquet")
    parts_dir = os.path.join(out_dir, "parts")
    if not resume and (os.path.exists(log_path) or os.path.isdir(parts_dir)):
        raise CrawlError(f"{out_dir} already holds a crawl; pass --resume to continue it or choose another --out")
    try:
        os.makedirs(os.path.join(out_dir, "warc"), exist_ok=True)
        os.makedirs(parts_dir, exist_ok=True)
    except OSError as e:
        raise CrawlError(f"cannot create {out_dir}: {e.strerror}") from None
    previous = read_parts(parts_dir)
    run_tag = f"g{len({name.split('-')[0] for name in os.listdir(parts_dir) if name.startswith('g')}):02d}"
    options = PipelineOptions(DEFAULT_CRAWL_OPTIONS + beam_args)
    seed_hosts = frozenset(origin_of(s) for s in seeds)
    start = [FrontierEntry(s, 0) for s in seeds] + resume_frontier(previous, config)
    with beam.Pipeline(options=options) as p:
        frontier = p | "Seeds" >> beam.Create(start)
        seen = p | "SeenBefore" >> beam.Create(sorted({r.url for r in previous}))
        admitted_so_far = p | "FetchedBefore" >> beam.Create([FrontierEntry(r.url, r.depth) for r in previous])
        all_rows = [p | "RowsBefore" >> beam.Create(previous)]
        rounds = config.max_depth + 2
        for r in range(rounds):
            rows, frontier, considered, admitted = crawl_round(
                frontier, seen, admitted_so_far, config, seed_hosts, out_dir, run_tag, r)
            all_rows.append(rows)
            seen = (seen, considered) | f"R{r:02d}Seen" >> beam.Flatten()
            admitted_so_far = (admitted_so_far, admitted) | f"R{r:02d}Fetched" >> beam.Flatten()
        leftover = (
            unseen(frontier, seen, "Leftover")
            | "LeftoverLog" >> beam.Map(lambda e: CrawlLogRow(
                e.url, None, None, None, 0, e.depth, f"not fetched: the crawl ended after {rounds} rounds",
                None, e.referrer))
        )
        (
            (*all_rows, leftover) | "AllRows" >> beam.Flatten()
            | "CollectLog" >> beam.combiners.ToList()
            | "WriteLog" >> beam.Map(_write_log, path=log_path)
        )
    table = pq.read_table(log_path)
    statuses = table.column("status").to_pylist()
    warc_dir = os.path.join(out_dir, "warc")
    return {
        "urls_tried": table.num_rows,
        "fetched": sum(s is not None for s in statuses),
        "ok": sum(s is not None and 200 <= s < 300 for s in statuses),
        "warc_files": sorted(n for n in os.listdir(warc_dir) if n.endswith(".warc.gz")),
        "resumed_rows": len(previous),
    }


def _write_log(rows, path):
    buffer = io.BytesIO()
    pq.write_table(crawl_log_table(rows), buffer, compression="zstd")
    write_atomically(path, buffer.getvalue())
