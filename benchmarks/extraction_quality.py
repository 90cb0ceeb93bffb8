"""Main-text extraction quality and speed: resiliparse (as polycorp uses it) vs trafilatura.

Run with the datatrove venv (benchmarks/setup_datatrove.sh), from anywhere:

    benchmarks/.venv-datatrove/bin/python benchmarks/extraction_quality.py
    benchmarks/.venv-datatrove/bin/python benchmarks/extraction_quality.py --warc W --gold G.jsonl

Input: the bundled sample's HTML pages (sample/sample.warc.gz), each matched by URL to its gold
main text in sample/gold.jsonl.gz; pages without gold are skipped. Each page is decoded with its real
charset (gold's `charset`), so only extraction is compared, not charset detection.

Extractors:
- resiliparse, exactly as transforms/extract.py `html_to_text` calls it (main_content=True, …);
- trafilatura as datatrove's `Trafilatura()` step calls it by default
  (`extract(html, favor_precision=True, include_comments=False, deduplicate=True)`);
- trafilatura with the library's own defaults (`extract(html)`), for reference.

Quality: token-level precision, recall and F1 of the extracted text against the gold text, as bags
of tokens with multiplicity (tokens: `\\w+` runs; Han and kana characters are one token each),
micro-averaged per language and overall. Speed: pages per CPU-second (time.process_time over
repeated passes until at least --min-seconds of CPU per extractor).

Prints a table and writes benchmarks/results/extraction_quality.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Han (incl. extensions and compatibility), hiragana, katakana: one token per character.
_CJK = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")


def tokens(text: str | None) -> list[str]:
    return _TOKEN.findall(text or "")


# ---------------------------------------------------------------------------------------------
# Extractors


def resiliparse_polycorp(html: str) -> str:
    """transforms/extract.py html_to_text (main text only; the title is stored apart)."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(html)
    return extract_plain_text(
        tree,
        main_content=True,
        preserve_formatting=True,
        list_bullets=False,
        alt_texts=False,
        links=False,
        form_fields=False,
        noscript=False,
    )


def trafilatura_datatrove(html: str) -> str | None:
    """datatrove.pipeline.extractors.Trafilatura().extract with its defaults
    (favour_precision=True, deduplicate=True, no extra kwargs)."""
    from trafilatura import extract

    return extract(html, favor_precision=True, include_comments=False, deduplicate=True)


def trafilatura_defaults(html: str) -> str | None:
    from trafilatura import extract

    return extract(html)


EXTRACTORS = {
    "resiliparse (polycorp)": resiliparse_polycorp,
    "trafilatura (datatrove defaults)": trafilatura_datatrove,
    "trafilatura (library defaults)": trafilatura_defaults,
}


# ---------------------------------------------------------------------------------------------
# Input


def load_pages(warc: str, gold_path: str) -> list[dict]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    opener = gzip.open if gold_path.endswith(".gz") else open
    with opener(gold_path, "rt", encoding="utf-8") as f:
        gold = {g["url"]: g for g in map(json.loads, f)}
    pages = []
    with open(warc, "rb") as f:
        for record in ArchiveIterator(f, parse_http=True, record_types=WarcRecordType.response):
            url = record.headers.get("WARC-Target-URI")
            g = gold.get(url)
            if g is None:
                continue
            body = record.reader.read()
            html = body.decode(g.get("charset") or "utf-8", errors="replace")
            pages.append({"url": url, "lang": g["lang"], "html": html, "gold": g["text"],
                          "html_bytes": len(body)})
    missing = len(gold) - len(pages)
    if missing:
        print(f"note: {missing} gold pages not found in the WARC", file=sys.stderr)
    return pages


# ---------------------------------------------------------------------------------------------
# Measurement


def prf(overlap: int, n_ext: int, n_gold: int) -> dict:
    p = overlap / n_ext if n_ext else 0.0
    r = overlap / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f}


def quality(pages: list[dict], extract) -> dict:
    per_lang = defaultdict(lambda: [0, 0, 0, 0, 0])  # overlap, extracted, gold, pages, empty
    for page in pages:
        text = extract(page["html"])
        ext, gold = Counter(tokens(text)), page["gold_tokens"]
        overlap = sum((ext & gold).values())
        row = per_lang[page["lang"]]
        row[0] += overlap
        row[1] += sum(ext.values())
        row[2] += sum(gold.values())
        row[3] += 1
        row[4] += not (text and text.strip())
    out = {}
    total = [0, 0, 0, 0, 0]
    for lang, row in sorted(per_lang.items()):
        out[lang] = {**prf(*row[:3]), "pages": row[3], "empty": row[4]}
        total = [a + b for a, b in zip(total, row)]
    out["all"] = {**prf(*total[:3]), "pages": total[3], "empty": total[4]}
    return out


