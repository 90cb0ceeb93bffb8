"""The decoder and its objectives, on a tiny model over byte ids of the sample's man-page titles.

Text is tokenised as UTF-8 bytes (id = byte + 4, below them four special ids), which needs no
trained tokenizer and makes bits per byte exact. English/German title pairs of the same man page
are the translation pairs.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from training.model import (
    DecoderLM,
    ModelConfig,
    apply_rope,
    attention_mask_4d,
    bits_per_byte,
    combined_loss,
    count_parameters,
    flops_per_token,
    lm_loss,
    mt_loss,
    retrieval_loss,
    rope_tables,
)

PAD, SEP, EOS, TO_DE = 0, 1, 2, 3
BYTE_OFFSET = 4
TINY = ModelConfig(
    vocab_size=256 + BYTE_OFFSET, d_model=64, n_layers=2, n_heads=4, d_ff=160,
    max_seq_len=256, dropout=0.0, pad_id=PAD,
)


def byte_ids(text: str) -> list[int]:
    return [b + BYTE_OFFSET for b in text.encode("utf-8")]


def right_padded(rows: list[list[int]]) -> torch.Tensor:
    width = max(map(len, rows))
    return torch.tensor([row + [PAD] * (width - len(row)) for row in rows])


def lm_labels(input_ids: torch.Tensor) -> torch.Tensor:
    """Plain LM labels: the tokens themselves, no loss on padding."""
    return input_ids.masked_fill(input_ids == PAD, -100)


@pytest.fixture(scope="session")
def title_pairs(gold) -> list[tuple[str, str]]:
    """(English, German) descriptions of the same man page, e.g. ("list directory contents",
    "Verzeichnisinhalte auflisten"), from titles such as "ls(1) — list directory contents"."""
    titles: dict[str, dict[str, str]] = {}
    for page in gold:
        if not page.get("duplicate_of"):
            page_name = page["url"].rsplit("/", 1)[-1]
            titles.setdefault(page_name, {})[page["lang"]] = page["title"].split(" — ", 1)[1]
    return [(t["en"], t["de"]) for _, t in sorted(titles.items()) if {"en", "de"} <= t.keys()]


@pytest.fixture
def model() -> DecoderLM:
    torch.manual_seed(0)
    return DecoderLM(TINY).eval()


@pytest.fixture
def batch(title_pairs) -> torch.Tensor:
    """Four English descriptions as a right-padded batch of byte ids."""
    return right_padded([byte_ids(en) for en, _ in title_pairs[:4]])


def translation_example(source: str, target: str) -> list[int]:
    return [TO_DE] + byte_ids(source) + [SEP] + byte_ids(target) + [EOS]


# --- config, size, cost ---------------------------------------------------------------------


def test_config_round_trips_through_json():
    restored = ModelConfig.from_dict(json.loads(json.dumps(TINY.to_dict())))
    assert restored == TINY
    with pytest.raises(TypeError):
        ModelConfig.from_dict({**TINY.to_dict(), "n_kv_heads": 2})
    with pytest.raises(ValueError):
        ModelConfig(vocab_size=260, d_model=60, n_heads=8)


def test_parameter_count_counts_the_tied_embedding_once(model):
    d, ff, layers = TINY.d_model, TINY.d_ff, TINY.n_layers
    per_block = 4 * d * d + 3 * d * ff + 2 * d  # qkv + out, gate/up/down, two norms
    assert count_parameters(model) == TINY.vocab_size * d + layers * per_block + d


def test_flops_per_token_is_6n_plus_attention(model):
    n = count_parameters(model)
    assert flops_per_token(model, seq_len=128) == 6 * n + 12 * 2 * 64 * 128


# --- the model ------------------------------------------------------------------------------


@pytest.mark.parametrize("with_padding_mask", [False, True])
def test_changing_a_token_changes_no_earlier_logits(model, batch, with_padding_mask):
    t = 10
    changed = batch.clone()
    changed[:, t] = byte_ids("#")[0]
    mask = (batch != PAD).long() if with_padding_mask else None
    with torch.no_grad():
        before, after = model(batch, mask), model(changed, mask)
    torch.testing.assert_close(after[:, :t], before[:, :t], rtol=0, atol=1e-6)
    assert not torch.allclose(after[:, t], before[:, t], atol=1e-4)


def test_rope_scores_depend_only_on_relative_position():
    torch.manual_seed(0)
    head_dim = 32
    cos, sin = rope_tables(head_dim, 128, base=10000.0)
    q, k = torch.randn(2, 1, head_dim)

    def score(q_pos: int, k_pos: int) -> float:
        rq = apply_rope(q, cos[q_pos:q_pos + 1], sin[q_pos:q_pos + 1])
        rk = apply_rope(k, cos[k_pos:k_pos + 1], sin[k_pos:k_pos + 1])
        return (rq * rk).sum().item()

    assert score(3, 7) == pytest.approx(score(53, 57), abs=1e-4)
    assert score(20, 5) == pytest.approx(score(120, 105), abs=1e-4)
    assert score(3, 7) != pytest.approx(score(3, 9), abs=1e-2)


def test_attention_mask_is_causal_hides_pads_and_leaves_no_row_empty():
    left_padded = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 0]])
    mask = attention_mask_4d(left_padded)[:, 0]
    assert mask.shape == (2, 4, 4)
    assert not mask.triu(diagonal=1).any()  # no query sees a later key
    assert not mask[0, 2:, :2].any()  # real queries do not see the leading pads
    assert mask[0, 3, 2:].all() and mask[1, 2, :3].all()  # but do see every earlier token
    assert mask.any(dim=-1).all()  # the leading pads attend to themselves


def test_padding_leaves_the_pooled_embedding_unchanged(model, title_pairs):
    """Right padding checks the pooling skips pads; left padding checks the attention mask
    (and RoPE: the tokens sit at shifted absolute positions)."""
    short, long = byte_ids(title_pairs[0][1]), byte_ids(title_pairs[1][1] + " " + title_pairs[2][1])
    pads = [PAD] * (len(long) - len(short))
    with torch.no_grad():
        alone = model.embed_sentences(torch.tensor([short]), PAD)
        right = model.embed_sentences(torch.tensor([short + pads, long]), PAD)
        left = model.embed_sentences(torch.tensor([pads + short, long]), PAD)
    torch.testing.assert_close(right[:1], alone, rtol=0, atol=1e-5)
    torch.testing.assert_close(left[:1], alone, rtol=0, atol=1e-5)
    torch.testing.assert_close(left.norm(dim=-1), torch.ones(2))


def test_dropout_acts_in_training_mode_only(batch):
    model = DecoderLM(ModelConfig(**{**TINY.to_dict(), "dropout": 0.5}))
    with torch.no_grad():
        assert not torch.equal(model.train()(batch), model(batch))
        assert torch.equal(model.eval()(batch), model(batch))


# --- objectives -----------------------------------------------------------------------------


def test_lm_loss_is_shifted_cross_entropy_ignoring_minus_100(model, batch):
    labels = lm_labels(batch)
    labels[0, :5] = -100  # a prompt without loss, as well as the padding
    with torch.no_grad():
        log_probs = model(batch).log_softmax(-1)
        manual = [
            -log_probs[b, t - 1, labels[b, t]]
            for b in range(batch.shape[0]) for t in range(1, batch.shape[1]) if labels[b, t] != -100
        ]
        assert lm_loss(model, batch, labels).item() == pytest.approx(torch.stack(manual).mean().item(), rel=1e-5)
        assert lm_loss(model, batch, labels, "sum").item() == pytest.approx(torch.stack(manual).sum().item(), rel=1e-5)
        per_token = lm_loss(model, batch, labels, "none")
    assert per_token.shape == (batch.shape[0], batch.shape[1] - 1)
    assert per_token[0, :4].eq(0).all() and per_token[0, 4] > 0


def test_mt_loss_counts_only_the_target(model, title_pairs):
    examples = [translation_example(en, de) for en, de in title_pairs[:3]]
    input_ids = right_padded(examples)
    labels = lm_labels(input_ids)
    target_only = labels.clone()
    for row, example in enumerate(examples):
        target_only[row, : example.index(SEP) + 1] = -100
    scrambled = labels.clone()
    for row, example in enumerate(examples):
        scrambled[row, 1 : example.index(SEP)] = byte_ids("x")[0]
    with torch.no_grad():
        loss = mt_loss(model, input_ids, labels, SEP)
        assert loss == lm_loss(model, input_ids, target_only)
        assert mt_loss(model, input_ids, scrambled, SEP) == loss
        assert loss != lm_loss(model, input_ids, labels)


def test_retrieval_loss_prefers_true_pairs_and_reaches_the_embeddings(model, title_pairs):
    en = right_padded([byte_ids(en) for en, _ in title_pairs[:6]])
    de = right_padded([byte_ids(de) for _, de in title_pairs[:6]])
    shuffled = en[[1, 2, 3, 4, 5, 0]]
    same_loss, same_accuracy = retrieval_loss(model, en, en, PAD, temperature=0.05)
    shuffled_loss, shuffled_accuracy = retrieval_loss(model, en, shuffled, PAD, temperature=0.05)
    assert same_loss < shuffled_loss
    assert same_accuracy == 1.0 and shuffled_accuracy == 0.0

    pair_loss, _ = retrieval_loss(model, en, de, PAD, temperature=0.05)
    with torch.no_grad():  # both directions count equally
        torch.testing.assert_close(retrieval_loss(model, de, en, PAD, temperature=0.05)[0], pair_loss)
    pair_loss.backward()
    grad = model.embed.weight.grad
    assert grad[byte_ids("ä")].abs().sum() > 0  # bytes only the German side has
    assert grad[PAD].abs().sum() == 0  # padding is pooled out and masked from attention


def test_combined_loss_weights_the_present_objectives():
    losses = {"lm": torch.tensor(2.0), "retrieval": torch.tensor(0.5)}
    weights = {"lm": 1.0, "mt": 0.7, "retrieval": 0.1}
    assert combined_loss(losses, weights).item() == pytest.approx(2.05)
    with pytest.raises(KeyError):
        combined_loss({"mt": torch.tensor(1.0)}, {"lm": 1.0})


def test_a_few_steps_overfit_a_tiny_batch(model, batch):
    labels = lm_labels(batch)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    first = lm_loss(model, batch, labels)
    for _ in range(30):
        loss = lm_loss(model, batch, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.5 * first.item()  # byte frequencies alone reach about half


def test_safetensors_round_trip_gives_identical_outputs(model, batch, tmp_path):
    import safetensors.torch as safetensors_torch

    safetensors_torch.save_file(model.state_dict(), tmp_path / "model.safetensors")
    torch.manual_seed(1)
    restored = DecoderLM(TINY).eval()
    restored.load_state_dict(safetensors_torch.load_file(tmp_path / "model.safetensors"))
    with torch.no_grad():
        assert torch.equal(restored(batch), model(batch))


def test_runs_under_bf16_autocast_and_compiles_without_graph_breaks(model, batch):
    labels = lm_labels(batch)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(batch)
        loss = lm_loss(model, batch, labels)
    assert logits.dtype == torch.bfloat16 and torch.isfinite(loss)
    torch.testing.assert_close(loss, lm_loss(model, batch, labels), rtol=0.02, atol=0)

    compiled = torch.compile(model, backend="eager", fullgraph=True)
    with torch.no_grad():
        torch.testing.assert_close(compiled(batch), model(batch))
        mask = (batch != PAD).long()
        torch.testing.assert_close(compiled(batch, mask), model(batch, mask))


def test_bits_per_byte_of_a_uniform_byte_model_is_8(gold):
    text = gold[0]["text"]
    n_bytes = len(text.encode("utf-8"))
    assert bits_per_byte(n_bytes * math.log(256), n_bytes) == pytest.approx(8.0)
    # a tokenizer with 3 bytes per token at the same per-token loss is 3x better per byte
    n_tokens = n_bytes / 3
    assert bits_per_byte(n_tokens * math.log(256), n_bytes) == pytest.approx(8.0 / 3)
