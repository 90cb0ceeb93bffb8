"""The data card: report.html with its plots and the audit pack, written by every build, rendered
by headless Chromium (a screenshot goes to test-artifacts/)."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pyarrow.dataset as ds

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "Chromium is missing: `make test` installs Debian's chromium package"
    return subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


def test_every_build_writes_a_report_with_plots_and_audit_pages(sample_build):
    report = (sample_build / "report.html").read_text()
    stats = json.loads((sample_build / "stats.json").read_text())
    manifest = json.loads((sample_build / "manifest.json").read_text())
    langs = {s["lang"] for s in manifest["shards"] if s["kind"] == "docs" and s["rows"]}
    for name in ("languages", "funnel", "distributions", "bitext", "hosts"):
        png = sample_build / "plots" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f'src="plots/{name}.png"' in report
    assert f"<b>{stats['input_records']:,}</b> input records" in report and f"<b>{stats['kept']:,}</b> kept" in report
    docs = ds.dataset(sample_build / "docs", format="parquet", partitioning="hive").to_table(
        columns=["id", "url", "lang", "text"]).to_pylist()
    for lang in langs:
        page = (sample_build / "audit" / f"{lang}.html").read_text()
        assert f'href="audit/{lang}.html"' in report
        # the sampled documents are real kept documents of that language, shown with their URL
        urls = set(re.findall(r"<div class='meta'>([^ <]+) · language score", page))
        by_url = {d["url"]: d for d in docs}
        assert len(urls) == min(20, sum(d["lang"] == lang for d in docs))
        assert all(by_url[html.unescape(u)]["lang"] == lang for u in urls)
    # filtered documents appear with their reason on their language's page
    filtered = [r for r in stats["filtered"]]
    pages = "".join((sample_build / "audit" / f"{lang}.html").read_text() for lang in langs)
    assert any(f"<b>{reason}</b>" in pages for reason in filtered)


def test_report_renders_in_headless_chromium_with_its_images(sample_build, tmp_path):
    page = (sample_build / "report.html").as_uri()
    dom = chromium("--virtual-time-budget=10000", "--dump-dom", page, profile=tmp_path / "p1")
    assert 'data-images="ok"' in dom.stdout, dom.stderr[-2000:]  # set by the page once every <img> loaded
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    chromium("--window-size=1200,2400", f"--screenshot={shot}", page, profile=tmp_path / "p2")
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (2400, 1200) and pixels.std() > 0.05  # not a blank page
    audit = chromium("--virtual-time-budget=5000", "--dump-dom", (sample_build / "audit" / "ja.html").as_uri(),
                     profile=tmp_path / "p3")
    assert "<h1>audit: ja</h1>" in audit.stdout


def test_report_command_rewrites_the_report(sample_build, tmp_path):
    from tests.helpers import polycorp

    copy = tmp_path / "build"
    shutil.copytree(sample_build, copy)
    (copy / "report.html").unlink()
    shutil.rmtree(copy / "plots")
    out = polycorp("report", copy).stdout
    assert "report.html" in out and (copy / "report.html").exists() and (copy / "plots" / "funnel.png").exists()
