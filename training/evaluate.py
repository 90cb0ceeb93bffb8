"""`polycorp eval`: a trained run on held-out documents and pairs (`training.split`: never served by
the loader nor read by the tokenizer).

- bits per byte per language: the model's negative log-likelihood of each held-out document's
  tokens (in windows of the training length, each opened by the language tag, which is not
  scored), in bits, over the document's UTF-8 bytes — comparable across tokenizers and scripts.
- retrieval precision@1 per language pair and direction: "a-b" = for each held-out a-side
  sentence, is its pair the nearest b-side sentence (cosine of mean-pooled states) among all
  held-out b-side sentences of the pair? Chance is 1 / candidates (reported beside it).
- chrF (sacrebleu) of greedy translations per direction: `<2b> source <sep>` → decoded until eos.
- `eval.json` and plots in RUN/plots/: loss curves (metrics.jsonl), bits per byte per language.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import torch

from training.data import LoaderConfig, verify_shard
from training.loop import TrainError, check_vocab, checkpoint_dirs, checkpoint_step, init_distributed, load_weights, resolve_device
from training.model import IGNORE_INDEX, DecoderLM, ModelConfig, bits_per_byte, lm_loss
from training.split import HELDOUT_COLUMNS, SPLIT, heldout
from training.tokenizer import Tokenizer
from transforms import fs
from transforms.manifest import manifest_rows


def load_run(run_dir: Path, device: torch.device) -> tuple[dict, Tokenizer, DecoderLM, int]:
    """(config.json, tokenizer, model with the newest checkpoint's weights, its step)."""
    config_path = run_dir / "config.json"
    if not config_path.exists():
        raise TrainError(f"{run_dir} holds no run (no config.json): train one with `polycorp train`")
    checkpoints = checkpoint_dirs(run_dir)
    if not checkpoints:
        raise TrainError(f"{run_dir} holds no finished checkpoint: train (or resume) until one is written")
    config = json.loads(config_path.read_text())
    model = DecoderLM(ModelConfig.from_dict(config["model"])).to(device)
    load_weights(checkpoints[-1], model, device)
    model.eval()
    tokenizer = Tokenizer(run_dir / config["tokenizer"])
    check_vocab(tokenizer, model.config.vocab_size, run_dir)
    return config, tokenizer, model, checkpoint_step(checkpoints[-1])


def heldout_docs(build_dir: Path, manifest: dict, fraction: float, per_lang: int,
                 split: str = SPLIT) -> dict[str, list[str]]:
    """Held-out documents' texts per language, in shard order, at most per_lang each (`split`: the
    run's, see `training.split.heldout`)."""
    langs = sorted({s["lang"] for s in manifest["shards"] if s["kind"] == "docs" and s["rows"]})
    out = {}
    for lang in langs:  # stops reading a language once it has per_lang documents
        rows = manifest_rows(str(build_dir), manifest, "docs", ["text", *HELDOUT_COLUMNS["docs"]], ("lang", lang),
                             verify_shard)
        texts = list(itertools.islice((r["text"] for r in rows if heldout("docs", r, fraction, split)), per_lang))
        if texts:
            out[lang] = texts
    return out


def heldout_pairs(build_dir: Path, manifest: dict, fraction: float, per_pair: int,
                  split: str = SPLIT) -> dict[str, list[tuple[str, str]]]:
    """Held-out sentence pairs per language pair, each source and each target text at most once
    (a repeated text would make precision@1 ambiguous)."""
    pairs = sorted({s["pair"] for s in manifest["shards"] if s["kind"] == "bitext" and s["rows"]})
    out = {}
    for pair in pairs:
        seen_src, seen_tgt, rows = set(), set(), []
        for r in manifest_rows(str(build_dir), manifest, "bitext", ["src_text", "tgt_text", *HELDOUT_COLUMNS["bitext"]],
                               ("pair", pair), verify_shard):
            if len(rows) >= per_pair:
                break
            if (heldout("bitext", r, fraction, split)
                    and r["src_text"] not in seen_src and r["tgt_text"] not in seen_tgt):
                seen_src.add(r["src_text"])
                seen_tgt.add(r["tgt_text"])
                rows.append((r["src_text"], r["tgt_text"]))
        if len(rows) >= 2:
            out[pair] = rows
    return out


@torch.no_grad()
def document_bits_per_byte(model: DecoderLM, tok: Tokenizer, lang: str, texts: list[str], seq_len: int,
                           device: torch.device, batch_size: int = 16) -> float:
    tag = tok.lang_id(lang)
    windows = []
    for text in texts:
        ids = tok.encode(text)
        for start in range(0, len(ids), seq_len - 1):
            chunk = ids[start:start + seq_len - 1]
            windows.append(([tag] + chunk, [IGNORE_INDEX] + chunk))
    nll = 0.0
    for i in range(0, len(windows), batch_size):
        group = windows[i:i + batch_size]
        width = max(len(w[0]) for w in group)
        ids = torch.full((len(group), width), tok.pad_id, dtype=torch.long)
        labels = torch.full((len(group), width), IGNORE_INDEX, dtype=torch.long)
        for row, (x, y) in enumerate(group):
            ids[row, :len(x)], labels[row, :len(y)] = torch.tensor(x), torch.tensor(y)
        nll += float(lm_loss(model, ids.to(device), labels.to(device), reduction="sum"))
    return bits_per_byte(nll, sum(len(t.encode("utf-8")) for t in texts))


def _padded(rows: list[list[int]], pad_id: int, left: bool = False) -> torch.Tensor:
    width = max(map(len, rows))
    out = torch.full((len(rows), width), pad_id, dtype=torch.long)
    for i, r in enumerate(rows):
        if left:
            out[i, width - len(r):] = torch.tensor(r)
        else:
            out[i, :len(r)] = torch.tensor(r)
    return out


@torch.no_grad()
def embed(model: DecoderLM, tok: Tokenizer, texts: list[str], pair_len: int, device: torch.device) -> torch.Tensor:
    """Sentences as the loader's pair examples see them: `bos tokens eos`, cut to pair_len."""
    rows = [([tok.bos_id] + tok.encode(t)[:pair_len - 2] + [tok.eos_id]) for t in texts]
    out = [model.embed_sentences(_padded(rows[i:i + 64], tok.pad_id).to(device), tok.pad_id) for i in range(0, len(rows), 64)]
    return torch.cat(out)


def precision_at_1(src: torch.Tensor, tgt: torch.Tensor) -> tuple[float, float]:
    """(src→tgt, tgt→src): the share of rows whose nearest neighbour is their own pair."""
    sims = src @ tgt.T
    gold = torch.arange(len(src), device=sims.device)
    return float((sims.argmax(dim=1) == gold).float().mean()), float((sims.argmax(dim=0) == gold).float().mean())


@torch.no_grad()
def greedy_translate(model: DecoderLM, tok: Tokenizer, sources: list[str], tgt_lang: str, seq_len: int,
                     max_new_tokens: int, device: torch.device) -> list[str]:
    """`<2tgt> source <sep>` → greedy tokens until eos, a batch at a time (left-padded prompts)."""
    max_new_tokens = min(max_new_tokens, seq_len // 2)
    budget = max(1, seq_len - max_new_tokens - 2)
    prompts = [[tok.lang_id(tgt_lang)] + tok.encode(s)[:budget] + [tok.sep_id] for s in sources]
    ids = _padded(prompts, tok.pad_id, left=True).to(device)
    mask = (ids != tok.pad_id).long()
    done = [False] * len(prompts)
    out = [[] for _ in prompts]
    for _ in range(min(max_new_tokens, model.config.max_seq_len - ids.shape[1])):
        nxt = model(ids, mask)[:, -1].argmax(dim=-1)
        for i, token in enumerate(nxt.tolist()):  # one device-to-host copy a token, not one a row
            if not done[i]:
                if token == tok.eos_id:
                    done[i] = True
                else:
                    out[i].append(token)
        if all(done):
            break
        ids = torch.cat((ids, nxt[:, None]), dim=1)
        mask = torch.cat((mask, torch.ones_like(nxt)[:, None]), dim=1)
    return [tok.decode(o) for o in out]


def evaluate(run_dir: str, build_dir: str | None = None, device: str = "auto", docs_per_lang: int = 20,
             pairs_per_pair: int = 100, chrf_per_pair: int = 16, chrf_language_pairs: int | None = 10,
             max_new_tokens: int = 48) -> dict:
    """Score the run's newest checkpoint; writes RUN/eval.json and RUN/plots/. Greedy decoding is
    the slow part: chrF covers the `chrf_language_pairs` language pairs with the most held-out
    pairs (None: all), `chrf_per_pair` sentences each way."""
    import sacrebleu

    run = Path(run_dir)
    dev = resolve_device(device, init_distributed("cpu"))
    config, tok, model, step = load_run(run, dev)
    if not os.access(run, os.W_OK):  # before the work, not when eval.json is written
        raise TrainError(f"{run} is not writable: eval writes eval.json and plots/ there")
    build = str(build_dir or config["data"])
    manifest_path = fs.join(build, "manifest.json")
    if not fs.exists(manifest_path):
        raise TrainError(f"{build} is not a finished build (no manifest.json): pass --data BUILD_DIR")
    manifest = fs.read_json(manifest_path)
    # a run of an older polycorp: documents held out by id, translation rows as long as lm windows
    split = config.get("split", "id")
    loader = LoaderConfig(**{"mt_len": config["loader"]["seq_len"], **config["loader"]})
    fraction, seq_len, pair_len = loader.heldout_fraction, loader.seq_len, loader.pair_len
    if fraction <= 0:
        raise TrainError(f"{run} was trained with nothing held out (heldout_fraction {fraction}), so there is nothing "
                         "unseen to score it on; train with --heldout-fraction above 0")
    if chrf_language_pairs is not None and chrf_language_pairs < 0:
        raise TrainError(f"--chrf-language-pairs must be 0 or more, got {chrf_language_pairs}")
    docs = heldout_docs(build, manifest, fraction, docs_per_lang, split)
    pairs = heldout_pairs(build, manifest, fraction, pairs_per_pair, split)
    result = {"step": step, "heldout_fraction": fraction,
              "bits_per_byte": {lang: document_bits_per_byte(model, tok, lang, texts, seq_len, dev)
                                for lang, texts in docs.items()},
              "retrieval_p_at_1": {}, "retrieval_chance": {}, "chrf": {},
              "heldout": {"documents": {k: len(v) for k, v in docs.items()}, "pairs": {k: len(v) for k, v in pairs.items()}}}
    translated = sorted(pairs, key=lambda p: (-len(pairs[p]), p))[:chrf_language_pairs]
    for pair, rows in pairs.items():
        a, b = pair.split("-")
        src = embed(model, tok, [s for s, _ in rows], pair_len, dev)
        tgt = embed(model, tok, [t for _, t in rows], pair_len, dev)
        forward, backward = precision_at_1(src, tgt)
        result["retrieval_p_at_1"][f"{a}-{b}"], result["retrieval_p_at_1"][f"{b}-{a}"] = forward, backward
        result["retrieval_chance"][pair] = 1 / len(rows)
        some = rows[:chrf_per_pair] if pair in translated else []
        for (x, y), direction in (((0, 1), f"{a}-{b}"), ((1, 0), f"{b}-{a}")):
            if not some:
                continue
            target_lang = direction.split("-")[1]
            hyps = greedy_translate(model, tok, [r[x] for r in some], target_lang, loader.translation_len,
                                    max_new_tokens, dev)
            result["chrf"][direction] = sacrebleu.corpus_chrf(hyps, [[r[y] for r in some]]).score
    (run / "eval.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    plot_run(run, result)
    return result


def plot_run(run: Path, result: dict) -> list[Path]:
    """plots/loss.png (each objective over steps, from metrics.jsonl) and plots/bits_per_byte.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = run / "plots"
    out.mkdir(exist_ok=True)
    metrics = run / "metrics.jsonl"
    records = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()] if metrics.exists() else []
    paths = []
    fig, ax = plt.subplots(figsize=(7, 4))
    for key in ("loss", "lm", "mt", "retrieval"):
        points = [(r["step"], r[key]) for r in records if key in r]
        if points:
            ax.plot(*zip(*points), label=key)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats)")
    ax.legend()
    ax.set_title("training losses")
    fig.tight_layout()
    paths.append(out / "loss.png")
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)
    bpb = result["bits_per_byte"]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(list(bpb), list(bpb.values()))
    ax.set_ylabel("bits per byte (held-out)")
    ax.set_title(f"bits per byte per language, step {result['step']}")
    fig.tight_layout()
    paths.append(out / "bits_per_byte.png")
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)
    return paths
