"""`polycorp crawl`: seeds → rounds of (new URLs → scope → limits → per-host fetch → links).

The rounds are unrolled into one Beam graph: max_depth + 2 rounds, the last one for the targets of
redirects met in the one before (a redirect target is fetched one round later, at the depth of the
page that redirected). Frontier entries left after the last round are logged as not fetched. A URL
seen in an earlier round is never fetched again; a host's URLs are fetched in one worker, one after the other, while other
hosts are fetched by other workers. Output: `warc/*.warc.gz` and `crawl_log.parquet`.
"""

from __future__ import annotations

import os
from collections import Counter

import apache_beam as beam
import pyarrow.compute as pc
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from transforms import fs
from transforms.crawl import (
    UNFETCHED, CrawlConfig, CrawlHost, CrawlLogRow, FrontierEntry, RoundCutoff, admit_global, admit_host,
    assemble_log, global_cutoff, out_of_scope, rank_key, read_parts, resume_frontier,
    url_key, write_unfetched,
)
from transforms.records import shard_of, stable_hash
from transforms.urls import UrlError, canonical_url, origin_of

# One SDK worker process per core: each crawls up to host_concurrency hosts at once in threads (the
# waits overlap), and the processes add cores for the CPU part (HTTP parsing, WARC gzip, links),
# which one Python process cannot spread (benchmarks/crawl_throughput.py). One core: in-process.


def default_crawl_options() -> list[str]:
    """Runner options; the user's Beam arguments come after them, so theirs win."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cores < 2:
        return ["--runner=FnApiRunner", "--direct_running_mode=in_memory", "--direct_num_workers=1"]
    return ["--runner=FnApiRunner", "--direct_running_mode=multi_processing",
            f"--direct_num_workers={min(cores, 16)}"]


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
    _, groups = element
    if list(groups["seen"]):
        return
    candidates = sorted(groups["cand"], key=lambda e: (e.depth, e.redirects, e.referrer or ""))
    if candidates:
        yield candidates[0]


def unseen(frontier, seen, name: str):
    """Frontier entries whose URL is not in `seen` (URL keys), one per URL (shallowest,
    deterministic): a join, so no worker holds the set of URLs seen."""
    return (
        {"cand": frontier | f"{name}KeyCandidates" >> beam.Map(lambda e: (url_key(e.url), e)),
         "seen": seen | f"{name}KeySeen" >> beam.Map(lambda key: (key, None))}
        | f"{name}JoinSeen" >> beam.CoGroupByKey()
        | f"{name}NewUrls" >> beam.FlatMap(_first_of_each_url)
    )


UNFETCHED_BUCKETS = 16  # parts per round for the URLs decided without a request


def write_unfetched_rows(rows, out_dir: str, prefix: str, name: str):
    """Log rows of URLs not fetched → parts/unfetched/<prefix>-<bucket>.parquet (by URL hash)."""
    return (
        rows
        | f"{name}Bucket" >> beam.Map(lambda row: (shard_of(stable_hash(row.url), UNFETCHED_BUCKETS), row))
        | f"{name}GroupBucket" >> beam.GroupByKey()
        | f"{name}WritePart" >> beam.Map(write_unfetched, parts_dir=fs.join(out_dir, "parts"),
                                         prefix=prefix)
    )


def _tagged(items, main: type):
    for item in items:
        yield item if isinstance(item, main) else beam.pvalue.TaggedOutput("log", item)


def page_limits(scoped, host_counts, config: CrawlConfig, name: str):
    """The round's in-scope candidates within the page limits → (admitted, log rows).

    Per host: a join with the host's count so far, then `admit_host`. Total: one combiner finds the
    pages admitted before and the round's smallest rank keys (at most --max-pages of them), and
    `admit_global` compares each candidate with the cutoff they give. No worker gathers the
    round's candidates."""
    per_host = (
        {"cand": scoped | f"{name}HostOfCandidate" >> beam.Map(lambda e: (origin_of(e.url), e)),
         "count": host_counts}
        | f"{name}JoinHostCounts" >> beam.CoGroupByKey()
        | f"{name}HostLimit" >> beam.FlatMap(lambda kv: _tagged(admit_host(
            list(kv[1]["cand"]), sum(kv[1]["count"]), config), FrontierEntry)).with_outputs("log", main="ok")
    )
    cutoff = (
        (host_counts | f"{name}Before" >> beam.Map(lambda kv: ("n", kv[1])),
         per_host.ok | f"{name}RankKeys" >> beam.Map(lambda e: ("k", rank_key(e))))
        | f"{name}CutoffInputs" >> beam.Flatten()
        | f"{name}Cutoff" >> beam.CombineGlobally(RoundCutoff(config.max_pages))
        | f"{name}CutoffKey" >> beam.MapTuple(lambda total, keys: global_cutoff(keys, total, config))
    )
    admitted = per_host.ok | f"{name}TotalLimit" >> beam.FlatMap(
        lambda e, cut: _tagged([admit_global(e, cut, config)], FrontierEntry),
        cut=beam.pvalue.AsSingleton(cutoff)).with_outputs("log", main="ok")
    log = (per_host.log, admitted.log) | f"{name}LimitLog" >> beam.Flatten()
    return admitted.ok, log


