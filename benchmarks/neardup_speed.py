"""Near-duplicate detection: CPU cost and memory of polycorp's MinHash stage against datasketch,
datatrove and text-dedup, on the same documents in the same run.

Run with the project venv from anywhere (sets up benchmarks/.venv-dedup with setup_dedup.sh):

    .venv/bin/python benchmarks/neardup_speed.py            # full run, ~6 min on 2 cores (+ waits for quiet)
    .venv/bin/python benchmarks/neardup_speed.py --quick    # ~1.5 min, small sizes, JSON under benchmarks/work/
    .venv/bin/python benchmarks/neardup_speed.py --profile  # only: cProfile of polycorp's stage (in_memory)

Corpus (built here, deterministic, cached under benchmarks/work/neardup_speed/): real texts, cut into
~2,000-character documents at line boundaries (lines accumulate while the piece stays ≤ 2,000
characters; pieces under 1,000 are dropped). Sources: the texts of sample/gold.jsonl.gz (translated
manual pages, 12 languages; rows marked `duplicate_of` skipped) and, if present,
benchmarks/neardup/gold.jsonl.gz (manual pages in 8 languages, with its own planted variants).
A piece becomes a *base* only if at most 10% of its characters lie in long lines (≥ 30 characters,
case and spacing ignored) already in an earlier base: that drops the source's own near-duplicates
(versions, edits, untranslated paragraphs, shared boilerplate), so the only near-duplicates are the
planted ones. A corpus of N documents holds 70% bases and 30% *variants*: a variant is a copy of a
random base with 1 or 2 of its lines (≥ 20 characters, together ≤ 20% of the text) replaced by
lines of similar length (0.5–1.5×) from another text of the same language. When the real pieces
run out (the 4× and 16× corpora), further bases are *synthetic*: random lines of one language's
pool (all lines of that language's texts) up to ~2,000 characters. Documents are shuffled and
written as JSON lines (`id`, `lang`, `text`), 1,000 per file; every tool reads those files.

Measurements, each in a fresh subprocess, on the 1× corpus unless said otherwise:

1. Signatures per CPU-second (`time.process_time`, minimum of --repeats passes, after a warm-up):
   - polycorp: `MinHasher(MinHashConfig()).signatures(texts, unspaced)` in batches of 256 (word
     5-grams; character 5-grams for ja/zh, as in the build; 14 × 8 = 112 permutations). The
     one-time cost of the first call (a 1.1M-entry character-class table) is reported apart;
   - datasketch 2.0.0: per document `MinHash(num_perm=112)` + `update_batch` of its word 5-gram
     shingles made the usual way (`text.lower().split()`, 5-gram tuples joined with " ", UTF-8
     encoded), shingling INCLUDED in the time (what a user writes); also shown without shingling,
     and, as a reference, with xxhash's xxh32 instead of the default SHA-1 (`hashfunc=`).
2. The whole near-dup stage per CPU-second, documents in (the JSON-lines files) → list of duplicates
   out; CPU = user+sys of the process and its waited-for children (getrusage RUSAGE_SELF +
   RUSAGE_CHILDREN) around the stage only, imports excluded:
   - polycorp, a Beam pipeline on `--runner=FnApiRunner --direct_running_mode=in_memory
     --direct_num_workers=1` (and `multi_processing`, 2 workers): Create(file paths) → read →
     `ComputeSignatures(load_config().near_dedup)` (the build's batched signature stage) →
     `DocKey.of` → `NearDedup(load_config().near_dedup)` → the duplicates' ids written with
     WriteToText. The same pipeline with a count instead of NearDedup (in_memory) splits the cost
     between reading + signatures and NearDedup;
   - datatrove 0.10.1: its 4 MinHash stages, each a `LocalPipelineExecutor` (workers=1):
     JsonlReader → MinhashDedupSignature (tasks=1) → MinhashDedupBuckets (tasks=14, one per bucket,
     as the stage requires) → MinhashDedupCluster (tasks=1) → JsonlReader → MinhashDedupFilter with
     an exclusion JsonlWriter (tasks=1; the kept documents are not written). Default MinhashConfig:
     word 5-grams, 14 buckets × 8 hashes, xxhash 64-bit; the default (English: spaCy) word tokenizer;
   - text-dedup 0.4.0: `text_dedup.minhash` (its CLI, called in-process) on the same files via
     `datasets.load_dataset("json")`, num_perm 112, b 14, r 8, ngram 5, hash_func xxh3 (its faster
     option), num_proc 1, a fresh datasets cache; it writes the kept documents with save_to_disk.
   Every tool also runs on the corpus's first 100 documents: its fixed cost (imports excluded:
   start-up, graph translation, model and worker set-up); "net" = (N − 100) / (CPU − fixed CPU).
   Duplicates found are scored against the planted clusters: expected = Σ (cluster size − 1);
   found = removed documents explained by a planted cluster (at most size − 1 per cluster);
   spurious = removed − found (this includes near-duplicates of the sources that the line filter
   missed, not only false positives).
3. Memory of polycorp's stage as the corpus grows (--sizes, 5k → 20k → 80k documents): peak RSS
   (ru_maxrss) of the one process (in_memory) and of the runner and the largest worker
   (multi_processing ×2, ru_maxrss of RUSAGE_CHILDREN), and the peak RSS of the whole process tree
   sampled from /proc every 0.25 s; then, for the smallest and largest size, a separate in_memory
   run under tracemalloc (~6× slower), whose peak is the Python heap alone (objects and the
   runner's element buffers), without the allocators' slack. Per size also: the same runner
   (multi_processing ×2) on the same corpus running a trivial job of the same size (read → one
   ~500-byte record per document → GroupByKey over 1,000 keys → count), the *runner baseline*: the
   local runner ships a stage's whole input to its workers, so their RSS grows with the corpus
   whatever the job; polycorp's worker minus the baseline worker is what the stage itself holds.
   And the largest share one of polycorp's reducers held at a time (Beam distribution metrics,
   max): a (band, partition) group of band hashes, a join partition of documents, a
   components partition of edges — bounded by `near_dedup.partition_docs`, not by the corpus. The corpora are built in a subprocess
   too: on Linux a child's ru_maxrss starts from its parent's RSS at fork, so the parent stays small.

"other" is the CPU that anything else on the machine used meanwhile (/proc/stat minus this
benchmark's own processes), in cores. Each measurement starts after a 2 s window with other < 0.1
core (waiting at most 45 s); one with other > 0.1 core is run again (up to --retries times) and the
quietest run kept.

Prints a table and writes benchmarks/results/neardup_speed.json (a --quick run or one with changed
sizes writes benchmarks/work/neardup_speed-last.json instead).
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import hashlib
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(HERE, "work", "neardup_speed")
RESULTS = os.path.join(HERE, "results")
PROJECT_PY = os.path.join(ROOT, ".venv", "bin", "python")
DEDUP_VENV = os.path.join(HERE, ".venv-dedup")
DEDUP_PY = os.path.join(DEDUP_VENV, "bin", "python")

SOURCES = [os.path.join(ROOT, "sample", "gold.jsonl.gz"), os.path.join(HERE, "neardup", "gold.jsonl.gz")]
PIECE_CHARS, MIN_PIECE_CHARS = 2000, 1000
VARIANT_SHARE = 0.3
SHARED_LINE_CHARS, MAX_SHARED_SHARE = 30, 0.10
DOCS_PER_FILE = 1000
UNSPACED_LANG_SCRIPT = {"ja": "Jpan", "zh": "Hani"}  # the build's dominant_script for these texts
SIG_BATCH = 256
NUM_PERM = 112

FULL_SIZES = (5000, 20000, 80000)
QUICK_SIZES = (1000, 2000, 4000)
FIXED_COST_DOCS = 100


# ---------------------------------------------------------------------------------------------
# Corpus


def _norm_line(line: str) -> str:
    return " ".join(line.lower().split())


def _source_texts() -> tuple[list[tuple[str, str]], list[str]]:
    """(lang, text) of every usable source text, and the source files used."""
    texts, used = [], []
    for path in SOURCES:
        if not os.path.exists(path):
            continue
        used.append(os.path.relpath(path, ROOT))
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                if row.get("duplicate_of"):
                    continue
                texts.append((row["lang"], row["text"]))
    return texts, used


def _pieces(text: str) -> list[list[str]]:
    lines = [l.strip() for l in text.split("\n") if l.strip()]
    out, cur, n = [], [], 0
    for line in lines:
        if cur and n + 1 + len(line) > PIECE_CHARS:
            if n >= MIN_PIECE_CHARS:
                out.append(cur)
            cur, n = [], 0
        if len(line) > PIECE_CHARS:  # (none in the sources) cut at spaces
            words, part = line.split(), ""
            for w in words:
                if part and len(part) + 1 + len(w) > PIECE_CHARS:
                    out.append([part])
                    part = ""
                part = f"{part} {w}" if part else w
            line = part
        cur.append(line)
        n += len(line) + (1 if len(cur) > 1 else 0)
    if n >= MIN_PIECE_CHARS:
        out.append(cur)
    return out


def corpus_fingerprint(n_docs: int, seed: int) -> str:
    h = hashlib.sha256()
    for path in SOURCES:
        if os.path.exists(path):
            h.update(f"{os.path.basename(path)}:{os.path.getsize(path)}:{int(os.path.getmtime(path))}".encode())
    h.update(f"{n_docs}:{seed}:{PIECE_CHARS}:{MIN_PIECE_CHARS}:{VARIANT_SHARE}:{SHARED_LINE_CHARS}:"
             f"{MAX_SHARED_SHARE}:v1".encode())
    return h.hexdigest()[:16]


def build_corpus(n_docs: int, seed: int = 1) -> dict:
    """Write the corpus of `n_docs` documents (cached); returns its description."""
    folder = os.path.join(WORK, f"corpus-{n_docs}")
    meta_path = os.path.join(folder, "corpus.json")
    fingerprint = corpus_fingerprint(n_docs, seed)
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        if meta.get("fingerprint") == fingerprint:
            return meta
    rng = random.Random(seed)
    texts, used = _source_texts()
    # line pools per language (every line of ≥ 20 characters, with its text's index), by length
    pools: dict[str, list[tuple[int, int, str]]] = {}
    real: list[tuple[str, int, list[str]]] = []  # (lang, text index, lines) of the bases
    seen: set[str] = set()
    pieces_total = 0
    for ti, (lang, text) in enumerate(texts):
        for piece in _pieces(text):
            pieces_total += 1
            for line in piece:
                if len(line) >= 20:
                    pools.setdefault(lang, []).append((len(line), ti, line))
            total = sum(len(l) for l in piece)
            normed = [(_norm_line(l), len(l)) for l in piece]
            shared = sum(c for nl, c in normed if len(nl) >= SHARED_LINE_CHARS and nl in seen)
            if shared / total <= MAX_SHARED_SHARE:
                real.append((lang, ti, piece))
                seen.update(nl for nl, _ in normed if len(nl) >= SHARED_LINE_CHARS)
    for pool in pools.values():
        pool.sort()
    n_variants = round(n_docs * VARIANT_SHARE)
    n_bases = n_docs - n_variants
    rng.shuffle(real)
    bases = real[:n_bases]
    n_real = len(bases)
    langs = [lang for lang, _, _ in real]
    while len(bases) < n_bases:  # synthetic: random lines of one language
        lang = rng.choice(langs)
        pool = pools[lang]
        lines, n = [], 0
        while True:
            line = pool[rng.randrange(len(pool))][2]
            if n + len(line) + 1 > PIECE_CHARS:
                if n >= 0.9 * PIECE_CHARS or len(lines) > 50:
                    break
                continue
            lines.append(line)
            n += len(line) + 1
        bases.append((lang, -1 - len(bases), lines))

    def replacement(lang: str, ti: int, length: int) -> str:
        pool = pools[lang]
        lo = bisect.bisect_left(pool, (int(length * 0.5), -1 << 62, ""))
        hi = bisect.bisect_right(pool, (int(length * 1.5) + 1, -1 << 62, ""))
        for _ in range(50):
            cand = pool[rng.randrange(lo, hi)] if hi > lo else pool[rng.randrange(len(pool))]
            if cand[1] != ti:
                return cand[2]
        return cand[2]

    docs = [(lang, "\n".join(lines), bi) for bi, (lang, _, lines) in enumerate(bases)]
    replaced = []
    for _ in range(n_variants):
        bi = rng.randrange(n_bases)
        lang, ti, lines = bases[bi]
        text_len = len("\n".join(lines))
        eligible = [i for i, l in enumerate(lines) if len(l) >= 20]
        k = rng.choice((1, 2))
        chosen: list[int] = []
        for _ in range(20):
            pick = rng.sample(eligible, min(k, len(eligible))) if eligible else []
            if sum(len(lines[i]) for i in pick) <= 0.2 * text_len:
                chosen = pick
                break
        if not chosen and eligible:  # the shortest eligible line
            chosen = [min(eligible, key=lambda i: len(lines[i]))]
        new = list(lines)
        for i in chosen:
            new[i] = replacement(lang, ti, len(lines[i]))
        replaced.append(sum(len(lines[i]) for i in chosen) / text_len)
        docs.append((lang, "\n".join(new), bi))
    rng.shuffle(docs)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    cluster_of: dict[str, int] = {}
    for start in range(0, len(docs), DOCS_PER_FILE):
        with open(os.path.join(folder, f"docs-{start // DOCS_PER_FILE:05d}.jsonl"), "w", encoding="utf-8") as f:
            for i in range(start, min(start + DOCS_PER_FILE, len(docs))):
                lang, text, bi = docs[i]
                doc_id = f"d{i:07d}"
                cluster_of[doc_id] = bi
                f.write(json.dumps({"id": doc_id, "lang": lang, "text": text}, ensure_ascii=False) + "\n")
    sizes: dict[int, int] = {}
    for bi in cluster_of.values():
        sizes[bi] = sizes.get(bi, 0) + 1
    lang_counts: dict[str, int] = {}
    for lang, _, _ in docs:
        lang_counts[lang] = lang_counts.get(lang, 0) + 1
    meta = {
        "fingerprint": fingerprint, "folder": os.path.relpath(folder, ROOT), "documents": len(docs),
        "sources": used, "source_texts": len(texts), "source_pieces": pieces_total,
        "real_bases_available": len(real), "bases": n_bases, "real_bases": n_real,
        "synthetic_bases": n_bases - n_real, "variants": n_variants,
        "planted_clusters": sum(1 for s in sizes.values() if s > 1),
        "expected_removals": sum(s - 1 for s in sizes.values()),
        "chars": sum(len(t) for _, t, _ in docs),
        "avg_chars": round(sum(len(t) for _, t, _ in docs) / len(docs)),
        "unspaced_docs": sum(1 for l, _, _ in docs if l in UNSPACED_LANG_SCRIPT),
        "languages": dict(sorted(lang_counts.items())),
        "variant_replaced_share_mean": round(sum(replaced) / len(replaced), 4) if replaced else 0,
    }
    with open(os.path.join(folder, "truth.json"), "w") as f:
        json.dump(cluster_of, f)
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=1)
    return meta


def variant_similarity(meta: dict) -> dict:
    """Exact Jaccard (polycorp's shingles) of each variant with its base: how near the planted pairs are."""
    sys.path.insert(0, ROOT)
    from transforms.minhash import MinHashConfig, true_jaccard

    folder = os.path.join(ROOT, meta["folder"])
    docs = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".jsonl"):
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                for line in f:
                    row = json.loads(line)
                    docs[row["id"]] = row
    with open(os.path.join(folder, "truth.json")) as f:
        cluster_of = json.load(f)
    members: dict[int, list[str]] = {}
    for doc_id, c in cluster_of.items():
        members.setdefault(c, []).append(doc_id)
    config = MinHashConfig()
    sims, pairs = [], {}
    for c, ids in members.items():
        if len(ids) < 2:
            continue
        a = docs[ids[0]]
        for other in ids[1:]:
            sims.append(true_jaccard(a["text"], docs[other]["text"], a["lang"] in UNSPACED_LANG_SCRIPT, config))
        if len(ids) == 2:
            pairs[c] = sims[-1]
    with open(os.path.join(folder, "pair_jaccard.json"), "w") as f:  # clusters of two: their Jaccard
        json.dump(pairs, f)
    sims.sort()
    if not sims:
        return {}
    q = lambda p: round(sims[min(len(sims) - 1, int(p * len(sims)))], 3)  # noqa: E731
    return {"pairs": len(sims), "min": round(sims[0], 3), "p10": q(0.1), "median": q(0.5), "p90": q(0.9),
            "share_ge_0.7": round(sum(s >= 0.7 for s in sims) / len(sims), 3),
            "share_ge_0.8": round(sum(s >= 0.8 for s in sims) / len(sims), 3)}


