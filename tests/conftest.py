"""Shared fixtures: real text from the bundled sample, and a writer for small test WARC files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from pipelines.sample import SAMPLE_GOLD, SAMPLE_WARC
from tests.helpers import WarcBuilder, polycorp
from transforms.config import load_config


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
    out = tmp_path_factory.mktemp("sample") / "corpus"
    polycorp("build", sample_warc, "--out", out)
    return out
