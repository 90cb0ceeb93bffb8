"""Helpers for tests: HTML pages around real text, and small WARC files written with warcio."""

from __future__ import annotations

import glob
import gzip
import io
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

WARC_DATE = "2024-01-15T10:00:00Z"


def html_page(title: str, text: str, lang: str = "", charset: str | None = "utf-8") -> str:
    """A small HTML page around real text: a nav bar, the paragraphs in <main>, a footer."""
    meta = f'<meta charset="{charset}">' if charset else ""
    paragraphs = "\n".join(f"<p>{p}</p>" for p in text.split("\n") if p.strip())
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head>{meta}<title>{title}</title></head><body>'
        f'<nav><a href="/">Home</a> <a href="/about">About</a></nav>'
        f"<main><h1>{title}</h1>\n{paragraphs}</main><footer>Example site</footer></body></html>"
    )


class WarcBuilder:
    """Writes WARC records (warcio) to a file: responses, requests, WET conversions, raw bytes."""

    def __init__(self, path: Path, gzip_records: bool = True):
        self.path = path
        self.file = open(path, "wb")
        self.writer = WARCWriter(self.file, gzip=gzip_records, warc_version="WARC/1.1")

    def response(self, url: str, body: bytes, content_type: str = "text/html; charset=utf-8",
                 status: str = "200 OK", extra_headers: list | None = None, date: str = WARC_DATE):
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        http = StatusAndHeaders(status, headers + (extra_headers or []), protocol="HTTP/1.1")
        record = self.writer.create_warc_record(
            url, "response", payload=io.BytesIO(body), http_headers=http,
            warc_headers_dict={"WARC-Date": date},
        )
        self.writer.write_record(record)

    def request(self, url: str):
        http = StatusAndHeaders("GET / HTTP/1.1", [("Host", "example.org")], is_http_request=True)
        record = self.writer.create_warc_record(url, "request", payload=io.BytesIO(b""), http_headers=http)
        self.writer.write_record(record)

    def conversion(self, url: str, text: str):
        record = self.writer.create_warc_record(
            url, "conversion", payload=io.BytesIO(text.encode()),
            warc_content_type="text/plain", warc_headers_dict={"WARC-Date": WARC_DATE},
        )
        self.writer.write_record(record)

    def raw(self, data: bytes, gzip_member: bool = True):
        self.file.write(gzip.compress(data, mtime=0) if gzip_member else data)

    def close(self) -> Path:
        self.file.close()
        return self.path


def local_pipeline():
    """A Beam TestPipeline on the in-process portable runner (DirectRunner would try a download)."""
    from apache_beam.testing.test_pipeline import TestPipeline

    return TestPipeline(runner="FnApiRunner")


def polycorp(*args, check=True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", *map(str, args)],
                            capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"polycorp {args} failed:\n{result.stderr}")
    return result


def parquet_files(build: Path) -> dict[str, bytes]:
    return {
        os.path.relpath(p, build): Path(p).read_bytes()
        for p in sorted(glob.glob(str(build / "**" / "*.parquet"), recursive=True))
    }


def flip_middle_byte(path: Path) -> Path:
    """Corrupt a file in place (its middle byte inverted); returns it."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def read_kind(build: Path, kind: str) -> pa.Table:
    files = sorted(glob.glob(str(build / kind / "**" / "*.parquet"), recursive=True))
    return pa.concat_tables([pq.read_table(f) for f in files]) if files else None
