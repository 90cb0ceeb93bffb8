"""Crawling one host for one round: robots.txt, politeness, fetches, WARC, log rows, next links.

`crawl_host` is the unit a worker runs: a host's URLs are fetched one after the other with the
host's delay (max of `--delay` and robots.txt's Crawl-delay) — many hosts run in parallel on
other workers. It writes the responses to its own rolling WARC files and yields one `CrawlLogRow`
per URL tried plus the `FrontierEntry`s (links, redirect targets) for the next round.
"""

from __future__ import annotations

import hashlib
import heapq
import io
import re
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Callable, Iterator

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash
from apache_beam.metrics import Metrics

from transforms import fs
from transforms.fetch import FetchConfig, fetch
from transforms.links import extract_links
from transforms.progress import flush, tick
from transforms.robots import Robots, robots_from_response
from transforms.urls import UrlError, canonical_url, origin_of
from transforms.warc_write import RollingWarcWriter


@dataclass(frozen=True)
class CrawlConfig:
    fetch: FetchConfig = FetchConfig()
    delay: float = 1.0  # seconds between two requests to one host (robots Crawl-delay may raise it)
    max_pages: int = 1000
    max_pages_per_host: int = 1000
    max_depth: int = 3
    max_redirects: int = 5
    same_host: bool = False
    include: tuple[str, ...] = ()  # URL regexes; when given, a URL must match one
    exclude: tuple[str, ...] = ()  # URL regexes; a URL matching one is out of scope
    warc_max_bytes: int = 1 << 30
    host_concurrency: int = 16  # hosts one worker crawls at once (each host stays sequential)


@dataclass(frozen=True, slots=True)
class FrontierEntry:
    url: str
    depth: int
    referrer: str | None = None
    redirects: int = 0  # redirect hops that led here


@dataclass(frozen=True, slots=True)
class CrawlLogRow:
    url: str
    status: int | None
    fetched_at: datetime | None
    content_type: str | None
    bytes: int
    depth: int
    error: str | None
    robots_allowed: bool | None  # None: not asked (out of scope, over a limit)
    referrer: str | None = None
    redirect_to: str | None = None
    warc_file: str | None = None
    alternates: tuple[tuple[str, str], ...] = ()  # (hreflang, url): the same page in other languages
    attempts: int = 0
    links: tuple[str, ...] = ()  # the page's followable links (kept in parts/, for --resume)


CRAWL_LOG_SCHEMA = pa.schema([
    ("url", pa.string()), ("status", pa.int32()), ("fetched_at", pa.timestamp("us", tz="UTC")),
    ("content_type", pa.string()), ("bytes", pa.int64()), ("depth", pa.int32()),
    ("error", pa.string()), ("robots_allowed", pa.bool_()), ("referrer", pa.string()),
    ("redirect_to", pa.string()), ("warc_file", pa.string()),
    ("alternates", pa.list_(pa.struct([("hreflang", pa.string()), ("url", pa.string())]))),
    ("attempts", pa.int32()),
])
# A part (one host, one round, written when the host is done) also keeps the links, for --resume.
PART_SCHEMA = CRAWL_LOG_SCHEMA.append(pa.field("links", pa.list_(pa.string())))


def crawl_log_table(rows: list[CrawlLogRow], schema: pa.Schema = CRAWL_LOG_SCHEMA) -> pa.Table:
    rows = sorted(rows, key=lambda r: (r.url, r.depth, r.fetched_at or datetime.min.replace(tzinfo=timezone.utc)))
    columns = {name: [getattr(r, name) for r in rows] for name in schema.names}
    columns["alternates"] = [[{"hreflang": h, "url": u} for h, u in r.alternates] for r in rows]
    return pa.Table.from_pydict(columns, schema=schema)


def rows_from_table(table: pa.Table) -> list[CrawlLogRow]:
    rows = []
    for row in table.to_pylist():
        row["alternates"] = tuple((a["hreflang"], a["url"]) for a in row["alternates"] or ())
        row["links"] = tuple(row.get("links") or ())
        rows.append(CrawlLogRow(**row))
    return rows


def write_part(path: str, rows: list[CrawlLogRow]) -> None:
    from transforms.staging import write_atomically

    buffer = io.BytesIO()
    pq.write_table(crawl_log_table(rows, PART_SCHEMA), buffer, compression="zstd")
    write_atomically(path, buffer.getvalue())


def read_parquet(path: str, schema: pa.Schema | None = None) -> pa.Table:
    with fs.open_read(path) as f:
        return pq.read_table(f, schema=schema)


def read_parts(parts_dir: str) -> list[CrawlLogRow]:
    """Log rows of every host-round finished by earlier runs (unfinished ones left no part)."""
    rows = []
    for path in fs.files_in(parts_dir, (".parquet",)):
        rows += rows_from_table(read_parquet(path))
    return rows


