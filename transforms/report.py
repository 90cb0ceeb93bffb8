"""The data card of a build: `report.html` with PNG plots, and an audit pack of one page per language.

Public multilingual corpora have shipped languages with no usable text in them (Kreutzer et al.,
2022, audited 205 of them); the report makes what a build holds visible before anyone trains on it:

- documents, characters and words per language (log scale), the funnel from input records to kept
  documents with every filter, dedup and reject reason (from stats.json), language-ID score and
  document-length distributions per language, bitext pairs per language pair and their alignment
  scores, the top hosts;
- `audit/<lang>.html`: a fixed-seed random sample of the language's kept documents, filtered
  documents (with their reason) and sentence pairs, so that a speaker can judge a language in
  minutes.

Everything is read from the shards the manifest lists, a row group at a time; what is kept per
language is bounded (the samples are "bottom-k" by a seeded hash of the id — the same rows on every
run whatever the shard order — and distributions are drawn from such samples), so memory does not
grow with the corpus. Host counts are exact up to `MAX_HOSTS` distinct hosts, then approximate
(the least frequent are dropped, Misra–Gries style) and the report says so.
"""

from __future__ import annotations

import heapq
import html
import io
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import xxhash

from transforms import fs
from transforms.manifest import manifest_rows

AUDIT_KEPT, AUDIT_FILTERED, AUDIT_PAIRS = 20, 10, 20
DISTRIBUTION_SAMPLE = 2000  # documents per language behind the score and length plots
MAX_HOSTS, KEEP_HOSTS = 100_000, 20_000
TOP_HOSTS = 20
EXCERPT_CHARS = 1200


class BottomK:
    """The k items with the smallest seeded hash of their key: a uniform sample that does not
    depend on the order items arrive in, in O(k) memory."""

    def __init__(self, k: int, seed: int):
        self.k, self.seed, self.heap = k, seed, []  # max-heap on the hash: (-hash, key, item)

    def offer(self, key: str, item) -> None:
        h = xxhash.xxh64_intdigest(key.encode("utf-8"), seed=self.seed)
        if len(self.heap) < self.k:
            heapq.heappush(self.heap, (-h, key, item))
        elif -self.heap[0][0] > h:
            heapq.heapreplace(self.heap, (-h, key, item))

    def wants(self, key: str) -> bool:
        """Would `offer` keep it? (Lets a caller skip building an item that would be dropped.)"""
        return len(self.heap) < self.k or xxhash.xxh64_intdigest(key.encode("utf-8"), seed=self.seed) < -self.heap[0][0]

    def items(self) -> list:
        """Sorted by hash: a stable order."""
        return [item for _, _, item in sorted(self.heap, key=lambda e: (-e[0], e[1]))]


@dataclass
class ReportData:
    stats: dict
    per_lang: dict = field(default_factory=lambda: defaultdict(lambda: {"docs": 0, "chars": 0, "words": 0}))
    distributions: dict = field(default_factory=dict)  # lang → BottomK of (lang_score, n_chars)
    hosts: Counter = field(default_factory=Counter)
    hosts_exact: bool = True
    pairs: Counter = field(default_factory=Counter)
    pair_scores: dict = field(default_factory=dict)  # pair → BottomK of scores
    audit_kept: dict = field(default_factory=dict)
    audit_filtered: dict = field(default_factory=dict)
    audit_pairs: dict = field(default_factory=dict)  # lang → BottomK of pairs that involve it


def _sample(store: dict, key: str, k: int, seed: int) -> BottomK:
    if key not in store:
        store[key] = BottomK(k, seed)
    return store[key]


def collect(build_dir: str, manifest: dict, seed: int = 0) -> ReportData:
    data = ReportData(fs.read_json(fs.join(build_dir, "stats.json")))
    for r in manifest_rows(build_dir, manifest, "docs",
                           ["id", "url", "host", "title", "text", "lang", "lang_score", "n_chars", "quality"]):
        lang = r["lang"]
        row = data.per_lang[lang]
        row["docs"] += 1
        row["chars"] += r["n_chars"]
        row["words"] += (r.get("quality") or {}).get("words") or 0
        _sample(data.distributions, lang, DISTRIBUTION_SAMPLE, seed).offer(r["id"], (r["lang_score"], r["n_chars"]))
        kept = _sample(data.audit_kept, lang, AUDIT_KEPT, seed)
        if kept.wants(r["id"]):
            kept.offer(r["id"], {"url": r["url"], "title": r.get("title"), "score": r["lang_score"],
                                 "text": r["text"][:EXCERPT_CHARS], "chars": r["n_chars"]})
        _count_host(data, r.get("host") or "")
    for r in manifest_rows(build_dir, manifest, "filtered", ["id", "url", "lang", "reason", "text"]):
        lang = r.get("lang") or "unknown"
        sample = _sample(data.audit_filtered, lang, AUDIT_FILTERED, seed)
        if sample.wants(r["id"]):
            sample.offer(r["id"], {"url": r["url"], "reason": r["reason"], "text": (r.get("text") or "")[:EXCERPT_CHARS]})
    for r in manifest_rows(build_dir, manifest, "bitext", ["id", "src_lang", "tgt_lang", "src_text", "tgt_text", "score"]):
        pair = f"{r['src_lang']}-{r['tgt_lang']}"
        data.pairs[pair] += 1
        _sample(data.pair_scores, pair, DISTRIBUTION_SAMPLE, seed).offer(r["id"], r["score"])
        for lang in (r["src_lang"], r["tgt_lang"]):
            sample = _sample(data.audit_pairs, lang, AUDIT_PAIRS, seed)
            if sample.wants(r["id"]):
                sample.offer(r["id"], {"pair": pair, "src": r["src_text"], "tgt": r["tgt_text"], "score": r["score"]})
    return data


