"""Crawler throughput: pages/s against a local server with many hosts and no politeness delay.

Run with the project venv, from anywhere:

    .venv/bin/python benchmarks/crawl_throughput.py            # full run, ~5 min on 2 cores
    .venv/bin/python benchmarks/crawl_throughput.py --quick    # ~1 min, figures go to benchmarks/work/

The site: --hosts (50) HTTP servers, one `ThreadingHTTPServer` per loopback address 127.0.0.2 …
127.0.0.51, all on one port, all in ONE separate process (so the server's CPU is not counted as
the crawler's; it is measured and reported apart). Host h serves N pages `/p/<n>.html`, each
holding one real text from sample/gold.jsonl.gz (translated manual pages, 12 languages; cycled,
a different one per host and page) and links to 5 pages of the same host, `(n*7+k) mod N` for
k = 1..5, so a crawl from `/p/0.html` reaches all N pages by depth 3 (N ≤ 40) or 4 (N ≤ 160). Its
`/robots.txt` allows everything, with no Crawl-delay. Nothing but 127.0.0.0/8 is contacted.

Each crawl runs in a fresh process (so ru_maxrss is that run's own peak) that calls
`pipelines.crawl.run_crawl(seeds, out, CrawlConfig(fetch=FetchConfig(allowed_addresses=<the
hosts>), delay=0, max_pages=hosts*N, max_pages_per_host=N, max_depth=4), beam_args)` in-process;
seeds are the hosts' `/p/0.html`. Around `run_crawl` only (imports not counted):
- wall seconds; CPU = user+sys from getrusage(RUSAGE_SELF) + getrusage(RUSAGE_CHILDREN) deltas
  (the latter holds Beam's worker processes in multi_processing mode, which are waited for);
- utilisation = CPU / wall (≥ 1.0: more than one core busy on average);
- peak RSS: ru_maxrss of the process (and of its largest child), and the peak of the whole
  process tree's RSS sampled from /proc every 0.1 s (with a timeline of RSS and CPU);
- pages fetched (crawl log rows with a status) and pages/s = fetched / wall;
- "other": CPU used on the machine by anything but the benchmark meanwhile (/proc/stat), which
  should be ~0: another job on the machine skews every figure.

Runs:
1. Runner settings on the same site (--compare-pages-per-host, 80 → 4,000 pages; --repeats 2,
   the faster run kept):
   (a) the crawler's default, beam_args=[] (multi_processing, one SDK worker process per core, each
       crawling up to 16 hosts at once in threads),
   (b) --direct_running_mode=in_memory --direct_num_workers=1 (one process; the default until
       2026-12-05),
   (c) --direct_running_mode=multi_threading --direct_num_workers=4 (the default before 2026-12-04);
   each also on a 1-page-per-host site (50 pages), the fixed cost of the graph's rounds.
2. Memory as the page count grows: the default setting at --memory-pages-per-host (20, 40, 80,
   160 → 1,000, 2,000, 4,000, 8,000 pages; the 4,000 one is run (a) of 1): peak RSS of the process
   tree, of the runner process and of the largest worker; then the smallest and largest size again
   in_memory with tracemalloc, whose peak is the Python heap alone (objects and the runner's
   element buffers) without the allocators' slack — what the pipeline itself holds.
3. Overlap of network waits: the server waits --latency-ms (20) before each response, on a small
   site (--latency-pages-per-host, 10 → 500 pages); default vs multi_threading. With W workers each
   fetching its hosts one after the other, the best possible is W/latency pages/s.

Prints a table and writes benchmarks/results/crawl_throughput.json (a --quick run or one with
changed sizes writes benchmarks/work/crawl_throughput-last.json instead).
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from html import escape

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)  # benchmarks/ as a folder of scripts sharing benchlib
from benchlib import code_version, machine_busy_s  # noqa: E402
GOLD = os.path.join(ROOT, "sample", "gold.jsonl.gz")
WORK = os.path.join(HERE, "work", "crawl_throughput")
RESULTS = os.path.join(HERE, "results", "crawl_throughput.json")
LINKS_PER_PAGE = 5
MAX_DEPTH = 4  # enough to reach every page of a site of up to 160 pages (see links_of)

SETTINGS = {
    "default": [],  # multi_processing, one worker per core; CrawlHost overlaps up to 16 hosts in threads
    "in_memory": ["--direct_running_mode=in_memory", "--direct_num_workers=1"],
    "multi_threading": ["--direct_running_mode=multi_threading", "--direct_num_workers=4"],
}
SETTING_LABELS = {
    "default": "(a) default: multi_processing, 1 worker/core",
    "in_memory": "(b) in_memory, 1 process (default ≤ 12-04)",
    "multi_threading": "(c) multi_threading, 4 runner threads",
}


def host_ips(n_hosts: int) -> list[str]:
    if not 1 <= n_hosts <= 250:
        raise SystemExit("--hosts must be between 1 and 250 (addresses 127.0.0.2 … 127.0.0.251)")
    return [f"127.0.0.{i + 2}" for i in range(n_hosts)]


def links_of(n: int, pages: int) -> list[int]:
    return sorted({(n * 7 + k) % pages for k in range(1, LINKS_PER_PAGE + 1)} - {n})


# ---------------------------------------------------------------------------------------------
# The site (runs in its own process)


def load_gold() -> list[dict]:
    with gzip.open(GOLD, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return [r for r in rows if r.get("text")]


def render_page(gold: dict, n: int, pages: int) -> bytes:
    links = "".join(f'<li><a href="/p/{m}.html">{escape(gold["lang"])} page {m}</a></li>'
                    for m in links_of(n, pages))
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in gold["text"].split("\n\n") if p.strip())
    title = escape(gold.get("title") or f"page {n}")
    return (f'<!DOCTYPE html><html lang="{escape(gold["lang"])}"><head><meta charset="utf-8">'
            f"<title>{title}</title></head><body><nav><ul>{links}</ul></nav>"
            f"<main><h1>{title}</h1>{paragraphs}</main></body></html>").encode("utf-8")


def serve(conn, ips: list[str], pages: int, latency: float) -> None:
    """Serve the site on every address of `ips`; report the port, then, on "stop", the counts and
    this process's CPU."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    gold = load_gold()
    bodies = [[render_page(gold[(h * pages + n) % len(gold)], n, pages) for n in range(pages)]
              for h in range(len(ips))]
    robots = b"User-agent: *\nAllow: /\n"
    counts = {"pages": 0, "robots": 0, "other": 0, "bytes": 0}
    lock = threading.Lock()

    def handler_for(h: int):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stall on keep-alive

            def log_message(self, *args):
                pass

            def do_GET(self):
                if latency:
                    time.sleep(latency)
                path = self.path.split("?", 1)[0]
                status, ctype, body, kind = 404, "text/html; charset=utf-8", b"<p>not found</p>", "other"
                if path == "/robots.txt":
                    status, ctype, body, kind = 200, "text/plain", robots, "robots"
                elif path.startswith("/p/") and path.endswith(".html"):
                    try:
                        n = int(path[3:-5])
                    except ValueError:
                        n = -1
                    if 0 <= n < pages:
                        status, body, kind = 200, bodies[h][n], "pages"
                with lock:
                    counts[kind] += 1
                    counts["bytes"] += len(body)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128

        def handle_error(self, request, client_address):
            pass

    servers = []
    for attempt in range(20):  # one port for all addresses: take the first one's, retry if taken
        try:
            first = Server((ips[0], 0), handler_for(0))
            port = first.server_address[1]
            servers = [first] + [Server((ip, port), handler_for(h)) for h, ip in enumerate(ips) if h]
            break
        except OSError:
            for s in servers:
                s.server_close()
            servers = []
    if not servers:
        conn.send({"error": "could not bind one port on all addresses"})
        return
    for s in servers:
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True).start()
    conn.send({"port": port, "html_bytes": sum(len(b) for host in bodies for b in host)})
    try:
        conn.recv()  # "stop"
    except EOFError:  # the benchmark went away
        return
    ru = resource.getrusage(resource.RUSAGE_SELF)
    with lock:
        conn.send({"counts": dict(counts), "cpu_s": ru.ru_utime + ru.ru_stime, "maxrss_mb": ru.ru_maxrss / 1024})
    # no shutdown(): it waits out each server's poll interval in turn; the process just ends


