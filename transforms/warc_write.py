"""Writing fetches as WARC/1.1 (warcio): warcinfo, then request + response per fetch.

Files are gzip per record, rolled at `max_file_bytes`, and written under a temporary name that is
renamed when the file is closed: a WARC file with its final name is always complete and valid. A
directory on an object store (gs://, s3://) gets each file whole when it is closed: it is written to
a local temporary file first and then uploaded through Beam's FileSystems.
Bodies are stored decoded, as Common Crawl does: the original `Content-Encoding` and
`Transfer-Encoding` headers are kept as `X-Crawler-Content-Encoding` / `X-Crawler-Transfer-Encoding`
and `Content-Length` is the stored length; a body cut at the size limit has `WARC-Truncated: length`.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import uuid

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from transforms import fs
from transforms.fetch import FetchResult

_RENAMED = {"content-encoding": "X-Crawler-Content-Encoding",
            "transfer-encoding": "X-Crawler-Transfer-Encoding"}


def stored_headers(result: FetchResult) -> list[tuple[str, str]]:
    headers = []
    for name, value in result.headers:
        lower = name.lower()
        if lower == "content-length":
            continue
        headers.append((_RENAMED.get(lower, name), value))
    headers.append(("Content-Length", str(len(result.body))))
    return headers


class RollingWarcWriter:
    """Writes fetches to `<directory>/<prefix>-<n>.warc.gz`; `close()` must be called."""

    def __init__(self, directory: str, prefix: str, max_file_bytes: int, software: str):
        self.directory, self.prefix, self.max_file_bytes = directory, prefix, max_file_bytes
        self.software = software
        self.files: list[str] = []
        self._file = None
        if fs.is_local(directory):
            os.makedirs(directory, exist_ok=True)

    def _open(self) -> None:
        name = f"{self.prefix}-{len(self.files):05d}.warc.gz"
        self._final = fs.join(self.directory, name)
        if fs.is_local(self.directory):
            self._tmp = os.path.join(self.directory, f".{name}.tmp-{uuid.uuid4().hex[:8]}")
            self._file = open(self._tmp, "wb")
        else:
            self._file = tempfile.NamedTemporaryFile(prefix=f"polycorp-{name}.", delete=False)
            self._tmp = self._file.name
        self._writer = WARCWriter(self._file, gzip=True, warc_version="WARC/1.1")
        info = self._writer.create_warcinfo_record(name, {
            "software": self.software, "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        })
        self._writer.write_record(info)
        self.files.append(name)

    def write(self, result: FetchResult) -> str:
        """Write a fetch that got a response; returns the name of the file it went to."""
        if self._file is None:
            self._open()
        date = result.fetched_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        warc_headers = {"WARC-Date": date}
        if result.ip:
            warc_headers["WARC-IP-Address"] = result.ip
        parts = result.url.split("/", 3)
        path = "/" + (parts[3] if len(parts) > 3 else "")
        request = self._writer.create_warc_record(
            result.url, "request", payload=io.BytesIO(b""), warc_headers_dict=dict(warc_headers),
            http_headers=StatusAndHeaders(f"GET {path} HTTP/1.1", result.request_headers,
                                          is_http_request=True))
        if result.truncated:
            warc_headers["WARC-Truncated"] = result.truncated
        response = self._writer.create_warc_record(
            result.url, "response", payload=io.BytesIO(result.body), warc_headers_dict=warc_headers,
            http_headers=StatusAndHeaders(f"{result.status} {result.reason}".strip(),
                                          stored_headers(result), protocol="HTTP/1.1"))
        self._writer.write_request_response_pair(request, response)
        name = self.files[-1]
        if self._file.tell() >= self.max_file_bytes:
            self._close_file()
        return name

    def _close_file(self) -> None:
        self._file.close()
        self._file = None
        if fs.is_local(self.directory):
            os.replace(self._tmp, self._final)
            return
        try:
            with open(self._tmp, "rb") as f, fs.create(self._final) as out:
                shutil.copyfileobj(f, out, 1 << 20)
        finally:
            os.remove(self._tmp)

    def close(self) -> list[str]:
        if self._file is not None:
            self._close_file()
        return self.files
