"""Payload bytes → main text: charset decoding and HTML main-content extraction.

Charset order (first that decodes the bytes without error wins):
BOM → UTF-8 (valid multi-byte UTF-8 is practically never a legacy encoding by accident, and the most
common web error is a page declared Latin-1 but written in UTF-8) → the HTTP header's charset →
the `<meta>` declaration → detection (resiliparse's uchardet-based `detect_encoding`) → UTF-8 with
replacement characters. Invalid bytes therefore never raise; the choice is recorded per document
(`encoding`, e.g. "windows-1251/meta").

HTML extraction uses resiliparse (see README, "Choices"): main content, title kept, one paragraph
(block element) per line.
"""

from __future__ import annotations

import codecs
from urllib.parse import urlsplit

import apache_beam as beam
from apache_beam.metrics import Metrics
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import detect_encoding
from resiliparse.parse.html import HTMLTree
from w3lib.encoding import html_body_declared_encoding, read_bom, resolve_encoding

from transforms.config import ExtractConfig
from transforms.records import Doc, Filtered, RawRecord, Reject

_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b", b"\x7fELF")
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13))
_PLAIN_TEXT = ("text/plain",)


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    resolved = resolve_encoding(name)  # WHATWG aliases: latin1 → cp1252, …
    try:
        return codecs.lookup(resolved or name).name
    except LookupError:
        return None


def _try(payload: bytes, codec: str | None) -> str | None:
    if codec is None:
        return None
    try:
        return payload.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_payload(payload: bytes, header_charset: str | None) -> tuple[str, str]:
    """Decode a web payload; returns (text, "<codec>/<how it was chosen>")."""
    bom_codec, bom = read_bom(payload)
    if bom_codec:
        text = _try(payload[len(bom):], _codec(bom_codec))
        if text is not None:
            return text, f"{_codec(bom_codec)}/bom"
    text = _try(payload, "utf-8")
    if text is not None:
        return text, "utf-8/utf8-valid"
    head = payload[:4096]
    candidates = (
        (_codec(header_charset), "header"),
        (_codec(html_body_declared_encoding(head)), "meta"),
        (_codec(detect_encoding(payload[:65536])), "detected"),
    )
    for codec, how in candidates:
        text = _try(payload, codec)
        if text is not None:
            return text, f"{codec}/{how}"
    return payload.decode("utf-8", "replace"), "utf-8/replace"


def looks_binary(payload: bytes, max_control_ratio: float) -> bool:
    """True for payloads that are not text whatever their label: known magic numbers, or too many
    control bytes (text has almost none; compressed or image data ~10%)."""
    head = payload[:4096].lstrip()
    if head.startswith(_BINARY_MAGIC):
        return True
    if not head:
        return False
    text_bytes = len(head.translate(None, _CONTROL))
    return (len(head) - text_bytes) / len(head) > max_control_ratio


def html_to_text(html: str, main_content: bool, page_url: str | None = None):
    """(title, main text) of an HTML document, blocks separated by newlines; with `page_url`,
    (title, text, alternates): the page's other-language versions [(hreflang, canonical url)]."""
    tree = HTMLTree.parse(html)
    title = (tree.title or "").strip() or None
    text = extract_plain_text(
        tree,
        main_content=main_content,
        preserve_formatting=True,
        list_bullets=False,
        alt_texts=False,
        links=False,
        form_fields=False,
        noscript=False,
    )
    if page_url is None:
        return title, text
    from transforms.links import page_links

    return title, text, page_links(tree, page_url, follow=False).alternates


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def extract_document(record: RawRecord, config: ExtractConfig) -> Doc | Filtered | Reject:
    """A RawRecord as a Doc with raw (not yet normalised) text, or the reason it has none."""
    doc_id = record.doc_id
    ctype = record.content_type
    is_html = ctype is None or ctype in config.html_content_types
    is_text = record.warc_type == "conversion" or ctype in _PLAIN_TEXT
    if not (is_html or is_text):
        return Filtered(doc_id, record.url, None, "not_html", None, record.source, ctype)
    if not record.payload.strip():
        return Filtered(doc_id, record.url, None, "empty_payload", None, record.source, None)
    if looks_binary(record.payload, config.max_control_byte_ratio):
        return Filtered(doc_id, record.url, None, "binary_content", None, record.source, ctype)
    try:
        decoded, encoding = decode_payload(record.payload, record.header_charset)
        alternates = None
        if is_text and not is_html:
            title, text = None, decoded
        else:
            title, text, alternates = html_to_text(decoded, config.main_content, record.url)
    except Exception as e:  # the extractor is C code: never let one page stop a worker
        return Reject(record.source, "extract", type(e).__name__, str(e)[:500], record.url)
    return Doc(
        id=doc_id,
        url=record.url,
        host=host_of(record.url),
        fetched_at=record.fetched_at,
        source=record.source,
        title=title,
        text=text,
        encoding=encoding,
        alternates=[{"hreflang": h, "url": u} for h, u in alternates] if alternates else None,
    )


class ExtractText(beam.DoFn):
    """(key, RawRecord) → (key, Doc) main output, tagged `filtered` and `rejected` outputs."""

    def __init__(self, config: ExtractConfig):
        self.config = config
        self.extracted = Metrics.counter("extract", "documents")
        self.filtered = Metrics.counter("extract", "filtered")
        self.rejected = Metrics.counter("extract", "rejected")

    def process(self, element):
        key, record = element
        result = extract_document(record, self.config)
        if isinstance(result, Doc):
            self.extracted.inc()
            yield key, result
        elif isinstance(result, Filtered):
            self.filtered.inc()
            yield beam.pvalue.TaggedOutput("filtered", (key, result))
        else:
            self.rejected.inc()
            yield beam.pvalue.TaggedOutput("rejected", (key, result))