class Site:
    """`with Site(ips, pages) as site:` serves the site from a child process; `site.stats` after."""

    def __init__(self, ips: list[str], pages: int, latency: float = 0.0):
        self.ips, self.pages, self.latency = ips, pages, latency
        self.stats = None

    def __enter__(self):
        ctx = multiprocessing.get_context("spawn")  # a clean interpreter: nothing inherited
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=serve, args=(child, self.ips, self.pages, self.latency),
                                   daemon=True)
        self.process.start()
        hello = self.conn.recv()
        if "error" in hello:
            raise SystemExit(f"site: {hello['error']}")
        self.port, self.html_bytes = hello["port"], hello["html_bytes"]
        for ip in (self.ips[0], self.ips[-1]):  # really listening
            socket.create_connection((ip, self.port), timeout=5).close()
        return self

    def seeds(self) -> list[str]:
        return [f"http://{ip}:{self.port}/p/0.html" for ip in self.ips]

    def __exit__(self, *exc):
        self.conn.send("stop")
        self.stats = self.conn.recv()
        self.process.join(10)


# ---------------------------------------------------------------------------------------------
# One measured crawl (runs in a fresh process: `--worker SPEC.json`)


def _children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo += _children(p)
    return pids


def _proc_sample(pid: int) -> tuple[int, float] | None:
    """(RSS bytes, CPU seconds incl. waited-for children) of one process, or None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/statm") as f:
            rss_pages = int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    # fields[0] is the state (field 3 of stat): utime, stime, cutime, cstime are fields 14-17
    cpu = sum(int(fields[i]) for i in (11, 12, 13, 14)) / tick
    return rss_pages * os.sysconf("SC_PAGE_SIZE"), cpu


class Sampler(threading.Thread):
    """Every `interval` s: RSS and CPU of this process and its descendants, thread count."""

    def __init__(self, interval: float = 0.1):
        super().__init__(daemon=True)
        self.interval, self.stop = interval, threading.Event()
        self.timeline, self.peak_tree_rss, self.peak_self_rss, self.peak_threads = [], 0, 0, 0
        self.peak_processes = 0

    def run(self):
        me, t0 = os.getpid(), time.perf_counter()
        while not self.stop.is_set():
            pids = _tree(me)
            rss = cpu = 0.0
            for pid in pids:
                s = _proc_sample(pid)
                if s:
                    rss += s[0]
                    cpu += s[1]
                    if pid == me:
                        self.peak_self_rss = max(self.peak_self_rss, s[0])
            self.peak_tree_rss = max(self.peak_tree_rss, rss)
            self.peak_processes = max(self.peak_processes, len(pids))
            try:
                self.peak_threads = max(self.peak_threads, len(os.listdir(f"/proc/{me}/task")))
            except OSError:
                pass
            self.timeline.append((round(time.perf_counter() - t0, 3), round(rss / 2**20, 1), round(cpu, 2)))
            self.stop.wait(self.interval)


def busy_windows(timeline: list, window: float = 1.0) -> dict:
    """Utilisation of the process tree per `window` s of the sampled timeline."""
    out, start = [], 0
    for i, (t, _, cpu) in enumerate(timeline):
        if t - timeline[start][0] >= window:
            dt = t - timeline[start][0]
            out.append(max(0.0, (cpu - timeline[start][2]) / dt))
            start = i
    if not out:
        return {"windows": 0}
    return {"windows": len(out), "max": round(max(out), 2),
            "share_above_1_core": round(sum(u > 1.0 for u in out) / len(out), 2),
            "share_below_half_core": round(sum(u < 0.5 for u in out) / len(out), 2)}


def worker(spec_path: str) -> int:
    with open(spec_path) as f:
        spec = json.load(f)
    t_import = time.perf_counter()
    import pyarrow.parquet as pq

    from pipelines.crawl import run_crawl
    from transforms.crawl import CrawlConfig
    from transforms.fetch import FetchConfig

    import_s = time.perf_counter() - t_import
    config = CrawlConfig(fetch=FetchConfig(allowed_addresses=tuple(spec["ips"])), delay=0.0,
                         max_pages=spec["max_pages"], max_pages_per_host=spec["pages_per_host"],
                         max_depth=MAX_DEPTH)
    out_dir = spec["out_dir"]
    shutil.rmtree(out_dir, ignore_errors=True)
    if spec.get("trace_heap"):  # Python's own heap (objects, buffers), apart from allocator slack
        import tracemalloc

        tracemalloc.start()
    sampler = Sampler()
    self0, child0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    sampler.start()
    t0 = time.perf_counter()
    summary = run_crawl(spec["seeds"], out_dir, config, spec["beam_args"])
    wall = time.perf_counter() - t0
    self1, child1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    sampler.stop.set()
    sampler.join()
    heap_peak = None
    if spec.get("trace_heap"):
        heap_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    cpu_self = (self1.ru_utime - self0.ru_utime) + (self1.ru_stime - self0.ru_stime)
    cpu_children = (child1.ru_utime - child0.ru_utime) + (child1.ru_stime - child0.ru_stime)
    log = pq.read_table(os.path.join(out_dir, "crawl_log.parquet")).to_pylist()
    depths: dict[int, int] = {}
    for row in log:
        if row["status"] is not None:
            depths[row["depth"]] = depths.get(row["depth"], 0) + 1
    warc_dir = os.path.join(out_dir, "warc")
    result = {
        "setting": spec["setting"], "beam_args": spec["beam_args"],
        "hosts": len(spec["ips"]), "pages_per_host": spec["pages_per_host"],
        "site_pages": len(spec["ips"]) * spec["pages_per_host"],
        "import_s": round(import_s, 2),
        "wall_s": round(wall, 3), "cpu_s": round(cpu_self + cpu_children, 3),
        "cpu_self_s": round(cpu_self, 3), "cpu_children_s": round(cpu_children, 3),
        "utilisation": round((cpu_self + cpu_children) / wall, 3),
        "fetched": summary["fetched"], "ok": summary["ok"], "urls_tried": summary["urls_tried"],
        "errors": sum(1 for r in log if r["status"] is not None and r["error"]),
        "not_fetched": sum(1 for r in log if r["status"] is None),
        "retried": sum(1 for r in log if (r["attempts"] or 0) > 1),
        "fetched_by_depth": {str(k): v for k, v in sorted(depths.items())},
        "pages_per_s": round(summary["fetched"] / wall, 2),
        "warc_files": len(summary["warc_files"]),
        "warc_bytes": sum(os.path.getsize(os.path.join(warc_dir, f)) for f in os.listdir(warc_dir)),
        "maxrss_self_mb": round(self1.ru_maxrss / 1024, 1),
        "maxrss_largest_child_mb": round(child1.ru_maxrss / 1024, 1),
        "peak_tree_rss_mb": round(sampler.peak_tree_rss / 2**20, 1),
        "python_heap_peak_mb": round(heap_peak / 2**20, 1) if heap_peak is not None else None,
        "peak_processes": sampler.peak_processes, "peak_threads": sampler.peak_threads,
        "busy": busy_windows(sampler.timeline),
        "timeline": sampler.timeline[::5],  # (s, tree RSS MB, tree CPU s) every 0.5 s
    }
    with open(spec["result"], "w") as f:
        json.dump(result, f)
    return 0


# ---------------------------------------------------------------------------------------------
# Orchestration


def _machine_busy_s() -> float:
    return machine_busy_s()


def _own_cpu_s() -> float:
    """This process's CPU and that of its waited-for children (the site and the crawl process)."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def measure(name: str, setting: str, ips: list[str], pages_per_host: int, latency: float = 0.0,
            trace_heap: bool = False) -> dict:
    os.makedirs(WORK, exist_ok=True)
    busy0, own0, t_site = _machine_busy_s(), _own_cpu_s(), time.perf_counter()
    with Site(ips, pages_per_host, latency) as site:
        spec = {"setting": setting, "beam_args": SETTINGS[setting], "ips": ips, "seeds": site.seeds(),
                "pages_per_host": pages_per_host, "max_pages": len(ips) * pages_per_host,
                "trace_heap": trace_heap,
                "out_dir": os.path.join(WORK, name), "result": os.path.join(WORK, f"{name}.result.json")}
        spec_path = os.path.join(WORK, f"{name}.spec.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", spec_path], cwd=ROOT,
                              env=env, capture_output=True, text=True)
        process_wall = time.perf_counter() - t0
    site.process.join(10)
    # CPU used on this machine by anything but the benchmark while it ran (another job would skew it)
    other_cpu = max(0.0, (_machine_busy_s() - busy0) - (_own_cpu_s() - own0))
    site_wall = time.perf_counter() - t_site
    if proc.returncode:
        sys.stderr.write(proc.stderr[-5000:])
        raise SystemExit(f"crawl {name} failed (exit {proc.returncode})")
    with open(spec["result"]) as f:
        result = json.load(f)
    result.update(name=name, latency_ms=latency * 1000, process_wall_s=round(process_wall, 2),
                  server_cpu_s=round(site.stats["cpu_s"], 2),
                  server_utilisation=round(site.stats["cpu_s"] / result["wall_s"], 2),
                  server_requests=site.stats["counts"], site_html_bytes=site.html_bytes,
                  other_cpu_s=round(other_cpu, 2), other_load=round(other_cpu / site_wall, 2))
    print(f"  {name:<26} {result['fetched']:>6} pages {result['wall_s']:>7.1f} s wall "
          f"{result['cpu_s']:>7.1f} s CPU  util {result['utilisation']:.2f}  "
          f"{result['pages_per_s']:>7.1f} pages/s  peak RSS {result['peak_tree_rss_mb']:.0f} MB  "
          f"(server {result['server_cpu_s']:.1f} CPU s; other load {result['other_load']:.2f})", flush=True)
    return result