UNFETCHED = "unfetched"  # parts/unfetched/: rows of URLs decided without a request (scope, limits)


def write_unfetched(bucket_rows, parts_dir: str, prefix: str) -> None:
    """One part for a (bucket, rows) group of URLs not fetched; the name depends only on the run,
    the round and the bucket, so a retried bundle rewrites the same file."""
    bucket, rows = bucket_rows
    write_part(fs.join(parts_dir, UNFETCHED, f"{prefix}-{bucket:03d}.parquet"), list(rows))


def part_files(parts_dir: str) -> list[str]:
    """Every finished part: host-rounds fetched (all runs) and URLs decided without a request."""
    return fs.files_in(parts_dir, (".parquet",)) + fs.files_in(fs.join(parts_dir, UNFETCHED), (".parquet",))


def assemble_log(parts_dir: str, path: str) -> pa.Table:
    """crawl_log.parquet from the parts on disk, read into Arrow (never as Python rows), sorted by
    URL; written atomically. Returns the table."""
    from transforms.staging import write_atomically

    import pyarrow.dataset as ds

    files = part_files(parts_dir)  # in file order; local ones read by Arrow's threads
    if not files:
        table = PART_SCHEMA.empty_table()
    elif fs.is_local(parts_dir):
        table = ds.dataset(files, schema=PART_SCHEMA, format="parquet").to_table()
    else:
        table = pa.concat_tables([read_parquet(f, PART_SCHEMA) for f in files])
    table = table.drop_columns(["links"]).sort_by(
        [("url", "ascending", "at_start"), ("depth", "ascending", "at_start"),
         ("fetched_at", "ascending", "at_start")])
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    write_atomically(path, buffer.getvalue())
    return table


def resume_frontier(rows: list[CrawlLogRow], config: CrawlConfig) -> list[FrontierEntry]:
    """What the rows of earlier runs lead to: their links and redirect targets."""
    out = []
    for row in rows:
        if row.redirect_to:
            out.append(FrontierEntry(row.redirect_to, row.depth, row.url, 1))
        if row.depth < config.max_depth:
            out += [FrontierEntry(url, row.depth + 1, row.url) for url in row.links]
    return out


def out_of_scope(url: str, config: CrawlConfig, seed_hosts: frozenset[str]) -> str | None:
    """Why `url` is not crawled (other host, --include/--exclude), or None if it is in scope."""
    if config.same_host and origin_of(url) not in seed_hosts:
        return "out_of_scope: other host"
    if config.include and not any(re.search(p, url) for p in config.include):
        return "out_of_scope: matches no --include"
    for pattern in config.exclude:
        if re.search(pattern, url):
            return f"out_of_scope: matches --exclude {pattern}"
    return None


def host_slug(host: str) -> str:
    readable = re.sub(r"[^a-z0-9]+", "_", host.split("://", 1)[-1].lower()).strip("_")[:40]
    return f"{readable}-{hashlib.sha1(host.encode()).hexdigest()[:8]}"


def fetch_robots(host: str, config: CrawlConfig) -> tuple[Robots, str | None]:
    """The host's robots rules, and the reason the host must not be contacted at all (or None)."""
    robots_config = replace(config.fetch, content_types=("*",), max_bytes=500_000, max_retries=1)
    result = fetch(f"{host}/robots.txt", robots_config)
    if result.ip is None:  # not resolvable, or a refused (private) address: nothing to contact
        return robots_from_response(None, b"", result.error), result.error
    return robots_from_response(result.status, result.body, result.error), None


ROBOTS_MAX_AGE = 24 * 3600.0  # RFC 9309 §2.4: robots.txt should not be cached longer than 24 hours


@dataclass
class HostState:
    """What a worker remembers of a host between its rounds: robots.txt and the last request."""

    robots: Robots
    refused: str | None  # why the host must not be contacted at all
    robots_at: float  # clock() when robots.txt was fetched
    last_request: float  # clock() of the last request to the host (robots.txt included)