def speed(pages: list[dict], extract, min_seconds: float) -> dict:
    htmls = [p["html"] for p in pages]
    n = 0
    start = time.process_time()
    while True:
        for html in htmls:
            extract(html)
        n += len(htmls)
        cpu = time.process_time() - start
        if cpu >= min_seconds:
            return {"pages": n, "passes": n // len(htmls), "cpu_s": cpu, "pages_per_cpu_s": n / cpu}


def _default_gold() -> str:
    for name in ("gold.jsonl.gz", "gold.jsonl"):
        path = os.path.join(ROOT, "sample", name)
        if os.path.exists(path):
            return path
    return os.path.join(ROOT, "sample", "gold.jsonl.gz")


def main() -> int:
    ap = argparse.ArgumentParser(description="resiliparse vs trafilatura main-text extraction on the sample.")
    ap.add_argument("--warc", default=os.path.join(ROOT, "sample", "sample.warc.gz"))
    ap.add_argument("--gold", default=_default_gold(), help="gold JSON lines, plain or .gz")
    ap.add_argument("--min-seconds", type=float, default=5.0, help="CPU seconds per speed measurement")
    ap.add_argument("--json", default=os.path.join(HERE, "results", "extraction_quality.json"))
    args = ap.parse_args()

    import resiliparse
    import trafilatura

    pages = load_pages(args.warc, args.gold)
    if not pages:
        sys.exit("extraction_quality: no page of the WARC has gold text")
    for page in pages:
        page["gold_tokens"] = Counter(tokens(page["gold"]))
    n_bytes = sum(p["html_bytes"] for p in pages)
    langs = sorted({p["lang"] for p in pages})
    print(f"input: {os.path.relpath(args.warc, ROOT)}: {len(pages)} pages with gold, {len(langs)} languages, "
          f"{n_bytes / 1e6:.1f} MB HTML (avg {n_bytes / len(pages) / 1000:.1f} KB)")

    results = {}
    for name, extract in EXTRACTORS.items():
        extract(pages[0]["html"])  # imports, warm-up
        q = quality(pages, extract)
        s = speed(pages, extract, args.min_seconds)
        results[name] = {"quality": q, "speed": s}

    names = list(EXTRACTORS)
    print(f"\n{'extractor':<34} {'P':>6} {'R':>6} {'F1':>6} {'empty':>6} {'pages/CPU-s':>12}")
    for name in names:
        q, s = results[name]["quality"]["all"], results[name]["speed"]
        print(f"{name:<34} {q['precision']:>6.4f} {q['recall']:>6.4f} {q['f1']:>6.4f} {q['empty']:>6} "
              f"{s['pages_per_cpu_s']:>12.1f}")
    print("\nF1 per language (P/R in the JSON):")
    short = ["resiliparse", "traf. datatrove", "traf. defaults"]
    print(f"{'lang':<6} {'pages':>5} " + " ".join(f"{s:>16}" for s in short))
    for lang in langs:
        row = [results[n]["quality"][lang] for n in names]
        print(f"{lang:<6} {row[0]['pages']:>5} " + " ".join(f"{r['f1']:>16.3f}" for r in row))

    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "versions": {"resiliparse": getattr(resiliparse, "__version__", None) or _dist_version("resiliparse"),
                     "trafilatura": trafilatura.__version__},
        "input": {"warc": os.path.relpath(args.warc, ROOT), "gold": os.path.relpath(args.gold, ROOT),
                  "pages": len(pages), "languages": langs, "html_bytes": n_bytes},
        "tokens": "\\w+ runs; Han and kana characters one token each; bag of tokens with multiplicity",
        "extractors": {
            "resiliparse (polycorp)": "extract_plain_text(HTMLTree.parse(html), main_content=True, "
                                      "preserve_formatting=True, list_bullets=False, alt_texts=False, "
                                      "links=False, form_fields=False, noscript=False)",
            "trafilatura (datatrove defaults)": "extract(html, favor_precision=True, include_comments=False, "
                                                "deduplicate=True)",
            "trafilatura (library defaults)": "extract(html)",
        },
        "results": results,
    }
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(report, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"\nwrote {os.path.relpath(args.json, ROOT)}")
    return 0


def _dist_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    sys.exit(main())