def best_of(name: str, setting: str, ips: list[str], pages_per_host: int, repeats: int) -> dict:
    """`repeats` runs of one measurement; the fastest is kept, all rates are listed with it."""
    results = [measure(name if repeats == 1 else f"{name}-r{i + 1}", setting, ips, pages_per_host)
               for i in range(repeats)]
    best = max(results, key=lambda r: r["pages_per_s"])
    return dict(best, name=name, repeats_pages_per_s=[r["pages_per_s"] for r in results],
                repeats_wall_s=[r["wall_s"] for r in results],
                repeats_peak_tree_rss_mb=[r["peak_tree_rss_mb"] for r in results])


HEADER = (f"{'run':<26} {'setting':<17} {'pages':>6} {'wall s':>7} {'CPU s':>7} {'util':>5} "
          f"{'pages/s':>8} {'vs (c)':>7} {'RSS MB':>7} {'maxrss':>7} {'srv CPU':>7} {'other':>5}")


def row(r: dict, baseline: dict | None) -> str:
    ratio = f"{r['pages_per_s'] / baseline['pages_per_s']:.2f}×" if baseline else ""
    return (f"{r['name']:<26} {r['setting']:<17} {r['fetched']:>6} {r['wall_s']:>7.1f} {r['cpu_s']:>7.1f} "
            f"{r['utilisation']:>5.2f} {r['pages_per_s']:>8.1f} {ratio:>7} {r['peak_tree_rss_mb']:>7.0f} "
            f"{r['maxrss_self_mb']:>7.0f} {r['server_cpu_s']:>7.1f} {r['other_load']:>5.2f}")


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("apache-beam", "urllib3", "resiliparse", "pyarrow"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description="Crawler pages/s against many local hosts, zero delay.")
    ap.add_argument("--quick", action="store_true", help="small sizes, ~1 min; JSON under benchmarks/work/")
    ap.add_argument("--hosts", type=int, default=50, help="virtual hosts 127.0.0.2 … (default 50)")
    ap.add_argument("--compare-pages-per-host", type=int, help="site size for the runner comparison (80)")
    ap.add_argument("--memory-pages-per-host", type=int, nargs="+", help="sizes for the memory runs (20 40 80 160)")
    ap.add_argument("--latency-ms", type=float, default=20.0, help="server latency for the overlap runs (20)")
    ap.add_argument("--latency-pages-per-host", type=int, help="site size for the overlap runs (10)")
    ap.add_argument("--repeats", type=int, help="runs of each comparison and fixed-cost measurement, "
                                                "fastest kept (2; 1 with --quick)")
    ap.add_argument("--skip-fixed", action="store_true", help="no 1-page-per-host runs")
    ap.add_argument("--skip-latency", action="store_true", help="no overlap runs")
    ap.add_argument("--json", help="where to write the figures")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker)

    defaults = {"compare": 10, "memory": [10, 20], "latency": 4, "repeats": 1} if args.quick else \
        {"compare": 80, "memory": [20, 40, 80, 160], "latency": 10, "repeats": 2}
    repeats = args.repeats or defaults["repeats"]
    compare = args.compare_pages_per_host or defaults["compare"]
    memory = args.memory_pages_per_host or defaults["memory"]
    latency_pages = args.latency_pages_per_host or defaults["latency"]
    if max([compare, latency_pages, *memory]) > 160:
        raise SystemExit("at most 160 pages per host (the crawl's depth of 4 reaches no more)")
    standard = not args.quick and not any(
        (args.compare_pages_per_host, args.memory_pages_per_host, args.latency_pages_per_host, args.repeats,
         args.skip_fixed, args.skip_latency, args.hosts != 50, args.latency_ms != 20.0))
    json_path = args.json or (RESULTS if standard else os.path.join(HERE, "work", "crawl_throughput-last.json"))
    ips = host_ips(args.hosts)
    started = datetime.now(timezone.utc)
    t_start = time.perf_counter()
    print(f"{args.hosts} hosts {ips[0]} … {ips[-1]}, delay 0, max depth {MAX_DEPTH}; "
          f"{os.cpu_count()} CPUs; polycorp {code_version()}", flush=True)

    runs: dict[str, dict] = {}
    print(f"\n1. runner settings, {compare} pages per host ({args.hosts * compare} pages) …")
    for setting in ("default", "in_memory", "multi_threading"):
        runs[f"compare-{setting}"] = best_of(f"compare-{setting}", setting, ips, compare, repeats)
    if not args.skip_fixed:
        print(f"   fixed cost: 1 page per host ({args.hosts} pages) …")
        for setting in ("default", "in_memory", "multi_threading"):
            runs[f"fixed-{setting}"] = best_of(f"fixed-{setting}", setting, ips, 1, repeats)

    print(f"\n2. memory, default setting, {', '.join(str(args.hosts * m) for m in memory)} pages …")
    memory_runs = []
    for m in memory:
        name = f"memory-{args.hosts * m}"
        runs[name] = runs["compare-default"] if m == compare else measure(name, "default", ips, m)
        memory_runs.append(name)

    heap_sizes = sorted({memory[0], memory[-1]})
    print(f"   Python heap (tracemalloc, in_memory: runner and worker in one process), "
          f"{', '.join(str(args.hosts * m) for m in heap_sizes)} pages …")
    heap_runs = []
    for m in heap_sizes:
        name = f"heap-{args.hosts * m}"
        runs[name] = measure(name, "in_memory", ips, m, trace_heap=True)
        heap_runs.append(name)

    if not args.skip_latency:
        latency = args.latency_ms / 1000
        print(f"\n3. overlap of network waits: server latency {args.latency_ms:g} ms, "
              f"{args.hosts * latency_pages} pages …")
        for setting in ("default", "multi_threading"):
            runs[f"latency-{setting}"] = measure(f"latency-{setting}", setting, ips, latency_pages, latency)

    total_s = time.perf_counter() - t_start
    base = runs["compare-multi_threading"]
    print(f"\n{HEADER}")
    for name, r in runs.items():
        if name.startswith("memory-") and r["name"] != name:
            continue
        print(row(r, base if name.startswith("compare-") else None))
    print("  util = (crawler CPU s, its processes and waited-for children) / wall s; RSS MB = peak RSS of the "
          "crawler's process tree (sampled); maxrss = ru_maxrss of the crawler process; srv CPU = the site's "
          "process (not in CPU s); other = cores busy with anything else on the machine meanwhile "
          "(should be ~0)")

    print("\nrunner settings (pages/s, ratio vs (c)):")
    comparison = {}
    for setting in ("default", "in_memory", "multi_threading"):
        r = runs[f"compare-{setting}"]
        comparison[setting] = {"pages_per_s": r["pages_per_s"], "ratio_vs_c": round(
            r["pages_per_s"] / base["pages_per_s"], 2), "utilisation": r["utilisation"]}
        fixed = runs.get(f"fixed-{setting}")
        if fixed:
            net = r["wall_s"] - fixed["wall_s"]
            comparison[setting].update(fixed_wall_s=fixed["wall_s"], fixed_cpu_s=fixed["cpu_s"],
                                       net_pages_per_s=round((r["fetched"] - fixed["fetched"]) / net, 1)
                                       if net > 0 else None)
        extra = (f"; fixed cost {fixed['wall_s']:.1f} s wall / {fixed['cpu_s']:.1f} CPU s, net of it "
                 f"{comparison[setting]['net_pages_per_s']} pages/s") if fixed else ""
        print(f"  {SETTING_LABELS[setting]:<42} {r['pages_per_s']:>7.1f} pages/s  "
              f"{comparison[setting]['ratio_vs_c']:.2f}× (c)  util {r['utilisation']:.2f}{extra}")

    print("\nmemory (default setting):")
    for name in memory_runs:
        r = runs[name]
        print(f"  {r['site_pages']:>6} pages: peak tree RSS {r['peak_tree_rss_mb']:>6.0f} MB, runner "
              f"{r['maxrss_self_mb']:>6.0f} MB, largest worker {r['maxrss_largest_child_mb']:>6.0f} MB, "
              f"{r['pages_per_s']:.1f} pages/s")
    first, last = runs[memory_runs[0]], runs[memory_runs[-1]]
    growth = {
        "pages": [runs[n]["site_pages"] for n in memory_runs],
        "peak_tree_rss_mb": [runs[n]["peak_tree_rss_mb"] for n in memory_runs],
        "maxrss_self_mb": [runs[n]["maxrss_self_mb"] for n in memory_runs],
        "maxrss_largest_child_mb": [runs[n]["maxrss_largest_child_mb"] for n in memory_runs],
    }
    if last["site_pages"] > first["site_pages"]:
        # least-squares lines through the points: the whole tree, the runner process (it holds the
        # PCollections between stages: on a cluster that is the shuffle service), the largest worker
        for key, what, suffix in (("peak_tree_rss_mb", "process tree", ""),
                                  ("maxrss_self_mb", "runner process", "_runner"),
                                  ("maxrss_largest_child_mb", "largest worker", "_worker")):
            xs, ys = growth["pages"], growth[key]
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
            growth[f"mb_per_1000_pages{suffix}"] = round(slope * 1000, 1)
            growth[f"intercept_mb{suffix}"] = round(my - slope * mx, 1)
            growth[f"ratio_last_to_first{suffix}"] = round(ys[-1] / ys[0], 2) if ys[0] else None
            print(f"  {what:<15} {growth[f'mb_per_1000_pages{suffix}']:>5} MB per 1,000 pages (least squares; "
                  f"{growth[f'intercept_mb{suffix}']:.0f} MB at 0 pages); {first['site_pages']} → "
                  f"{last['site_pages']} pages: {growth[f'ratio_last_to_first{suffix}']}×")

    if len(heap_runs) == 2:
        small, big = runs[heap_runs[0]], runs[heap_runs[1]]
        per_1000 = (big["python_heap_peak_mb"] - small["python_heap_peak_mb"]) / (
            (big["site_pages"] - small["site_pages"]) / 1000)
        growth["python_heap"] = {"pages": [small["site_pages"], big["site_pages"]],
                                 "peak_mb": [small["python_heap_peak_mb"], big["python_heap_peak_mb"]],
                                 "rss_mb": [small["maxrss_self_mb"], big["maxrss_self_mb"]],
                                 "mb_per_1000_pages": round(per_1000, 2)}
        print(f"  Python heap peak (in_memory, tracemalloc): {small['python_heap_peak_mb']} MB at "
              f"{small['site_pages']} pages, {big['python_heap_peak_mb']} MB at {big['site_pages']} pages: "
              f"{per_1000:.2f} MB per 1,000 pages (ru_maxrss {small['maxrss_self_mb']:.0f} → "
              f"{big['maxrss_self_mb']:.0f} MB: the rest is allocator slack, not data held)")

    overlap = None
    if not args.skip_latency:
        latency = args.latency_ms / 1000
        overlap = {}
        print(f"\noverlap (server latency {args.latency_ms:g} ms; one sequential fetcher's best is "
              f"{1 / latency:.0f} pages/s):")
        for setting, workers in (("default", 16 * min(os.cpu_count() or 1, 16)), ("multi_threading", 64)):
            r = runs[f"latency-{setting}"]
            fixed = runs.get(f"fixed-{setting}")
            net = r["wall_s"] - (fixed["wall_s"] if fixed else 0)
            requests = r["server_requests"]["pages"] + r["server_requests"]["robots"]
            wait = requests * latency
            overlap[setting] = {"pages_per_s": r["pages_per_s"], "requests": requests,
                                "server_wait_s": round(wait, 1), "wall_s": r["wall_s"],
                                "concurrency": round(wait / net, 2) if net > 0 else None,
                                "best_concurrency": workers}
            print(f"  {SETTING_LABELS[setting]:<42} {r['pages_per_s']:>7.1f} pages/s; {requests} requests × "
                  f"{args.latency_ms:g} ms = {wait:.1f} s of waiting in {net:.1f} s (wall net of the fixed "
                  f"cost): {overlap[setting]['concurrency']} requests in flight on average (at most {workers})")

    print(f"\ntotal {total_s:.0f} s")
    report = {
        "date": started.isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "code": code_version(), "versions": versions(), "quick": args.quick,
        "site": {"hosts": args.hosts, "addresses": f"{ips[0]} … {ips[-1]}", "links_per_page": LINKS_PER_PAGE,
                 "max_depth": MAX_DEPTH, "delay": 0.0, "texts": "sample/gold.jsonl.gz (cycled)"},
        "settings": SETTINGS, "runs": runs, "comparison": comparison, "memory": growth, "overlap": overlap,
        "total_s": round(total_s, 1),
    }
    os.makedirs(os.path.dirname(json_path), exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(report, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {os.path.relpath(json_path, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
