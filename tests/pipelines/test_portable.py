"""The same build graph through Beam's portable path: PortableRunner against Beam's own local job
service (a separate process), with SDK workers in separate processes, gives identical shards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import parquet_files, polycorp


@pytest.fixture
def job_service(tmp_path):
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main",
         "--port=0", f"--port_file={port_file}"],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not (port_file.exists() and port_file.read_text().strip()) and time.monotonic() < deadline:
        assert proc.poll() is None, "job service exited"
        time.sleep(0.05)
    yield f"localhost:{port_file.read_text().strip()}"
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def test_portable_runner_with_separate_workers_gives_identical_shards(job_service, sample_build, sample_warc, tmp_path):
    out = tmp_path / "portable"
    polycorp(
        "build", sample_warc, "--out", out, "--cache", tmp_path / "cache",
        "--runner=PortableRunner", f"--job_endpoint={job_service}",
        "--environment_type=beam:env:harness_subprocess_python:v1",
        f"--environment_config={sys.executable} -m apache_beam.runners.worker.sdk_worker_main",
        "--experiments=disable_logging_submission_environment",
        timeout=300,
    )
    assert parquet_files(out) == parquet_files(sample_build)
    assert (out / "stats.json").read_text() == (sample_build / "stats.json").read_text()