def _count_host(data: ReportData, host: str) -> None:
    data.hosts[host] += 1
    if len(data.hosts) > MAX_HOSTS:
        data.hosts = Counter(dict(data.hosts.most_common(KEEP_HOSTS)))
        data.hosts_exact = False


# ------------------------------------------------------------------------------ plots


def funnel(stats: dict) -> list[tuple[str, int]]:
    """(label, count) from input records to kept documents: every outcome with its reason."""
    rows = [("input records", stats["input_records"])]
    rows += [(f"filtered: {k}", v) for k, v in sorted(stats["filtered"].items(), key=lambda kv: -kv[1])]
    rows += [(f"duplicate: {k}", v) for k, v in sorted(stats["duplicates"].items(), key=lambda kv: -kv[1])]
    rows += [(f"rejected: {k}", v) for k, v in sorted(stats["rejected"].items(), key=lambda kv: -kv[1])]
    rows.append(("kept", stats["kept"]))
    return rows


def write_plots(data: ReportData, plots_dir: str) -> dict[str, str]:
    """PNG files (name → path relative to the build) of the report."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}

    def save(fig, name):
        fig.tight_layout()
        png = io.BytesIO()
        fig.savefig(png, dpi=90, format="png")
        fs.write_bytes(fs.join(plots_dir, f"{name}.png"), png.getvalue())
        plt.close(fig)
        out[name] = f"plots/{name}.png"

    langs = sorted(data.per_lang, key=lambda lang: -data.per_lang[lang]["docs"])
    fig, axes = plt.subplots(1, 3, figsize=(13, max(3, 0.28 * len(langs) + 1)), sharey=True)
    for ax, what in zip(axes, ("docs", "chars", "words")):
        ax.barh(langs, [max(data.per_lang[lang][what], 1) for lang in langs])
        ax.set_xscale("log")
        ax.set_title(f"{what} per language")
    axes[0].invert_yaxis()
    save(fig, "languages")

    rows = funnel(data.stats)
    fig, ax = plt.subplots(figsize=(9, max(3, 0.3 * len(rows) + 1)))
    colours = ["#555"] + ["#c66"] * (len(rows) - 2) + ["#4a4"]
    ax.barh([r[0] for r in rows], [max(r[1], 0.5) for r in rows], color=colours)
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_title("from input records to kept documents")
    for y, (_, n) in enumerate(rows):
        ax.text(max(n, 0.5), y, f" {n:,}", va="center", fontsize=8)
    save(fig, "funnel")

    if langs:
        samples = {lang: data.distributions[lang].items() for lang in langs}
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, max(3, 0.28 * len(langs) + 1)), sharey=True)
        a1.boxplot([[s for s, _ in samples[lang]] for lang in langs], vert=False, tick_labels=langs)
        a1.set_title("language-ID score (fastText) per language")
        a2.boxplot([[math.log10(max(c, 1)) for _, c in samples[lang]] for lang in langs], vert=False, tick_labels=langs)
        a2.set_title("document length, log10 characters")
        a1.invert_yaxis()
        save(fig, "distributions")

    if data.pairs:
        pairs = sorted(data.pairs, key=lambda p: -data.pairs[p])
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, max(3, 0.22 * len(pairs) + 1)))
        a1.barh(pairs, [data.pairs[p] for p in pairs])
        a1.set_xscale("log")
        a1.invert_yaxis()
        a1.set_title("sentence pairs per language pair")
        a2.hist([s for p in pairs for s in data.pair_scores[p].items()], bins=40)
        a2.set_title("alignment score of sentence pairs")
        save(fig, "bitext")

    top = data.hosts.most_common(TOP_HOSTS)
    if top:
        fig, ax = plt.subplots(figsize=(9, max(3, 0.3 * len(top) + 1)))
        ax.barh([h for h, _ in top], [n for _, n in top])
        ax.invert_yaxis()
        ax.set_title("top hosts (kept documents)" + ("" if data.hosts_exact else ", approximate"))
        save(fig, "hosts")
    return out


# ------------------------------------------------------------------------------ HTML

_STYLE = """body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}img{max-width:100%;border:1px solid #eee;margin:.5em 0}
.doc{border:1px solid #ddd;border-radius:4px;padding:.6em 1em;margin:.8em 0}.doc pre{white-space:pre-wrap;
font:13px/1.4 monospace;max-height:14em;overflow:auto;background:#fafafa;padding:.5em}.meta{color:#666;font-size:13px}"""
# Set by the page itself once every image has loaded (a headless browser test reads it).
_IMAGES_CHECK = """<script>window.addEventListener("load",function(){var i=Array.prototype.slice.call(document.images);
document.body.setAttribute("data-images",i.length&&i.every(function(x){return x.complete&&x.naturalWidth>0})?"ok":"broken");});</script>"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{_STYLE}</style></head><body>\n{body}\n{_IMAGES_CHECK}</body></html>\n")


def report_html(data: ReportData, plots: dict[str, str], manifest: dict) -> str:
    s = data.stats
    per_lang_stats = s.get("per_language", {})
    pairs_of = Counter()
    for pair, n in data.pairs.items():
        for lang in pair.split("-"):
            pairs_of[lang] += n

    def outcome(lang, what):
        return sum(per_lang_stats.get(lang, {}).get(what, {}).values())

    rows = "".join(
        f'<tr><td><a href="audit/{_e(lang)}.html">{_e(lang)}</a></td><td>{v["docs"]:,}</td><td>{v["chars"]:,}</td>'
        f'<td>{v["words"]:,}</td><td>{outcome(lang, "filtered"):,}</td><td>{outcome(lang, "duplicates"):,}</td>'
        f'<td>{pairs_of[lang]:,}</td></tr>'
        for lang, v in sorted(data.per_lang.items(), key=lambda kv: -kv[1]["docs"]))
    pair_rows = " · ".join(f"{_e(p)}&nbsp;{n:,}" for p, n in sorted(data.pairs.items(), key=lambda kv: -kv[1]))
    images = "".join(f'<h2>{_e(name)}</h2><img src="{_e(path)}" alt="{_e(name)}">' for name, path in plots.items())
    body = f"""<h1>polycorp build report</h1>
<p class="meta">created {_e(manifest.get("created", ""))}; {len(manifest.get("inputs", []))} input file(s);
{len(manifest.get("shards", []))} shards</p>
<p><b>{s["input_records"]:,}</b> input records → <b>{s["kept"]:,}</b> kept documents,
{sum(s["filtered"].values()):,} filtered, {sum(s["duplicates"].values()):,} duplicates,
{sum(s["rejected"].values()):,} rejected.</p>
<h2>languages</h2><p>Each language links to its audit page: a fixed-seed random sample of kept documents,
filtered documents and sentence pairs, to judge by reading.</p>
<table><tr><th>language</th><th>documents</th><th>characters</th><th>words</th><th>filtered</th><th>duplicates</th>
<th>sentence pairs</th></tr>{rows}</table>
{images}
{"<h2>sentence pairs per language pair</h2><p>" + pair_rows + "</p>" if pair_rows else ""}"""
    return _page("polycorp build report", body)


def audit_html(lang: str, data: ReportData) -> str:
    kept = data.audit_kept.get(lang)
    filtered = data.audit_filtered.get(lang)
    pairs = data.audit_pairs.get(lang)
    parts = [f"<h1>audit: {_e(lang)}</h1><p><a href='../report.html'>back to the report</a>. "
             f"{data.per_lang[lang]['docs']:,} kept documents in this language; the samples below are drawn "
             "with a fixed seed (the same on every run).</p>",
             f"<h2>kept documents ({len(kept.items()) if kept else 0})</h2>"]
    for d in kept.items() if kept else []:
        parts.append(f"<div class='doc'><div class='meta'>{_e(d['url'])} · language score {d['score']:.2f} · "
                     f"{d['chars']:,} characters</div><b>{_e(d['title'] or '')}</b><pre>{_e(d['text'])}</pre></div>")
    parts.append(f"<h2>filtered documents ({len(filtered.items()) if filtered else 0})</h2>")
    for d in filtered.items() if filtered else []:
        parts.append(f"<div class='doc'><div class='meta'>{_e(d['url'])} · <b>{_e(d['reason'])}</b></div>"
                     f"<pre>{_e(d['text'])}</pre></div>")
    parts.append(f"<h2>sentence pairs ({len(pairs.items()) if pairs else 0})</h2><table>"
                 "<tr><th>pair</th><th>source</th><th>target</th><th>score</th></tr>")
    for p in pairs.items() if pairs else []:
        parts.append(f"<tr><td>{_e(p['pair'])}</td><td style='text-align:left'>{_e(p['src'])}</td>"
                     f"<td style='text-align:left'>{_e(p['tgt'])}</td><td>{p['score']:.2f}</td></tr>")
    parts.append("</table>")
    return _page(f"audit: {lang}", "\n".join(parts))


def write_report(build_dir: str, manifest: dict, seed: int = 0) -> str:
    """report.html, plots/*.png and audit/<lang>.html in `build_dir`; returns report.html's path.
    Each file is written whole or not at all (`transforms.fs.write_bytes`)."""
    data = collect(build_dir, manifest, seed)
    plots = write_plots(data, fs.join(build_dir, "plots"))
    for lang in data.per_lang:
        fs.write_text(fs.join(build_dir, "audit", f"{lang}.html"), audit_html(lang, data))
    path = fs.join(build_dir, "report.html")
    fs.write_text(path, report_html(data, plots, manifest))
    return path