def crawl_host(host: str, entries: list[FrontierEntry], config: CrawlConfig, warc_dir: str,
               tag: str, clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep,
               known: dict[str, HostState] | None = None) -> Iterator[CrawlLogRow | FrontierEntry]:
    """Fetch `entries` (all on `host`) politely; yield log rows and next-round frontier entries.

    `known` (host → HostState, shared by the host-rounds one worker runs) keeps robots.txt for up to
    24 hours and spaces a host's first request of a round from its last one of the round before."""
    known = {} if known is None else known
    state = known.get(host)
    if state is None or clock() - state.robots_at > ROBOTS_MAX_AGE:
        if state is not None:  # the robots.txt request waits the host's delay too
            _wait_until(state.last_request + config.delay, clock, sleep)
        robots, refused = fetch_robots(host, config)
        now = clock()
        state = known[host] = HostState(robots, refused, now, now)
    if state.refused:  # the host itself may not be contacted: say so for each of its URLs
        for entry in entries:
            yield CrawlLogRow(entry.url, None, None, None, 0, entry.depth, state.refused, None, entry.referrer)
        return
    robots, agent = state.robots, config.fetch.user_agent
    delay = max(config.delay, robots.crawl_delay(agent) or 0.0)
    writer = RollingWarcWriter(warc_dir, f"crawl-{tag}-{host_slug(host)}",
                               config.warc_max_bytes, agent)
    try:
        for entry in sorted(entries, key=lambda e: e.url):
            if not robots.allowed(entry.url, agent):
                yield CrawlLogRow(entry.url, None, None, None, 0, entry.depth,
                                  f"robots.txt disallows ({robots.note})", False, entry.referrer)
                continue
            _wait_until(state.last_request + delay, clock, sleep)
            result = fetch(entry.url, config.fetch, sleep=sleep, min_interval=delay)
            state.last_request = clock()
            yield from _outcome(entry, result, config, writer)
    finally:
        writer.close()


