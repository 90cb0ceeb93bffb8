"""Live progress of a run on the local runners: stages tick named counters, the command line shows them.

Beam's metrics reach the driver only when a pipeline ends on the local runners, so stages also tick
a side channel: each process adds to in-memory counters and, at most every `FLUSH_SECONDS`, writes
its totals to `<dir>/<pid>.json` (atomically). The command line's `ProgressReporter` sums the files
(and its own process's counters: the in-memory runner runs the stages in it) and redraws one line.
The directory comes from the environment (`POLYCORP_PROGRESS_DIR`, set by the reporter and
inherited by worker processes); without it a tick is one dictionary lookup and nothing more — a
cluster runner has its own monitoring UI.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager

ENV = "POLYCORP_PROGRESS_DIR"
FLUSH_SECONDS = 0.5

_lock = threading.Lock()
_counts: Counter = Counter()
_owner = os.getpid()  # a forked child starts from zero, not from its parent's counters
_last_flush = 0.0


def tick(name: str, n: int = 1) -> None:
    """Add n to counter `name` of this process (a no-op unless a reporter is listening)."""
    directory = os.environ.get(ENV)
    if not directory or not n:
        return
    global _last_flush, _owner
    with _lock:
        if os.getpid() != _owner:
            _counts.clear()
            _owner = os.getpid()
        _counts[name] += n
        now = time.monotonic()
        if now - _last_flush >= FLUSH_SECONDS:
            _last_flush = now
            _flush(directory)


def flush() -> None:
    """Write this process's counters now (stages call it at the end of a bundle, so the last ticks
    of a worker are not left unwritten)."""
    directory = os.environ.get(ENV)
    if directory:
        with _lock:
            _flush(directory)


def _flush(directory: str) -> None:
    path = os.path.join(directory, f"{os.getpid()}.json")
    try:
        with open(path + ".part", "w") as f:
            json.dump(_counts, f)
        os.replace(path + ".part", path)
    except OSError:  # the reporter has finished and removed its directory
        pass


def totals(directory: str) -> Counter:
    """The counters of every process that ticked, this one's from memory."""
    out = Counter()
    me = f"{os.getpid()}.json"
    for name in os.listdir(directory):
        if name.endswith(".json") and name != me:
            try:
                with open(os.path.join(directory, name)) as f:
                    out.update(json.load(f))
            except (OSError, ValueError):
                continue
    with _lock:
        out.update(_counts)
    return out


def duration(seconds: float) -> str:
    """2m05s, or 1h03m from an hour on (progress lines, ETAs)."""
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def build_line(c: Counter, elapsed: float, total_bytes: int) -> str:
    """One line for a build: records read with rate, errors and (from bytes) an ETA; then the
    later stages' counters once they move."""
    done = min(c["read_bytes"], total_bytes) if total_bytes else 0
    parts = [f"{c['records']:,} records read"]
    if total_bytes:
        parts[0] += f" ({done / 2**20:,.1f} of {total_bytes / 2**20:,.1f} MiB, {100 * done / total_bytes:.0f}%)"
    if elapsed > 0:
        parts.append(f"{c['records'] / elapsed:,.0f} rec/s")
    parts.append(f"{c['rejected']:,} errors")
    if total_bytes and 0 < done < total_bytes:
        parts.append(f"ETA {duration(elapsed * (total_bytes - done) / done)}")
    later = [f"{c[k]:,} {label}" for k, label in (("document_pairs_aligned", "document pairs aligned"),
                                                   ("shards_written", "shards written")) if c[k]]
    return "build: " + ", ".join(parts) + ("  · " + ", ".join(later) if later else "")


def crawl_line(c: Counter, elapsed: float, max_pages: int) -> str:
    rate = f", {c['pages'] / elapsed:,.1f} pages/s" if elapsed > 0 else ""
    return (f"crawl: {c['pages']:,} URLs requested (limit {max_pages:,}), {c['fetched']:,} fetched, "
            f"{c['errors']:,} errors{rate}, {duration(elapsed)} elapsed")