def small_corpus(meta: dict, n_docs: int) -> str:
    """The first `n_docs` documents of a corpus, in a folder of their own (for fixed-cost runs)."""
    src = os.path.join(ROOT, meta["folder"])
    folder = os.path.join(WORK, f"corpus-{meta['documents']}-first-{n_docs}")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    with open(os.path.join(src, "docs-00000.jsonl"), encoding="utf-8") as f, \
            open(os.path.join(folder, "docs-00000.jsonl"), "w", encoding="utf-8") as out:
        ids = []
        for _, line in zip(range(n_docs), f):
            out.write(line)
            ids.append(json.loads(line)["id"])
    with open(os.path.join(src, "truth.json")) as f:
        cluster_of = json.load(f)
    with open(os.path.join(folder, "truth.json"), "w") as f:
        json.dump({i: cluster_of[i] for i in ids}, f)
    return folder


def read_corpus(folder: str) -> list[dict]:
    rows = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".jsonl"):
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                rows.extend(json.loads(line) for line in f)
    return rows


def score(removed: list[str], folder: str) -> dict:
    """Removed ids against the planted clusters."""
    with open(os.path.join(folder, "truth.json")) as f:
        cluster_of = json.load(f)
    sizes: dict[int, int] = {}
    for c in cluster_of.values():
        sizes[c] = sizes.get(c, 0) + 1
    removed_by_cluster: dict[int, int] = {}
    unknown = 0
    for doc_id in set(removed):
        if doc_id not in cluster_of:
            unknown += 1
            continue
        c = cluster_of[doc_id]
        removed_by_cluster[c] = removed_by_cluster.get(c, 0) + 1
    expected = sum(s - 1 for s in sizes.values())
    found = sum(min(n, sizes[c] - 1) for c, n in removed_by_cluster.items())
    n_removed = len(set(removed))
    out = {"removed": n_removed, "expected": expected, "found": found, "spurious": n_removed - found,
           "recall": round(found / expected, 4) if expected else None, "unknown_ids": unknown}
    pairs_path = os.path.join(folder, "pair_jaccard.json")
    if os.path.exists(pairs_path):  # recall over the clusters of two, by their exact Jaccard
        with open(pairs_path) as f:
            pairs = {int(c): j for c, j in json.load(f).items()}
        for label, keep in (("ge_0.7", lambda j: j >= 0.7), ("lt_0.7", lambda j: j < 0.7)):
            chosen = [c for c, j in pairs.items() if keep(j)]
            hit = sum(1 for c in chosen if removed_by_cluster.get(c))
            out[f"pairs_{label}"] = len(chosen)
            out[f"recall_pairs_{label}"] = round(hit / len(chosen), 4) if chosen else None
    return out