def _wait_until(moment: float, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
    wait = moment - clock()
    if wait > 0:
        sleep(wait)


def _outcome(entry: FrontierEntry, result, config: CrawlConfig, writer) -> Iterator:
    row = CrawlLogRow(entry.url, result.status, result.fetched_at, result.content_type,
                      len(result.body), entry.depth, result.error, True, entry.referrer,
                      attempts=result.attempts)
    if result.status is None:
        yield row
        return
    readable = "*" in config.fetch.content_types or result.content_type in config.fetch.content_types
    if 200 <= result.status < 300 and not readable:
        yield replace(row, error=f"content type {result.content_type} not crawled")
        return
    row = replace(row, warc_file=writer.write(result))
    if result.truncated:
        row = replace(row, error=f"truncated at {config.fetch.max_bytes} bytes")
    location = result.location
    if location:
        try:
            target = canonical_url(location)
        except UrlError as e:
            yield replace(row, error=f"bad redirect target: {e}")
            return
        if entry.redirects + 1 > config.max_redirects:
            yield replace(row, redirect_to=target, error=f"more than {config.max_redirects} redirects")
            return
        yield replace(row, redirect_to=target)
        yield FrontierEntry(target, entry.depth, entry.url, entry.redirects + 1)
        return
    if 200 <= result.status < 300 and result.body:
        links = extract_links(result.body.decode("utf-8", "replace"), entry.url)
        row = replace(row, alternates=tuple(links.alternates), links=tuple(links.links))
        if entry.depth < config.max_depth:
            for url in links.links:
                yield FrontierEntry(url, entry.depth + 1, entry.url)
    yield row


# host → HostState per crawl (output dir + run), shared by the CrawlHost instances of all rounds in
# one worker process; bounded by the number of hosts.
_KNOWN_HOSTS: dict[str, dict[str, HostState]] = {}


class CrawlHost(beam.DoFn):
    """(host, [FrontierEntry]) → the FrontierEntry links and redirect targets for the next round.

    A worker crawls up to `config.host_concurrency` hosts at once, each in its own thread and each
    host strictly one request after the other: a bundle's hosts overlap their network waits and
    politeness delays instead of queueing behind each other. When a host is done, its log rows are
    written as one part under `parts/` (atomically, after its WARC files are closed): the crawl log
    is assembled from the parts, and a crawl interrupted later resumes without fetching these URLs
    again. Rows are not passed downstream, so the runner never holds them."""

    def __init__(self, config: CrawlConfig, out_dir: str, run_tag: str, round_index: int):
        self.config, self.out_dir, self.run_tag, self.round_index = config, out_dir, run_tag, round_index
        self.pages = Metrics.counter("crawl", "urls_tried")
        self.fetched = Metrics.counter("crawl", "fetched")
        self.errors = Metrics.counter("crawl", "errors")

    def setup(self):
        self.known = _KNOWN_HOSTS.setdefault(f"{self.out_dir}|{self.run_tag}", {})

    def _crawl(self, host: str, entries: list[FrontierEntry]) -> list:
        tag = f"{self.run_tag}-r{self.round_index:02d}"
        items = []
        for item in crawl_host(host, entries, self.config, fs.join(self.out_dir, "warc"), tag, known=self.known):
            if isinstance(item, CrawlLogRow):  # live progress, a page at a time
                tick("pages")
                tick("fetched", item.status is not None)
                tick("errors", item.error is not None)
            items.append(item)
        rows = [i for i in items if isinstance(i, CrawlLogRow)]
        write_part(fs.join(self.out_dir, "parts", f"{tag}-{host_slug(host)}.parquet"), rows)
        self.pages.inc(len(rows))
        self.fetched.inc(sum(r.status is not None for r in rows))
        self.errors.inc(sum(r.error is not None for r in rows))
        return [i for i in items if isinstance(i, FrontierEntry)]

    def start_bundle(self):
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(max_workers=self.config.host_concurrency)
        self.running = []

    def process(self, element):
        host, entries = element
        while len(self.running) >= self.config.host_concurrency:  # bounded: wait for one host
            yield from self._wait_one()
        self.running.append(self.pool.submit(self._crawl, host, list(entries)))
        for future in [f for f in self.running if f.done()]:
            self.running.remove(future)
            yield from future.result()

    def finish_bundle(self):
        from apache_beam.transforms.window import GlobalWindow
        from apache_beam.utils.timestamp import MIN_TIMESTAMP
        from apache_beam.utils.windowed_value import WindowedValue

        while self.running:
            for entry in self._wait_one():
                yield WindowedValue(entry, MIN_TIMESTAMP, [GlobalWindow()])
        self.pool.shutdown()
        flush()  # live progress: this bundle's last ticks

    def _wait_one(self) -> list:
        from concurrent.futures import FIRST_COMPLETED, wait

        done, _ = wait(self.running, return_when=FIRST_COMPLETED)
        future = next(iter(done))
        self.running.remove(future)
        return future.result()


def url_key(url: str) -> bytes:
    """16-byte digest a URL is remembered by between rounds (smaller than the URL itself)."""
    return xxhash.xxh3_128_digest(url.encode("utf-8", "surrogatepass"))


def rank_key(entry: FrontierEntry) -> tuple[int, int]:
    """Admission order under the page limits: shallowest first, then by a hash of the URL (so no
    host or path prefix is favoured). Unique per URL in a round."""
    return entry.depth, xxhash.xxh3_64_intdigest(entry.url.encode("utf-8", "surrogatepass"))


def _limit_row(entry: FrontierEntry, why: str) -> CrawlLogRow:
    return CrawlLogRow(entry.url, None, None, None, 0, entry.depth, why, None, entry.referrer)


def admit_host(candidates: list[FrontierEntry], fetched_on_host: int,
               config: CrawlConfig) -> Iterator[FrontierEntry | CrawlLogRow]:
    """One host's candidates of a round within the per-host page limit, in `rank_key` order;
    the rest are logged."""
    left = config.max_pages_per_host - fetched_on_host
    for entry in sorted(candidates, key=rank_key):
        if left > 0:
            left -= 1
            yield entry
        else:
            yield _limit_row(entry, f"host page limit reached ({config.max_pages_per_host})")


def global_cutoff(smallest: list[tuple[int, int]], fetched_total: int, config: CrawlConfig):
    """The largest rank key admitted this round under --max-pages, given the round's smallest
    keys in order (at most max_pages of them); None: no limit binds (all admitted)."""
    left = config.max_pages - fetched_total
    if left <= 0:
        return (-1, -1)  # below every key: nothing admitted
    return smallest[left - 1] if len(smallest) > left else None


class RoundCutoff(beam.CombineFn):
    """("n", pages admitted on a host before) and ("k", rank key of a candidate) → (pages admitted
    before, the round's smallest `max_pages` rank keys in order): what `global_cutoff` needs, in one
    combiner whose accumulator never holds more than 2 × max_pages keys."""

    def __init__(self, max_pages: int):
        self.max_pages = max_pages

    def create_accumulator(self):
        return 0, []

    def add_input(self, accumulator, item):
        total, keys = accumulator
        kind, value = item
        if kind == "n":
            return total + value, keys
        keys.append(tuple(value))
        if len(keys) >= 2 * self.max_pages:
            keys = heapq.nsmallest(self.max_pages, keys)
        return total, keys

    def merge_accumulators(self, accumulators):
        accumulators = list(accumulators)
        keys = heapq.nsmallest(self.max_pages, (k for _, ks in accumulators for k in ks))
        return sum(total for total, _ in accumulators), keys

    def extract_output(self, accumulator):
        total, keys = accumulator
        return total, heapq.nsmallest(self.max_pages, keys)


def admit_global(entry: FrontierEntry, cutoff, config: CrawlConfig) -> FrontierEntry | CrawlLogRow:
    if cutoff is None or rank_key(entry) <= tuple(cutoff):
        return entry
    return _limit_row(entry, f"page limit reached (--max-pages {config.max_pages})")