class ProgressReporter:
    """While open, redraws `line(counters, elapsed)` on stderr: in place on a terminal, as a new
    line every `log_every` seconds otherwise (logs of scheduled jobs). Disabled: does nothing."""

    def __init__(self, line, enabled: bool = True, stream=None, interval: float = 1.0, log_every: float = 30.0):
        self.line, self.enabled = line, enabled
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.interval = interval if self.tty else log_every
        self.stop = threading.Event()

    def __enter__(self):
        if not self.enabled:
            return self
        self.dir = tempfile.mkdtemp(prefix="polycorp-progress-")
        self.previous = os.environ.get(ENV)
        os.environ[ENV] = self.dir
        with _lock:
            _counts.clear()
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _show(self, final: bool = False) -> None:
        text = self.line(totals(self.dir), time.monotonic() - self.started)
        if self.tty:
            self.stream.write("\r\033[K" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            self._show()

    def __exit__(self, *exc):
        if not self.enabled:
            return False
        self.stop.set()
        self.thread.join()
        self._show(final=True)
        if self.previous is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = self.previous
        shutil.rmtree(self.dir, ignore_errors=True)
        return False


# What Beam's local worker processes print to the stderr they inherit before they know the
# pipeline's log level (start-up and shut-down INFO lines, Beam's warnings — dropped in this process
# too —, gRPC's exit message); errors, and warnings of our own loggers, pass.
WORKER_NOISE = re.compile(rb"^(INFO|DEBUG):|^WARNING:(__main__|root|apache_beam[\w.]*):"
                          rb"|^terminate called without an active exception")


def spawns_workers(beam_args: list[str]) -> bool:
    """Whether these Beam options (the last one wins) make the local runner start worker processes
    (`--direct_running_mode=multi_processing`): the only case the filter below is for."""
    mode = None
    for i, arg in enumerate(beam_args):
        if arg.startswith("--direct_running_mode="):
            mode = arg.split("=", 1)[1]
        elif arg == "--direct_running_mode" and i + 1 < len(beam_args):
            mode = beam_args[i + 1]
    return mode == "multi_processing"


@contextmanager
def quiet_worker_stderr(enabled: bool = True):
    """While open, lines that child processes write to stderr pass a filter that drops
    `WORKER_NOISE`; this process's own writes (sys.stderr, logging) go through unchanged, so
    the progress line still redraws in place. POLYCORP_BEAM_LOGS=1 turns the filter off."""
    if not enabled or os.environ.get("POLYCORP_BEAM_LOGS") == "1" or sys.stderr is None:
        yield
        return
    sys.stderr.flush()
    try:
        terminal = os.dup(2)
    except OSError:  # no stderr to filter (a daemon)
        yield
        return
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)  # what children inherit
    os.close(write_end)
    ours = sys.stderr
    sys.stderr = open(os.dup(terminal), "w", buffering=1, encoding=getattr(ours, "encoding", None) or "utf-8",
                      errors="backslashreplace")
    for handler in logging.getLogger().handlers:  # logging handlers hold the stream they began with
        if getattr(handler, "stream", None) is ours:
            handler.setStream(sys.stderr)
    forward = threading.Thread(target=_forward, args=(read_end, os.dup(terminal)), daemon=True)
    forward.start()
    try:
        yield
    finally:
        for handler in logging.getLogger().handlers:
            if getattr(handler, "stream", None) is sys.stderr:
                handler.setStream(ours)
        sys.stderr.close()
        sys.stderr = ours
        os.dup2(terminal, 2)  # the pipe ends once the last child holding it exits
        os.close(terminal)
        forward.join(timeout=5)


def _forward(read_fd: int, out_fd: int) -> None:
    """Copy the pipe to `out_fd` without noise lines until every writer has closed it. The pipe is
    drained to the end even when `out_fd` fails (a closed reader, a full disk), so no child blocks
    on a full pipe."""
    pending, failed = b"", False

    def write(data: bytes) -> None:
        nonlocal failed
        if data and not failed:
            try:
                os.write(out_fd, data)
            except OSError:
                failed = True

    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        while chunk := pipe.read(1 << 16):
            *lines, pending = (pending + chunk).split(b"\n")
            write(b"".join(line + b"\n" for line in lines if not WORKER_NOISE.match(line)))
    if not WORKER_NOISE.match(pending):
        write(pending)
    os.close(out_fd)
