"""Read WARC/WET files into `RawRecord`s, with a reject or filter row for everything else.

Parsing is done by FastWARC (streaming, gzip members, ~10× warcio). FastWARC is lenient in two ways
that would lose records silently, so this module checks what it returns:

- a truncated file yields a last record whose header block or payload is cut short: every record's
  payload length is compared with its declared `Content-Length`, and a short one is a reject;
- a malformed record header stops FastWARC's iterator: the error becomes a reject and reading
  resumes at the next record boundary (next gzip member, or next `WARC/1.` line).

Guarantees: every document-bearing record (response, resource, conversion) of a readable file yields
exactly one `RawRecord`, `Filtered` or `Reject`; other record types yield a `Skipped`; a file that
is not a WARC at all yields one `Reject`. Payloads above `max_payload_bytes` are never read.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import BinaryIO, Callable, Iterator

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from fastwarc.warc import ArchiveIterator

from transforms.config import ReadConfig
from transforms.progress import flush, tick
from transforms.records import Filtered, RawRecord, Reject, pickled_as_tuple, stable_hash

GZIP_MAGIC = b"\x1f\x8b\x08"
_SCAN_CHUNK = 1 << 20
_MAX_HTTP_HEADER = 1 << 16


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Skipped:
    """A WARC record that cannot hold a document (warcinfo, request, metadata, revisit)."""

    source: str
    warc_type: str


@dataclass(frozen=True, slots=True)
class InputFile:
    """One input file of a build and where its staging output goes."""

    path: str
    fingerprint: str
    staging_path: str


ReadResult = RawRecord | Filtered | Reject | Skipped


def input_size(path: str) -> int:
    """Bytes of a local or remote input file (0 if it cannot be sized)."""
    try:
        return FileSystems.match([path])[0].metadata_list[0].size_in_bytes
    except Exception:  # noqa: BLE001 — only for progress; the reader reports unreadable files
        return 0


def open_input(path: str) -> BinaryIO:
    """Open a local or remote (gs://, s3://, ...) file as raw bytes; gzip is left to the parser."""
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def sniff_warc(head: bytes) -> str | None:
    """None if `head` (the first bytes of a file) starts a WARC or a gzip member holding one,
    else a one-line reason why the file is not a WARC."""
    if not head:
        return "file is empty"
    if head.startswith(GZIP_MAGIC):
        try:
            inner = zlib.decompressobj(wbits=31).decompress(head, 16)
        except zlib.error as e:
            return f"gzip data is corrupt at the start of the file ({e})"
        if not inner.startswith(b"WARC/"):
            return "gzip file does not hold a WARC record (first bytes are not 'WARC/')"
        return None
    if head.startswith(b"WARC/"):
        return None
    return "not a WARC file: it starts neither with 'WARC/' nor with a gzip member"


def parse_warc_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def split_media_type(value: str | None) -> tuple[str | None, str | None]:
    """'text/html; charset=UTF-8' → ('text/html', 'UTF-8')."""
    if not value:
        return None, None
    parts = value.split(";")
    media = parts[0].strip().lower() or None
    charset = None
    for param in parts[1:]:
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip("\"'") or None
    return media, charset


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers keep the last value
    body: bytes


def parse_http_response(block: bytes) -> HttpResponse:
    """Split an HTTP/1.x response block into status, headers and body. Raises ValueError."""
    end = block.find(b"\r\n\r\n", 0, _MAX_HTTP_HEADER)
    sep = 4
    if end < 0:
        end, sep = block.find(b"\n\n", 0, _MAX_HTTP_HEADER), 2
    if end < 0:
        raise ValueError("no end of HTTP headers")
    lines = block[:end].decode("iso-8859-1").splitlines()
    status_line = lines[0].split(None, 2) if lines else []
    if len(status_line) < 2 or not status_line[0].startswith("HTTP/") or not status_line[1].isdigit():
        raise ValueError(f"bad HTTP status line {lines[0][:80]!r}" if lines else "empty HTTP header")
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return HttpResponse(int(status_line[1]), headers, block[end + sep :])


def decode_transfer(response: HttpResponse, max_bytes: int) -> bytes:
    """The body with chunked transfer and gzip/deflate content encoding undone (bounded).

    Common Crawl stores bodies already decoded (and renames the headers), but other crawlers keep
    them as sent. Raises ValueError for an encoding that cannot be undone within `max_bytes`."""
    body = response.body
    if "chunked" in response.headers.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    encoding = response.headers.get("content-encoding", "").lower().strip()
    if encoding in ("gzip", "x-gzip", "deflate") and body:
        wbits = 47 if encoding != "deflate" else 15  # 47: gzip or zlib header, auto-detected
        try:
            d = zlib.decompressobj(wbits=wbits)
            out = d.decompress(body, max_bytes + 1)
        except zlib.error:
            if body.lstrip()[:1] == b"<":  # header kept but body already decoded
                return body
            raise ValueError(f"body is not valid {encoding} data") from None
        if len(out) > max_bytes:
            raise ValueError(f"decoded body exceeds {max_bytes} bytes (decompression bomb?)")
        return out
    if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
        raise ValueError(f"unsupported content-encoding {encoding!r}")
    return body


def _dechunk(body: bytes) -> bytes:
    out, pos = bytearray(), 0
    while pos < len(body):
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            return body  # not actually chunked
        try:
            size = int(body[pos:eol].split(b";")[0], 16)
        except ValueError:
            return body
        if size == 0:
            break
        out += body[eol + 2 : eol + 2 + size]
        pos = eol + 2 + size + 2
    return bytes(out)


def _next_boundary(open_fn: Callable[[], BinaryIO], start: int, gzipped: bool) -> int | None:
    """Offset of the first record boundary at or after `start`, or None at end of file."""
    marker = GZIP_MAGIC if gzipped else b"\nWARC/1."
    skip = 0 if gzipped else 1
    with open_fn() as f:
        f.seek(start)
        pos, tail = start, b""
        while True:
            chunk = f.read(_SCAN_CHUNK)
            if not chunk:
                return None
            buf = tail + chunk
            hit = buf.find(marker)
            if hit >= 0:
                return pos - len(tail) + hit + skip
            tail = buf[-(len(marker) - 1) :]
            pos += len(chunk)


def read_warc(path: str, config: ReadConfig, open_fn: Callable[[], BinaryIO] | None = None) -> Iterator[ReadResult]:
    """Every record of the WARC/WET file at `path`, as a RawRecord, Filtered, Reject or Skipped."""
    open_fn = open_fn or (lambda: open_input(path))
    try:
        with open_fn() as f:
            head = f.read(1 << 16)
    except OSError as e:
        yield Reject(f"{path}@0", "read", type(e).__name__, f"cannot open input: {e}")
        return
    problem = sniff_warc(head)
    if problem:
        yield Reject(f"{path}@0", "read", "not_warc", problem)
        return
    gzipped = head.startswith(GZIP_MAGIC)
    start = 0
    while start is not None:
        start = yield from _read_from(path, start, gzipped, config, open_fn)


def _read_from(path, start, gzipped, config, open_fn) -> Iterator[ReadResult]:
    """Read records from byte offset `start`; return where to resume after an error, or None."""
    last, last_rejected = start, False
    with open_fn() as f:
        f.seek(start)
        records = iter(ArchiveIterator(f, parse_http=False))
        while True:
            try:
                record = next(records)
            except StopIteration:
                return None
            except Exception as e:  # FastWARC raises OSError (and others) on malformed input
                if not last_rejected:  # else the record at `last` is already rejected: one row each
                    yield Reject(f"{path}@{last}", "read", "malformed_record", f"{type(e).__name__}: {e}")
                return _next_boundary(open_fn, last + 1, gzipped)
            last = record.stream_pos  # absolute: FastWARC counts from the start of the file
            result = _classify(record, f"{path}@{last}", config)
            last_rejected = isinstance(result, Reject)
            yield result


def _classify(record, source: str, config: ReadConfig) -> ReadResult:
    headers = record.headers
    warc_type = str(record.record_type)
    url = (headers.get("WARC-Target-URI") or "").strip().strip("<>") or None
    if warc_type == "unknown":
        return Reject(source, "read", "malformed_record", "WARC header without a known WARC-Type", url)
    if warc_type not in config.document_record_types:
        return Skipped(source, warc_type)
    declared = headers.get("Content-Length")
    if declared is None or not declared.strip().isdigit():
        return Reject(source, "read", "truncated_record",
                      f"missing or invalid Content-Length ({declared!r}): header block cut short", url)
    declared = int(declared)
    record_id = headers.get("WARC-Record-ID") or ""
    doc_id = stable_hash(url or "", record_id, source.rsplit("@", 1)[-1])
    if declared > config.max_payload_bytes:
        return Filtered(doc_id, url, None, "payload_too_large", None, source,
                        f"{declared} bytes > {config.max_payload_bytes}")
    block = record.reader.read()
    if len(block) != declared:
        return Reject(source, "read", "truncated_record",
                      f"payload has {len(block)} of {declared} declared bytes", url)
    if url is None:
        return Reject(source, "read", "malformed_record", "record without WARC-Target-URI")
    fetched_at = parse_warc_date(headers.get("WARC-Date"))
    status = None
    content_type, charset = split_media_type(headers.get("Content-Type"))
    payload = block
    if warc_type == "response":
        try:
            response = parse_http_response(block)
            payload = decode_transfer(response, config.max_payload_bytes)
        except ValueError as e:
            return Reject(source, "read", "bad_http_response", str(e), url)
        status = response.status
        content_type, charset = split_media_type(response.headers.get("content-type"))
        if not 200 <= status < 300:
            return Filtered(doc_id, url, None, "http_status", None, source, str(status))
    elif warc_type == "conversion":
        content_type = content_type or "text/plain"
    return RawRecord(source, record_id, url, fetched_at, warc_type, status, content_type, charset, payload)


class ReadWarc(beam.DoFn):
    """InputFile → RawRecord (main), plus tagged `filtered`, `rejected` and `skipped` outputs."""

    def __init__(self, config: ReadConfig):
        self.config = config

    @staticmethod
    def _count(name: str) -> None:
        Metrics.counter("read", name).inc()

    def finish_bundle(self):
        flush()  # live progress: this bundle's last ticks

    def process(self, input_file: InputFile):
        key = input_file.staging_path  # results are grouped per input file for staging
        offset = 0  # progress: bytes of the file behind the records read so far
        for result in read_warc(input_file.path, self.config):
            at = int(result.source.rsplit("@", 1)[1])
            tick("read_bytes", max(at - offset, 0))
            tick("records")
            offset = max(offset, at)
            if isinstance(result, RawRecord):
                self._count("records")
                yield key, result
            elif isinstance(result, Filtered):
                self._count(f"filtered_{result.reason}")
                yield beam.pvalue.TaggedOutput("filtered", (key, result))
            elif isinstance(result, Reject):
                self._count(f"rejected_{result.error}")
                tick("rejected")
                yield beam.pvalue.TaggedOutput("rejected", (key, result))
            else:
                self._count(f"skipped_{result.warc_type}")
                yield beam.pvalue.TaggedOutput("skipped", (key, result))
        tick("read_bytes", max(input_size(input_file.path) - offset, 0))