def crawl_round(frontier, seen, host_counts, config: CrawlConfig, seed_hosts, out_dir: str,
                run_tag: str, r: int):
    """One round → (next frontier, URL keys considered, pages per host so far, log rows of URLs
    not fetched). Fetched URLs' log rows are written to parts by CrawlHost."""
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
    admitted, limit_log = page_limits(scoped.urls, host_counts, config, name)
    fetched = (
        admitted
        | f"{name}ByHost" >> beam.Map(lambda e: (origin_of(e.url), e))
        | f"{name}GroupByHost" >> beam.GroupByKey()
        | f"{name}Fetch" >> beam.ParDo(CrawlHost(config, out_dir, run_tag, r))
    )
    considered = new | f"{name}Considered" >> beam.Map(lambda e: url_key(e.url))
    counts = (
        (host_counts, admitted | f"{name}HostOfAdmitted" >> beam.Map(lambda e: (origin_of(e.url), 1)))
        | f"{name}AllCounts" >> beam.Flatten()
        | f"{name}CountPerHost" >> beam.CombinePerKey(sum)
    )
    return fetched, considered, counts, (scoped.log, limit_log)


def run_crawl(seeds: list[str], out_dir: str, config: CrawlConfig, beam_args: list[str],
              resume: bool = False) -> dict:
    """Crawl into `out_dir`; with `resume`, continue an interrupted (or finished) crawl there:
    URLs of finished host-rounds are not fetched again, their links are followed."""
    seeds = canonical_seeds(seeds)
    out_dir = fs.absolute(out_dir)
    log_path = fs.join(out_dir, "crawl_log.parquet")
    parts_dir = fs.join(out_dir, "parts")
    part_names = [FileSystems.split(p)[1] for p in fs.files_in(parts_dir, (".parquet",))]
    if not resume and (fs.exists(log_path) or fs.list_files(parts_dir)):
        raise CrawlError(f"{out_dir} already holds a crawl; pass --resume to continue it or choose another --out")
    fs.delete_tree(fs.join(parts_dir, UNFETCHED))  # decided again by this run, from the finished parts' links
    if fs.is_local(out_dir):
        try:
            for folder in ("warc", os.path.join("parts", UNFETCHED)):
                os.makedirs(os.path.join(out_dir, folder), exist_ok=True)
        except OSError as e:
            raise CrawlError(f"cannot create {out_dir}: {e.strerror}") from None
    previous = read_parts(parts_dir)
    resumed_rows = len(previous)
    run_tag = f"g{len({name.split('-')[0] for name in part_names if name.startswith('g')}):02d}"
    options = PipelineOptions(default_crawl_options() + beam_args)
    seed_hosts = frozenset(origin_of(s) for s in seeds)
    start = [FrontierEntry(s, 0) for s in seeds] + resume_frontier(previous, config)
    with beam.Pipeline(options=options) as p:
        frontier = p | "Seeds" >> beam.Create(start)
        seen = p | "SeenBefore" >> beam.Create(sorted({url_key(r.url) for r in previous}))
        host_counts = p | "FetchedBefore" >> beam.Create(
            sorted(Counter(origin_of(r.url) for r in previous).items()))
        del previous
        rounds = config.max_depth + 2
        unfetched = []
        for r in range(rounds):
            frontier, considered, host_counts, logs = crawl_round(
                frontier, seen, host_counts, config, seed_hosts, out_dir, run_tag, r)
            seen = (seen, considered) | f"R{r:02d}Seen" >> beam.Flatten()
            unfetched += logs
        leftover = (
            unseen(frontier, seen, "Leftover")
            | "LeftoverLog" >> beam.Map(lambda e: CrawlLogRow(
                e.url, None, None, None, 0, e.depth, f"not fetched: the crawl ended after {rounds} rounds",
                None, e.referrer))
        )
        # URLs decided without a request, written once at the end: a resumed crawl decides them
        # again from the finished parts' links, so nothing here needs to survive an interruption
        write_unfetched_rows((*unfetched, leftover) | "AllUnfetched" >> beam.Flatten(), out_dir,
                             run_tag, "Unfetched")
    table = assemble_log(parts_dir, log_path)
    statuses = pc.fill_null(table.column("status"), 0)
    warc_files = [FileSystems.split(p)[1] for p in fs.list_files(fs.join(out_dir, "warc"))]
    return {
        "urls_tried": table.num_rows,
        "fetched": table.num_rows - table.column("status").null_count,
        "ok": pc.sum(pc.and_(pc.greater_equal(statuses, 200), pc.less(statuses, 300))).as_py() or 0,
        "warc_files": sorted(n for n in warc_files if n.endswith(".warc.gz") and not n.startswith(".")),
        "resumed_rows": resumed_rows,
    }