# ---------------------------------------------------------------------------------------------
# Workers (each runs in a fresh process; baselines in benchmarks/.venv-dedup)


def _rusage_cpu() -> tuple[float, float]:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime, c.ru_utime + c.ru_stime


def _tree_rss(pid: int) -> int:
    """RSS bytes of `pid` and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(name))
            except (OSError, ValueError, IndexError):
                pass
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            pass
    return total


class TreeSampler(threading.Thread):
    """Peak RSS of this process tree, sampled every `interval` s."""

    def __init__(self, interval: float = 0.25):
        super().__init__(daemon=True)
        self.interval, self.stop, self.peak = interval, threading.Event(), 0

    def run(self):
        me = os.getpid()
        while not self.stop.is_set():
            self.peak = max(self.peak, _tree_rss(me))
            self.stop.wait(self.interval)


def _finish(spec: dict, result: dict) -> int:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    result.setdefault("maxrss_self_mb", round(s.ru_maxrss / 1024, 1))
    result.setdefault("maxrss_largest_child_mb", round(c.ru_maxrss / 1024, 1))
    with open(spec["result"], "w") as f:
        json.dump(result, f)
    return 0


def worker_sig_polycorp(spec: dict) -> int:
    t0 = time.process_time()
    from transforms.minhash import MinHashConfig, MinHasher

    import_s = time.process_time() - t0
    rows = read_corpus(spec["corpus"])
    texts = [r["text"] for r in rows]
    unspaced = [r["lang"] in UNSPACED_LANG_SCRIPT for r in rows]
    hasher = MinHasher(MinHashConfig())
    t0 = time.process_time()
    hasher.signatures(texts[:8], unspaced[:8])  # first call: builds the character-class table
    first_call_s = time.process_time() - t0

    def one_pass(idx: list[int]) -> tuple[float, int]:
        t = time.process_time()
        missing = 0
        for i in range(0, len(idx), SIG_BATCH):
            batch = idx[i:i + SIG_BATCH]
            sigs = hasher.signatures([texts[j] for j in batch], [unspaced[j] for j in batch])
            missing += sum(s is None for s in sigs)
        return time.process_time() - t, missing

    all_idx = list(range(len(texts)))
    spaced_idx = [i for i in all_idx if not unspaced[i]]
    times = [one_pass(all_idx) for _ in range(spec["repeats"])]
    spaced_times = [one_pass(spaced_idx)[0] for _ in range(spec["repeats"])]
    from transforms.minhash import batch_shingle_hashes

    shingles = int(sum(batch_shingle_hashes(texts[i:i + SIG_BATCH], unspaced[i:i + SIG_BATCH], MinHashConfig())[1].sum()
                       for i in range(0, len(texts), SIG_BATCH)))
    cpu = min(t for t, _ in times)
    return _finish(spec, {
        "tool": "polycorp", "documents": len(texts), "spaced_documents": len(spaced_idx),
        "import_cpu_s": round(import_s, 3), "first_call_cpu_s": round(first_call_s, 3),
        "repeats_cpu_s": [round(t, 4) for t, _ in times], "cpu_s": cpu,
        "docs_per_cpu_s": len(texts) / cpu, "without_signature": times[0][1],
        "spaced_cpu_s": min(spaced_times), "spaced_docs_per_cpu_s": len(spaced_idx) / min(spaced_times),
        "shingles_per_doc": shingles / len(texts),
    })


def worker_sig_datasketch(spec: dict) -> int:
    import xxhash
    from datasketch import MinHash

    rows = read_corpus(spec["corpus"])
    texts = [r["text"] for r in rows]
    unspaced = [r["lang"] in UNSPACED_LANG_SCRIPT for r in rows]

    def shingle(text: str) -> list[bytes]:
        words = text.lower().split()
        return [" ".join(words[i:i + 5]).encode("utf-8") for i in range(max(1, len(words) - 4))]

    def signatures(idx, hashfunc=None) -> list:
        out = []
        for i in idx:
            m = MinHash(num_perm=NUM_PERM) if hashfunc is None else MinHash(num_perm=NUM_PERM, hashfunc=hashfunc)
            m.update_batch(shingle(texts[i]))
            out.append(m)
        return out

    def hash_only(shingled, hashfunc=None) -> list:
        out = []
        for sh in shingled:
            m = MinHash(num_perm=NUM_PERM) if hashfunc is None else MinHash(num_perm=NUM_PERM, hashfunc=hashfunc)
            m.update_batch(sh)
            out.append(m)
        return out

    def timed(fn, *a) -> tuple[float, object]:
        t = time.process_time()
        r = fn(*a)
        return time.process_time() - t, r

    all_idx = list(range(len(texts)))
    spaced_idx = [i for i in all_idx if not unspaced[i]]
    signatures(all_idx[:50])  # warm-up
    total = min(timed(signatures, all_idx)[0] for _ in range(spec["repeats"]))
    shingle_s, shingled = min((timed(lambda: [shingle(texts[i]) for i in all_idx]) for _ in range(spec["repeats"])),
                              key=lambda x: x[0])
    hash_s = min(timed(hash_only, shingled)[0] for _ in range(spec["repeats"]))
    spaced_s = min(timed(signatures, spaced_idx)[0] for _ in range(spec["repeats"]))

    def xxh32(b: bytes) -> int:
        return xxhash.xxh32_intdigest(b)

    xx_s = min(timed(signatures, all_idx, xxh32)[0] for _ in range(spec["repeats"]))
    n = len(texts)
    return _finish(spec, {
        "tool": "datasketch", "documents": n, "spaced_documents": len(spaced_idx),
        "cpu_s": total, "docs_per_cpu_s": n / total,
        "shingling_cpu_s": shingle_s, "minhash_only_cpu_s": hash_s, "minhash_only_docs_per_cpu_s": n / hash_s,
        "spaced_cpu_s": spaced_s, "spaced_docs_per_cpu_s": len(spaced_idx) / spaced_s,
        "xxh32_cpu_s": xx_s, "xxh32_docs_per_cpu_s": n / xx_s,
        "shingles_per_doc": sum(len(s) for s in shingled) / n,
    })


def _read_shard(path: str):
    """A JSON-lines file → ("k", Doc) elements (as the build's staging reader feeds its stages)."""
    from transforms.records import Doc

    fetched = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            lang = row["lang"]
            yield "k", Doc(id=row["id"], url=f"https://bench.example/{lang}/{row['id']}", host="bench.example",
                           fetched_at=fetched, source=path, title=None, text=row["text"], lang=lang,
                           script=UNSPACED_LANG_SCRIPT.get(lang, "Latn"), n_chars=len(row["text"]))


def _dup_line(key, dup) -> str:
    return f"{dup.id}\t{dup.duplicate_of}\t{dup.similarity:.3f}"


def worker_stage_polycorp(spec: dict) -> int:
    import logging

    logging.getLogger().setLevel(logging.ERROR)
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from transforms.config import load_config
    from transforms.dedup import DocKey
    from transforms.neardup import ComputeSignatures, NearDedup

    config = load_config().near_dedup
    paths = sorted(os.path.join(spec["corpus"], n) for n in os.listdir(spec["corpus"]) if n.endswith(".jsonl"))
    out_prefix = os.path.join(spec["out"], "duplicates")
    shutil.rmtree(spec["out"] + "-tmp", ignore_errors=True)
    options = PipelineOptions(["--runner=FnApiRunner", f"--direct_running_mode={spec['mode']}",
                               f"--direct_num_workers={spec['workers']}"])
    if spec.get("trace_heap"):
        import tracemalloc

        tracemalloc.start()
    profiler = None
    if spec.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
    sampler = TreeSampler()
    sampler.start()
    self0, child0 = _rusage_cpu()
    t0 = time.perf_counter()
    if profiler:
        profiler.enable()
    p = beam.Pipeline(options=options)
    keys = (p
            | "Paths" >> beam.Create(paths)
            | "Read" >> beam.FlatMap(_read_shard)
            | "MinHash" >> ComputeSignatures(config)
            | "Keys" >> beam.MapTuple(lambda _, doc: DocKey.of(doc)))
    if spec.get("signatures_only"):  # the part before NearDedup, for the split of the stage's cost
        lines = keys | "Count" >> beam.combiners.Count.Globally() | "Format" >> beam.Map(lambda n: f"count\t{n}")
    else:
        lines = keys | "NearDedup" >> NearDedup(config) | "Format" >> beam.MapTuple(_dup_line)
    _ = lines | "Write" >> beam.io.WriteToText(out_prefix, shard_name_template="")
    result = p.run()
    result.wait_until_finish()
    if profiler:
        profiler.disable()
    wall = time.perf_counter() - t0
    self1, child1 = _rusage_cpu()
    sampler.stop.set()
    sampler.join()
    heap_peak = None
    if spec.get("trace_heap"):
        heap_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    if profiler:
        profiler.dump_stats(spec["profile"])
    removed = []
    with open(out_prefix, encoding="utf-8") as f:
        for line in f:
            removed.append(line.split("\t", 1)[0])
    if spec.get("signatures_only"):
        removed = []
    counters, held = {}, {}
    metrics = result.metrics().query()
    for c in metrics["counters"]:
        counters[f"{c.key.metric.namespace}.{c.key.metric.name}"] = c.committed
    for d in metrics["distributions"]:  # what one reducer held at a time
        held[f"{d.key.metric.namespace}.{d.key.metric.name}"] = {"max": d.committed.max, "mean": d.committed.mean,
                                                                 "count": d.committed.count}
    n_docs = sum(1 for path in paths for _ in open(path, encoding="utf-8"))
    cpu = (self1 - self0) + (child1 - child0)
    return _finish(spec, {
        "tool": "polycorp", "mode": spec["mode"], "workers": spec["workers"], "documents": n_docs,
        "cpu_s": cpu, "cpu_self_s": self1 - self0, "cpu_children_s": child1 - child0, "wall_s": wall,
        "docs_per_cpu_s": n_docs / cpu, "removed_ids": removed, "counters": counters,
        "reducer_holds": held, "peak_tree_rss_mb": round(sampler.peak / 2**20, 1),
        "python_heap_peak_mb": round(heap_peak / 2**20, 1) if heap_peak is not None else None,
    })


def _baseline_record(path: str):
    """A JSON-lines file → one record per document the size of what NearDedup shuffles of it."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            doc_id = json.loads(line)["id"]
            yield hash(doc_id) % 1000, (doc_id, f"https://bench.example/{doc_id}", bytes(448))


def worker_runner_baseline(spec: dict) -> int:
    """The runner's own memory on the same corpus: a trivial job of the same size — read, one
    ~500-byte record per document, GroupByKey over 1,000 keys, count — nothing held by user code."""
    import logging

    logging.getLogger().setLevel(logging.ERROR)
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    paths = sorted(os.path.join(spec["corpus"], n) for n in os.listdir(spec["corpus"]) if n.endswith(".jsonl"))
    options = PipelineOptions(["--runner=FnApiRunner", f"--direct_running_mode={spec['mode']}",
                               f"--direct_num_workers={spec['workers']}"])
    sampler = TreeSampler()
    sampler.start()
    self0, child0 = _rusage_cpu()
    with beam.Pipeline(options=options) as p:
        _ = (p | beam.Create(paths) | beam.FlatMap(_baseline_record) | beam.GroupByKey()
             | beam.MapTuple(lambda k, values: sum(1 for _ in values)) | beam.CombineGlobally(sum))
    self1, child1 = _rusage_cpu()
    sampler.stop.set()
    sampler.join()
    return _finish(spec, {"tool": "runner-baseline", "mode": spec["mode"], "workers": spec["workers"],
                          "cpu_s": (self1 - self0) + (child1 - child0),
                          "peak_tree_rss_mb": round(sampler.peak / 2**20, 1)})


def worker_stage_datatrove(spec: dict) -> int:
    import logging

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
                                                  MinhashDedupFilter, MinhashDedupSignature)
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from loguru import logger

    logger.remove()  # no per-document logging to stderr
    logging.getLogger().setLevel(logging.ERROR)
    work = spec["out"]
    shutil.rmtree(work, ignore_errors=True)
    config = MinhashConfig()
    d = lambda name: os.path.join(work, name)  # noqa: E731
    stages = [
        ("signature", lambda: LocalPipelineExecutor(
            [JsonlReader(spec["corpus"], glob_pattern="*.jsonl"),
             MinhashDedupSignature(output_folder=d("signatures"), config=config)],
            tasks=1, workers=1, logging_dir=d("logs/signature"))),
        ("buckets", lambda: LocalPipelineExecutor(
            [MinhashDedupBuckets(input_folder=d("signatures"), output_folder=d("buckets"), config=config)],
            tasks=config.num_buckets, workers=1, logging_dir=d("logs/buckets"))),
        ("cluster", lambda: LocalPipelineExecutor(
            [MinhashDedupCluster(input_folder=d("buckets"), output_folder=d("remove_ids"), config=config)],
            tasks=1, workers=1, logging_dir=d("logs/cluster"))),
        ("filter", lambda: LocalPipelineExecutor(
            [JsonlReader(spec["corpus"], glob_pattern="*.jsonl"),
             MinhashDedupFilter(input_folder=d("remove_ids"),
                                exclusion_writer=JsonlWriter(d("removed"), compression=None))],
            tasks=1, workers=1, logging_dir=d("logs/filter"))),
    ]
    per_stage = {}
    self0, child0 = _rusage_cpu()
    t0 = time.perf_counter()
    for name, make in stages:
        s0, c0 = _rusage_cpu()
        make().run()
        s1, c1 = _rusage_cpu()
        per_stage[name] = round((s1 - s0) + (c1 - c0), 3)
    wall = time.perf_counter() - t0
    self1, child1 = _rusage_cpu()
    removed = []
    for root, _, files in os.walk(d("removed")):
        for name in files:
            with open(os.path.join(root, name), encoding="utf-8") as f:
                removed.extend(json.loads(line)["id"] for line in f)
    n_docs = sum(1 for n in os.listdir(spec["corpus"]) if n.endswith(".jsonl")
                 for _ in open(os.path.join(spec["corpus"], n), encoding="utf-8"))
    cpu = (self1 - self0) + (child1 - child0)
    return _finish(spec, {
        "tool": "datatrove", "documents": n_docs, "cpu_s": cpu, "wall_s": wall, "docs_per_cpu_s": n_docs / cpu,
        "cpu_by_stage_s": per_stage, "removed_ids": removed,
    })


def worker_stage_textdedup(spec: dict) -> int:
    import logging

    import datasets
    import text_dedup.minhash as tdm

    logging.getLogger().setLevel(logging.ERROR)
    logging.getLogger("text_dedup").setLevel(logging.WARNING)
    datasets.disable_progress_bars()
    work = spec["out"]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    args = ["--path", "json", "--data_files", os.path.join(spec["corpus"], "*.jsonl"), "--split", "train",
            "--cache_dir", os.path.join(work, "cache"), "--output", os.path.join(work, "kept"),
            "--column", "text", "--num_proc", "1", "--num_perm", str(NUM_PERM), "--b", "14", "--r", "8",
            "--ngram", "5", "--hash_func", "xxh3"]
    self0, child0 = _rusage_cpu()
    t0 = time.perf_counter()
    tdm.main.main(args=args, standalone_mode=False)
    wall = time.perf_counter() - t0
    self1, child1 = _rusage_cpu()
    kept = set(datasets.load_from_disk(os.path.join(work, "kept"))["id"])
    all_ids = [json.loads(line)["id"] for n in sorted(os.listdir(spec["corpus"])) if n.endswith(".jsonl")
               for line in open(os.path.join(spec["corpus"], n), encoding="utf-8")]
    removed = [i for i in all_ids if i not in kept]
    cpu = (self1 - self0) + (child1 - child0)
    return _finish(spec, {
        "tool": "text-dedup", "documents": len(all_ids), "cpu_s": cpu, "wall_s": wall,
        "docs_per_cpu_s": len(all_ids) / cpu, "removed_ids": removed,
    })


def worker_corpora(spec: dict) -> int:
    metas = {n: build_corpus(n) for n in spec["sizes"]}
    sims = variant_similarity(metas[spec["sizes"][0]]) if spec["similarity"] else {}
    with open(spec["result"], "w") as f:
        json.dump({"metas": metas, "similarity": sims}, f)
    return 0


WORKERS = {
    "corpora": worker_corpora,
    "sig-polycorp": worker_sig_polycorp,
    "sig-datasketch": worker_sig_datasketch,
    "stage-polycorp": worker_stage_polycorp,
    "runner-baseline": worker_runner_baseline,
    "stage-datatrove": worker_stage_datatrove,
    "stage-textdedup": worker_stage_textdedup,
}


# ---------------------------------------------------------------------------------------------
# Orchestration


def _machine_busy_s() -> float:
    from benchlib import machine_busy_s

    return machine_busy_s()


def _own_cpu_s() -> float:
    return sum(_rusage_cpu())


def run_once(name: str, kind: str, spec: dict) -> dict:
    os.makedirs(WORK, exist_ok=True)
    spec = dict(spec, result=os.path.join(WORK, f"{name}.result.json"))
    spec_path = os.path.join(WORK, f"{name}.spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    python = PROJECT_PY if kind in ("corpora", "sig-polycorp", "stage-polycorp", "runner-baseline") else DEDUP_PY
    env = dict(os.environ, PYTHONPATH=ROOT, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               HF_HOME=os.path.join(WORK, "hf-home"), TQDM_DISABLE="1", TOKENIZERS_PARALLELISM="false")
    busy0, own0, t0 = _machine_busy_s(), _own_cpu_s(), time.perf_counter()
    proc = subprocess.run([python, os.path.abspath(__file__), "--worker", kind, spec_path], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    other = max(0.0, (_machine_busy_s() - busy0) - (_own_cpu_s() - own0))
    if proc.returncode:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-5000:])
        raise SystemExit(f"neardup_speed: {name} failed (exit {proc.returncode})")
    with open(spec["result"]) as f:
        result = json.load(f)
    if kind == "corpora":
        return result
    result.update(name=name, process_wall_s=round(wall, 2), other_cpu_s=round(other, 2),
                  other_load=round(other / wall, 3))
    return result


def wait_quiet(max_wait: float = 45.0, window: float = 2.0, threshold: float = 0.1) -> float:
    """Wait (at most `max_wait` s) for a `window` in which other processes use < `threshold` cores;
    returns the load of the last window."""
    deadline = time.monotonic() + max_wait
    while True:
        busy0, own0 = _machine_busy_s(), _own_cpu_s()
        time.sleep(window)
        load = max(0.0, (_machine_busy_s() - busy0) - (_own_cpu_s() - own0)) / window
        if load < threshold or time.monotonic() > deadline:
            return load


def measure(name: str, kind: str, spec: dict, retries: int) -> dict:
    """Run a measurement once the machine is quiet (see wait_quiet); again (up to `retries` times)
    while other load > 0.1 core during it; the quietest run is kept."""
    runs = []
    for attempt in range(retries + 1):
        wait_quiet()
        r = run_once(name, kind, spec)
        runs.append(r)
        rate = f"{r['docs_per_cpu_s']:>9.0f} docs/CPU-s" if "docs_per_cpu_s" in r else ""
        print(f"  {name:<30} {r.get('cpu_s', 0):>7.2f} CPU s {rate}  maxrss {r['maxrss_self_mb']:>6.0f} MB"
              f"  other {r['other_load']:.2f}", flush=True)
        if r["other_load"] <= 0.1:
            break
        print(f"    other load {r['other_load']:.2f} > 0.1 core: again", flush=True)
    best = min(runs, key=lambda r: r["other_load"])
    best["attempts_other_load"] = [r["other_load"] for r in runs]
    return best


def ensure_dedup_venv() -> None:
    subprocess.run(["bash", os.path.join(HERE, "setup_dedup.sh")], check=True)


def venv_versions() -> dict:
    out = {}
    for python, names in ((PROJECT_PY, ["apache-beam", "numpy", "xxhash"]),
                          (DEDUP_PY, ["datasketch", "datatrove", "text-dedup", "datasets", "spacy", "numpy"])):
        code = ("import importlib.metadata as m, json, sys; "
                f"print(json.dumps({{n: m.version(n) for n in {names!r}}}))")
        res = subprocess.run([python, "-c", code], capture_output=True, text=True)
        if res.returncode == 0:
            out[os.path.basename(os.path.dirname(os.path.dirname(python)))] = json.loads(res.stdout)
    return out


def profile_polycorp(meta: dict) -> None:
    """cProfile of the polycorp stage (in_memory): where the time goes, by function."""
    import pstats

    prof = os.path.join(WORK, "polycorp-stage.prof")
    r = run_once("profile", "stage-polycorp", {"corpus": os.path.join(ROOT, meta["folder"]), "mode": "in_memory",
                                                "workers": 1, "out": os.path.join(WORK, "out-profile"),
                                                "profile": prof})
    print(f"profiled: {r['documents']} documents, {r['cpu_s']:.1f} CPU s under cProfile "
          f"(other load {r['other_load']:.2f})\n")
    stats = pstats.Stats(prof)
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(60)


def main() -> int:
    ap = argparse.ArgumentParser(description="polycorp's near-dup stage vs datasketch, datatrove, text-dedup.")
    ap.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}; JSON under benchmarks/work/")
    ap.add_argument("--sizes", type=lambda s: tuple(int(x) for x in s.split(",")),
                    help=f"corpus sizes for the memory runs, the first one for everything else "
                         f"(default {','.join(map(str, FULL_SIZES))})")
    ap.add_argument("--repeats", type=int, default=3, help="passes of the signature measurements (min taken)")
    ap.add_argument("--retries", type=int, default=2, help="reruns of a measurement disturbed by other load")
    ap.add_argument("--skip-baselines", action="store_true", help="polycorp only")
    ap.add_argument("--profile", action="store_true", help="only a cProfile of polycorp's stage on the 1× corpus")
    ap.add_argument("--json", help="where to write the figures")
    ap.add_argument("--worker", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        with open(args.worker[1]) as f:
            return WORKERS[args.worker[0]](json.load(f))

    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    default_run = sizes == FULL_SIZES and not args.quick and not args.skip_baselines
    json_path = args.json or (os.path.join(RESULTS, "neardup_speed.json") if default_run
                              else os.path.join(HERE, "work", "neardup_speed-last.json"))
    sys.path.insert(0, HERE)
    from benchlib import code_version

    t_start = time.perf_counter()
    commit_at_start = code_version()
    print("corpora …", flush=True)
    # built in a subprocess: a child's ru_maxrss starts from its parent's RSS at fork (Linux keeps the
    # high-water mark across exec), so this process must stay small
    built = run_once("corpora", "corpora", {"sizes": list(sizes), "similarity": not args.profile})
    metas = {int(n): m for n, m in built["metas"].items()}
    sims = built["similarity"]
    for n in sizes:
        m = metas[n]
        print(f"  {n:>6} documents: {m['bases']} bases ({m['real_bases']} real, {m['synthetic_bases']} synthetic) "
              f"+ {m['variants']} variants in {m['planted_clusters']} planted clusters; avg {m['avg_chars']} chars; "
              f"{m['unspaced_docs']} ja/zh", flush=True)
    base = metas[sizes[0]]
    corpus = os.path.join(ROOT, base["folder"])
    if args.profile:
        profile_polycorp(base)
        return 0
    if not args.skip_baselines:
        ensure_dedup_venv()
    print(f"  variants vs their base, exact Jaccard of polycorp's shingles: min {sims['min']}, "
          f"p10 {sims['p10']}, median {sims['median']}, p90 {sims['p90']}; ≥ 0.7: {sims['share_ge_0.7']:.0%}",
          flush=True)
    out = lambda name: os.path.join(WORK, f"out-{name}")  # noqa: E731
    results: dict = {"signatures": {}, "stage": {}, "memory": []}

    print("\n1. signatures …", flush=True)
    results["signatures"]["polycorp"] = measure("sig-polycorp", "sig-polycorp",
                                                {"corpus": corpus, "repeats": args.repeats}, args.retries)
    if not args.skip_baselines:
        results["signatures"]["datasketch"] = measure("sig-datasketch", "sig-datasketch",
                                                      {"corpus": corpus, "repeats": args.repeats}, args.retries)

    print("\n2. whole stage …", flush=True)
    stage = results["stage"]
    fixed_corpus = small_corpus(base, FIXED_COST_DOCS)
    runs = [  # (name, worker, spec): each tool on the 1× corpus, then on its first 100 documents
        ("polycorp-in_memory", "stage-polycorp", {"mode": "in_memory", "workers": 1}),
        ("polycorp-multi_processing", "stage-polycorp", {"mode": "multi_processing", "workers": 2}),
        ("polycorp-signatures_only", "stage-polycorp", {"mode": "in_memory", "workers": 1, "signatures_only": True}),
    ]
    if not args.skip_baselines:
        runs += [("datatrove", "stage-datatrove", {}), ("text-dedup", "stage-textdedup", {})]
    for name, kind, extra in runs:
        stage[name] = measure(f"stage-{name}", kind, dict(extra, corpus=corpus, out=out(name)), args.retries)
        if not extra.get("signatures_only"):
            stage[name]["quality"] = score(stage[name]["removed_ids"], corpus)
    for name, kind, extra in runs:
        if not extra.get("signatures_only"):
            fixed = measure(f"fixed-{name}", kind, dict(extra, corpus=fixed_corpus, out=out(f"fixed-{name}")),
                            args.retries)
            r = stage[name]
            r["fixed_cost"] = {k: fixed[k] for k in ("documents", "cpu_s", "wall_s", "other_load")}
            extra_docs, extra_cpu = r["documents"] - fixed["documents"], r["cpu_s"] - fixed["cpu_s"]
            r["net_docs_per_cpu_s"] = extra_docs / extra_cpu if extra_cpu > 0 else None

    print("\n3. memory as the corpus grows …", flush=True)
    for n in sizes:
        c = os.path.join(ROOT, metas[n]["folder"])
        row = {"documents": n}
        if n == sizes[0]:
            im, mp = stage["polycorp-in_memory"], stage["polycorp-multi_processing"]
        else:
            im = measure(f"memory-{n}-in_memory", "stage-polycorp",
                         {"corpus": c, "mode": "in_memory", "workers": 1, "out": out(f"mem-{n}")}, args.retries)
            mp = measure(f"memory-{n}-multi_processing", "stage-polycorp",
                         {"corpus": c, "mode": "multi_processing", "workers": 2, "out": out(f"mem-{n}-mp")},
                         args.retries)
            im["quality"] = score(im["removed_ids"], c)
            mp["quality"] = score(mp["removed_ids"], c)
        base_mp = measure(f"memory-{n}-runner-baseline", "runner-baseline",
                          {"corpus": c, "mode": "multi_processing", "workers": 2}, args.retries)
        heap = None
        if n in (sizes[0], sizes[-1]):  # tracemalloc makes the run ~6× slower: the smallest and largest only
            heap = measure(f"memory-{n}-heap", "stage-polycorp",
                           {"corpus": c, "mode": "in_memory", "workers": 1, "trace_heap": True,
                            "out": out(f"heap-{n}")}, args.retries)
        row.update({
            "in_memory": {k: im[k] for k in ("cpu_s", "wall_s", "docs_per_cpu_s", "maxrss_self_mb",
                                             "peak_tree_rss_mb", "other_load")} | {"quality": im["quality"]},
            "multi_processing": {k: mp[k] for k in ("cpu_s", "wall_s", "docs_per_cpu_s", "maxrss_self_mb",
                                                    "maxrss_largest_child_mb", "peak_tree_rss_mb", "other_load")}
            | {"quality": mp["quality"]},
            "runner_baseline_multi_processing": {k: base_mp[k] for k in (
                "cpu_s", "maxrss_self_mb", "maxrss_largest_child_mb", "peak_tree_rss_mb", "other_load")},
            "reducer_holds_max": {k.split(".", 1)[1]: v["max"] for k, v in im.get("reducer_holds", {}).items()},
            "heap": {k: heap[k] for k in ("cpu_s", "python_heap_peak_mb", "maxrss_self_mb", "other_load")}
            if heap else None,
        })
        results["memory"].append(row)

    report = make_report(results, metas, sizes, sims)
    if not args.skip_baselines:
        report["at_scale"] = at_scale(results, metas, sizes, args.retries)
    report.update({
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "polycorp_commit": commit_at_start if commit_at_start == code_version()
        else f"changed during the run: {commit_at_start} → {code_version()}",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "versions": venv_versions(),
        "corpora": {str(n): m for n, m in metas.items()},
        "variant_jaccard": sims,
        "total_wall_s": round(time.perf_counter() - t_start, 1),
    })
    print(f"\ntotal {report['total_wall_s']:.0f} s")
    os.makedirs(os.path.dirname(json_path), exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(report, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {os.path.relpath(json_path, ROOT)}")
    return 0


def at_scale(results: dict, metas: dict, sizes: tuple, retries: int) -> dict:
    """The faster baseline (text-dedup) on the largest corpus too, against polycorp's in_memory run
    of section 3 on the same corpus: the ratio once fixed costs no longer dominate."""
    n = sizes[-1]
    c = os.path.join(ROOT, metas[n]["folder"])
    td = measure(f"scale-{n}-text-dedup", "stage-textdedup", {"corpus": c, "out": os.path.join(WORK, f"out-scale-{n}-text-dedup")},
                 retries)
    td["quality"] = score(td["removed_ids"], c)
    pc = results["memory"][-1]["in_memory"]
    ratio = pc["docs_per_cpu_s"] / td["docs_per_cpu_s"]
    print(f"\n4. at {n} documents: polycorp in_memory {pc['docs_per_cpu_s']:.0f} docs/CPU-s (recall "
          f"{pc['quality']['recall']:.3f}), text-dedup {td['docs_per_cpu_s']:.0f} (recall {td['quality']['recall']:.3f}, "
          f"maxrss {td['maxrss_self_mb']:.0f} MB): {ratio:.2f}×")
    return {"documents": n, "polycorp_in_memory_docs_per_cpu_s": pc["docs_per_cpu_s"],
            "text_dedup": {k: v for k, v in td.items() if k != "removed_ids"}, "ratio_vs_text_dedup": ratio}


def make_report(results: dict, metas: dict, sizes: tuple, sims: dict) -> dict:
    """Print the tables; return the figures for the JSON (without the id lists)."""
    base = metas[sizes[0]]
    sig = results["signatures"]
    print(f"\n1. signatures, {base['documents']} documents of ~{base['avg_chars']} chars "
          f"({base['documents'] - base['unspaced_docs']} spaced-script, {base['unspaced_docs']} ja/zh), "
          f"min of passes, process CPU")
    print(f"  {'':<62} {'CPU s':>7} {'docs/CPU-s':>11} {'spaced only':>12} {'shingles/doc':>13}")
    p = sig["polycorp"]
    rows = [("polycorp MinHasher.signatures, batches of 256", p["cpu_s"], p["docs_per_cpu_s"],
             p["spaced_docs_per_cpu_s"], p["shingles_per_doc"])]
    ds = sig.get("datasketch")
    if ds:
        rows += [
            ("datasketch MinHash(112).update_batch, shingling included", ds["cpu_s"], ds["docs_per_cpu_s"],
             ds["spaced_docs_per_cpu_s"], ds["shingles_per_doc"]),
            ("  of which shingling (lower, split, join 5-grams, encode)", ds["shingling_cpu_s"], None, None, None),
            ("datasketch, shingling excluded", ds["minhash_only_cpu_s"], ds["minhash_only_docs_per_cpu_s"], None,
             None),
            ("datasketch, hashfunc=xxh32 (not its default), shingling incl.", ds["xxh32_cpu_s"],
             ds["xxh32_docs_per_cpu_s"], None, None),
        ]
    for label, cpu, rate, spaced, sh in rows:
        f = lambda v, w, d=0: f"{v:>{w}.{d}f}" if v is not None else " " * w  # noqa: E731
        print(f"  {label:<62} {cpu:>7.2f} {f(rate, 11)} {f(spaced, 12)} {f(sh, 13)}")
    print(f"  polycorp's first call in a process (character-class table): {p['first_call_cpu_s']:.2f} CPU s, "
          f"not in the figures above")
    sig_ratio = {}
    if ds:
        sig_ratio = {
            "vs_datasketch": p["docs_per_cpu_s"] / ds["docs_per_cpu_s"],
            "vs_datasketch_spaced_only": p["spaced_docs_per_cpu_s"] / ds["spaced_docs_per_cpu_s"],
            "vs_datasketch_without_shingling": p["docs_per_cpu_s"] / ds["minhash_only_docs_per_cpu_s"],
            "vs_datasketch_xxh32": p["docs_per_cpu_s"] / ds["xxh32_docs_per_cpu_s"],
        }
        print(f"  polycorp / datasketch: {sig_ratio['vs_datasketch']:.1f}× (spaced-script documents only: "
              f"{sig_ratio['vs_datasketch_spaced_only']:.1f}×; vs datasketch without shingling: "
              f"{sig_ratio['vs_datasketch_without_shingling']:.1f}×; vs datasketch with xxh32: "
              f"{sig_ratio['vs_datasketch_xxh32']:.1f}×)")

    st = results["stage"]
    print(f"\n2. whole near-dup stage, {base['documents']} documents in → duplicates out; "
          f"{base['expected_removals']} planted duplicates to remove; CPU of the process and its children")
    print(f"  {'':<42} {'CPU s':>7} {'wall s':>7} {'docs/CPU-s':>11} {'fixed CPU s':>12} {'net docs/CPU-s':>15} "
          f"{'removed':>8} {'found':>6} {'recall':>7} {'spurious':>9} {'maxrss':>7} {'other':>6}")
    labels = {"polycorp-in_memory": "polycorp, Beam in_memory ×1",
              "polycorp-multi_processing": "polycorp, Beam multi_processing ×2",
              "polycorp-signatures_only": "  its part before NearDedup (in_memory)",
              "datatrove": "datatrove, 4 MinHash stages", "text-dedup": "text-dedup minhash (in-process CLI)"}
    for name, label in labels.items():
        r = st.get(name)
        if not r:
            continue
        q = r.get("quality")
        qs = (f"{q['removed']:>8} {q['found']:>6} {q['recall']:>7.3f} {q['spurious']:>9}" if q
              else f"{'':>8} {'':>6} {'':>7} {'':>9}")
        fixed = f"{r['fixed_cost']['cpu_s']:>12.2f}" if "fixed_cost" in r else " " * 12
        net = f"{r['net_docs_per_cpu_s']:>15.0f}" if r.get("net_docs_per_cpu_s") else " " * 15
        rss = max(r["maxrss_self_mb"], r.get("maxrss_largest_child_mb") or 0)
        print(f"  {label:<42} {r['cpu_s']:>7.2f} {r['wall_s']:>7.2f} {r['docs_per_cpu_s']:>11.0f} {fixed} {net} "
              f"{qs} {rss:>7.0f} {r['other_load']:>6.2f}")
    scored = [(label, st[name]["quality"]) for name, label in labels.items()
              if name in st and st[name].get("quality", {}).get("recall_pairs_ge_0.7") is not None]
    if scored:
        q0 = scored[0][1]
        print(f"  recall over the planted clusters of two, by the pair's exact Jaccard: "
              f"J ≥ 0.7 ({q0['pairs_ge_0.7']} pairs): "
              + ", ".join(f"{label.split(',')[0].split(' (')[0]} {q['recall_pairs_ge_0.7']:.3f}"
                          for label, q in scored if "multi" not in label)
              + f"; J < 0.7 ({q0['pairs_lt_0.7']} pairs): "
              + ", ".join(f"{label.split(',')[0].split(' (')[0]} {q['recall_pairs_lt_0.7']:.3f}"
                          for label, q in scored if "multi" not in label))
    print(f"  fixed CPU s = the same run on the first {FIXED_COST_DOCS} documents; net = (documents − "
          f"{FIXED_COST_DOCS}) / (CPU s − fixed CPU s); maxrss = largest process")
    if "datatrove" in st:
        print("  datatrove CPU by stage (s): "
              + ", ".join(f"{k} {v:.2f}" for k, v in st["datatrove"]["cpu_by_stage_s"].items()))
    im = st["polycorp-in_memory"]
    stage_ratio = {}
    baselines = [n for n in ("datatrove", "text-dedup") if n in st]
    for b in baselines:
        for mode in ("in_memory", "multi_processing"):
            r = st[f"polycorp-{mode}"]
            stage_ratio[f"{mode}_vs_{b}"] = r["docs_per_cpu_s"] / st[b]["docs_per_cpu_s"]
            if r.get("net_docs_per_cpu_s") and st[b].get("net_docs_per_cpu_s"):
                stage_ratio[f"{mode}_vs_{b}_net"] = r["net_docs_per_cpu_s"] / st[b]["net_docs_per_cpu_s"]
    if baselines:
        faster = max(baselines, key=lambda n: st[n]["docs_per_cpu_s"])
        stage_ratio["faster_baseline"] = faster
        stage_ratio["in_memory_vs_faster_baseline"] = stage_ratio[f"in_memory_vs_{faster}"]
        for b in baselines:
            print(f"  polycorp / {b}: in_memory {stage_ratio[f'in_memory_vs_{b}']:.2f}× "
                  f"(net {stage_ratio.get(f'in_memory_vs_{b}_net', float('nan')):.2f}×), multi_processing "
                  f"{stage_ratio[f'multi_processing_vs_{b}']:.2f}× "
                  f"(net {stage_ratio.get(f'multi_processing_vs_{b}_net', float('nan')):.2f}×)")
    if "polycorp-signatures_only" in st:
        so = st["polycorp-signatures_only"]
        print(f"  polycorp in_memory: read + signatures + DocKey {so['cpu_s']:.2f} CPU s, NearDedup (LSH, "
              f"verification, components, duplicates) the other {im['cpu_s'] - so['cpu_s']:.2f}")
    net = im.get("net_docs_per_cpu_s")

    print("\n3. polycorp's stage memory as the corpus grows (peak RSS, MB; heap = tracemalloc peak, in_memory)")
    print(f"  {'documents':>9} {'in_memory: maxrss':>18} {'docs/CPU-s':>11} {'multi_proc: runner':>19} "
          f"{'largest worker':>15} {'tree peak':>10} {'docs/CPU-s':>11} {'heap peak':>10} {'recall':>7} {'other':>6}"
          f" {'baseline worker':>16} {'worker − baseline':>18} {'reducer holds (docs, docs, edges)':>34}")
    for row in results["memory"]:
        im_, mp_, hp = row["in_memory"], row["multi_processing"], row["heap"]
        other = max(im_["other_load"], mp_["other_load"], hp["other_load"] if hp else 0)
        heap = f"{hp['python_heap_peak_mb']:>10.1f}" if hp else f"{'-':>10}"
        print(f"  {row['documents']:>9} {im_['maxrss_self_mb']:>18.0f} {im_['docs_per_cpu_s']:>11.0f} "
              f"{mp_['maxrss_self_mb']:>19.0f} {mp_['maxrss_largest_child_mb']:>15.0f} "
              f"{mp_['peak_tree_rss_mb']:>10.0f} {mp_['docs_per_cpu_s']:>11.0f} {heap} "
              f"{im_['quality']['recall']:>7.3f} {other:>6.2f}"
              f" {row['runner_baseline_multi_processing']['maxrss_largest_child_mb']:>16.0f}"
              f" {mp_['maxrss_largest_child_mb'] - row['runner_baseline_multi_processing']['maxrss_largest_child_mb']:>18.0f}"
              f" {', '.join(str(row['reducer_holds_max'].get(k, '-')) for k in ('band_group_documents', 'join_partition_documents', 'cc_partition_edges')):>34}")
    mem = results["memory"]
    growth = {}
    if len(mem) >= 2:
        a, b = mem[0], mem[-1]
        dn = (b["documents"] - a["documents"]) / 1000
        growth = {
            "in_memory_rss_mb_per_1000_docs": (b["in_memory"]["maxrss_self_mb"]
                                               - a["in_memory"]["maxrss_self_mb"]) / dn,
            "largest_worker_rss_mb_per_1000_docs": (b["multi_processing"]["maxrss_largest_child_mb"]
                                                    - a["multi_processing"]["maxrss_largest_child_mb"]) / dn,
            "runner_rss_mb_per_1000_docs": (b["multi_processing"]["maxrss_self_mb"]
                                            - a["multi_processing"]["maxrss_self_mb"]) / dn,
            "heap_mb_per_1000_docs": (b["heap"]["python_heap_peak_mb"] - a["heap"]["python_heap_peak_mb"]) / dn,
            "runner_baseline_largest_worker_rss_mb_per_1000_docs": (
                b["runner_baseline_multi_processing"]["maxrss_largest_child_mb"]
                - a["runner_baseline_multi_processing"]["maxrss_largest_child_mb"]) / dn,
        }
        growth["largest_worker_minus_baseline_mb_per_1000_docs"] = (
            growth["largest_worker_rss_mb_per_1000_docs"]
            - growth["runner_baseline_largest_worker_rss_mb_per_1000_docs"])
        print(f"  {a['documents']} → {b['documents']} documents: in_memory process "
              f"+{growth['in_memory_rss_mb_per_1000_docs']:.1f} MB per 1,000 docs, runner "
              f"+{growth['runner_rss_mb_per_1000_docs']:.1f}, largest worker "
              f"+{growth['largest_worker_rss_mb_per_1000_docs']:.1f}, Python heap "
              f"+{growth['heap_mb_per_1000_docs']:.2f}; the runner alone (baseline job, largest worker) "
              f"+{growth['runner_baseline_largest_worker_rss_mb_per_1000_docs']:.1f}, so polycorp's own "
              f"{growth['largest_worker_minus_baseline_mb_per_1000_docs']:+.2f} MB per 1,000 docs per worker")
    print("  baseline = the same runner (multi_processing ×2) on the same corpus running a trivial job of the "
          "same size (read → ~500-byte record per document → GroupByKey → count): the local runner ships a "
          "stage's whole input to its workers, so its workers grow with the corpus whatever the job; "
          "reducer holds = the largest share one reducer held at a time (Beam distribution metrics, max): "
          "a (band, partition) group, a join partition, a components partition")
    print("  other = cores busy with anything else on the machine during the run (should be ~0)")

    strip = lambda r: {k: v for k, v in r.items() if k != "removed_ids"}  # noqa: E731
    return {
        "signatures": {k: strip(v) for k, v in sig.items()},
        "signature_ratios": sig_ratio,
        "stage": {k: strip(v) for k, v in st.items()},
        "stage_ratios": stage_ratio,
        "polycorp_in_memory_net_docs_per_cpu_s": net,
        "memory": mem,
        "memory_growth": growth,
    }


if __name__ == "__main__":
    sys.exit(main())
