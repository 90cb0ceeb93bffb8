"""Live progress: ticks from any process reach the reporter, which draws one line (in place on a
terminal, a line at a time in logs) and a final one; --quiet draws nothing."""

from __future__ import annotations

import io
import multiprocessing
import os
from collections import Counter

from tests.helpers import polycorp
from transforms.progress import ENV, ProgressReporter, build_line, crawl_line, flush, tick, totals


def _worker_ticks(n: int) -> None:
    for _ in range(n):
        tick("records")
    tick("rejected", 2)
    flush()  # what a stage does at the end of a bundle


def test_ticks_of_worker_processes_and_this_one_are_summed():
    stream = io.StringIO()
    with ProgressReporter(lambda c, e: f"records={c['records']} rejected={c['rejected']}", stream=stream,
                          log_every=3600) as reporter:
        tick("records", 5)
        proc = multiprocessing.get_context("fork").Process(target=_worker_ticks, args=(7,))
        proc.start()
        proc.join()
        assert totals(reporter.dir) == Counter(records=12, rejected=2)
    assert stream.getvalue().splitlines()[-1] == "records=12 rejected=2"  # the final line
    assert ENV not in os.environ and not os.path.exists(reporter.dir)
    tick("records")  # nobody listening: dropped, no error


def test_lines_say_done_rate_errors_and_eta():
    line = build_line(Counter(records=500, read_bytes=2**20, rejected=3, shards_written=4), 10.0, 4 * 2**20)
    assert line.startswith("build: 500 records read (1.0 of 4.0 MiB, 25%)") and "50 rec/s" in line
    assert "3 errors" in line and "ETA 0m30s" in line and "4 shards written" in line
    assert "ETA" not in build_line(Counter(records=9, read_bytes=4 * 2**20), 2.0, 4 * 2**20)  # done
    line = crawl_line(Counter(pages=30, fetched=28, errors=2), 10.0, 1000)
    assert line == "crawl: 30 URLs requested (limit 1,000), 28 fetched, 2 errors, 3.0 pages/s, 0m10s elapsed"


def test_build_shows_progress_unless_quiet(warc_builder, texts, tmp_path):
    from tests.helpers import html_page

    w = warc_builder()
    for lang in ("de", "fr"):
        w.response(f"https://p.example.org/{lang}", html_page(lang, texts[lang], lang).encode())
    w.close()
    cfg = tmp_path / "c.toml"
    cfg.write_text("[bitext]\nenabled = false\n")
    loud = polycorp("build", w.path, "--out", tmp_path / "a", "--config", cfg)
    progress = [line for line in loud.stderr.splitlines() if line.startswith("build: ")]
    assert progress and "records read" in progress[-1] and "100%" in progress[-1] and "0 errors" in progress[-1]
    quiet = polycorp("build", w.path, "--out", tmp_path / "b", "--config", cfg, "--quiet")
    assert "build: " not in quiet.stderr and quiet.stdout == ""


QUIET_SCRIPT = r"""
import logging, subprocess, sys
from transforms.progress import quiet_worker_stderr
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
child = ("import sys; sys.stderr.write('INFO:apache_beam.runners.worker.sdk_worker:No more requests\\n'"
         "'WARNING:__main__:No semi_persistent_directory found\\nWARNING:transforms.read: ours\\n'"
         "'ERROR:worker: a real failure\\nterminate called without an active exception\\n'"
         "'Traceback (most recent call last):\\n')")
with quiet_worker_stderr():
    subprocess.run([sys.executable, "-c", child], check=True)
    sys.stderr.write("\rprogress 1")
    logging.getLogger("polycorp").warning("our warning")
print("after", file=sys.stderr)
"""


def test_worker_info_lines_are_dropped_and_everything_else_kept():
    import subprocess
    import sys

    env = {**os.environ, "POLYCORP_BEAM_LOGS": "0"}
    result = subprocess.run([sys.executable, "-c", QUIET_SCRIPT], capture_output=True, text=True, env=env, check=True)
    err = result.stderr
    assert "INFO:" not in err and "terminate called" not in err and "semi_persistent" not in err
    for kept in ("ERROR:worker: a real failure\n", "WARNING:transforms.read: ours\n",
                 "Traceback (most recent call last):", "progress 1",
                 "WARNING polycorp: our warning", "after\n"):
        assert kept in err
    env["POLYCORP_BEAM_LOGS"] = "1"
    loud = subprocess.run([sys.executable, "-c", QUIET_SCRIPT], capture_output=True, text=True, env=env, check=True)
    assert "INFO:apache_beam.runners.worker.sdk_worker:No more requests" in loud.stderr


def test_the_filter_is_for_runs_with_worker_processes_only():
    from transforms.progress import spawns_workers

    assert spawns_workers(["--direct_running_mode=multi_processing", "--direct_num_workers=2"])
    assert spawns_workers(["--direct_running_mode", "multi_processing"])
    assert not spawns_workers([]) and not spawns_workers(["--direct_running_mode=in_memory"])
    assert not spawns_workers(["--direct_running_mode=multi_processing", "--direct_running_mode=in_memory"])
