"""Shared fixtures: real text from the bundled sample, and a writer for small test WARC files."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
import torch
from filelock import FileLock

from pipelines.sample import SAMPLE_GOLD, SAMPLE_WARC
from tests.helpers import WarcBuilder, polycorp
from transforms.config import load_config


def _share_cores() -> None:
    """Under pytest-xdist each worker gets its share of the cores for torch (here and, through
    OMP_NUM_THREADS, in the processes tests start): two workers each running 2 intra-op threads on
    2 cores made training steps 3.5× slower (OpenMP threads spin-wait on each other)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        threads = max(1, (os.cpu_count() or 1) // workers)
        os.environ["OMP_NUM_THREADS"] = str(threads)
        torch.set_num_threads(threads)


_share_cores()

# Modules whose tests share module fixtures too costly to compute on every xdist worker
# (test_loop's `runs`: 2 × 100 training steps). Its tests go to one worker; every other test is
# scheduled on its own, as with `--dist load`. (xdist_group marks would say this, but pytest 9.2
# no longer lets xdist 3.8 tag node ids with their group, so `--dist loadgroup` does not group.)
ONE_WORKER_MODULES = ("tests/training/test_loop.py",)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class Scheduler(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in ONE_WORKER_MODULES else nodeid

    return Scheduler(config, log)


@pytest.fixture(scope="session")
def config():
    return load_config()


@pytest.fixture(scope="session")
def gold() -> list[dict]:
    """The sample's pages: url, lang, title, text (the man page's main text), duplicate_of."""
    with gzip.open(SAMPLE_GOLD, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="session")
def texts(gold) -> dict[str, str]:
    """One real main text per language of the sample (the longest original page)."""
    best: dict[str, str] = {}
    for page in gold:
        if page.get("duplicate_of"):
            continue
        if len(page["text"]) > len(best.get(page["lang"], "")):
            best[page["lang"]] = page["text"]
    return best


@pytest.fixture(scope="session")
def sample_warc() -> Path:
    return SAMPLE_WARC


@pytest.fixture
def warc_builder(tmp_path):
    def make(name: str = "test.warc.gz", gzip_records: bool = True) -> WarcBuilder:
        return WarcBuilder(tmp_path / name, gzip_records)
    return make


@pytest.fixture(scope="session")
def no_bitext(tmp_path_factory) -> Path:
    """A config without the bitext stage, for tests of what happens before it (staging, resume,
    overwrite, bad input): bitext is ~85% of a sample build's time and has its own tests (incl.
    the byte-identical rebuild)."""
    path = tmp_path_factory.mktemp("config") / "no-bitext.toml"
    path.write_text("[bitext]\nenabled = false\n")
    return path


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory, sample_warc) -> Path:
    """The bundled sample built once per test session (read-only: copy it to change it). Under
    pytest-xdist the workers share one build: the first to need it builds it, under a lock."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out = root / "sample-build" / "corpus"
    with FileLock(str(root / "sample-build.lock")):
        if not (out / "manifest.json").exists():
            polycorp("build", sample_warc, "--out", out)
    return out
