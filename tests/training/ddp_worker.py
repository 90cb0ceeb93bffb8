"""Run by test_loop.py under `torchrun --nproc_per_node 2`: 3 training steps with gloo, then each rank
saves its weights, the initial weights and a hash of its first batch."""

from __future__ import annotations

import hashlib
import sys

import torch
import torch.distributed as dist

from tests.training.test_loop import LOADER, config
from training.data import StreamingDataset
from training.loop import model_config, train
from training.model import DecoderLM
from training.tokenizer import Tokenizer


def main(build: str, run: str, out: str) -> None:
    cfg = config(3, checkpoint_every=3)
    result = train(build, run, cfg, LOADER, device="cpu", quiet=True)
    rank = dist.get_rank()
    tok = Tokenizer(f"{run}/tokenizer.model")
    torch.manual_seed(cfg.seed)  # as train() does before building the model
    initial = DecoderLM(model_config(cfg, tok.vocab_size, LOADER, tok.pad_id)).state_dict()
    first = next(iter(StreamingDataset(build, tok, LOADER, rank=rank, world_size=dist.get_world_size())))
    digest = hashlib.sha256(first["lm"]["input_ids"].numpy().tobytes()).hexdigest()
    torch.save({"weights": result["model"].state_dict(), "initial": initial, "batch_hash": digest},
               f"{out}/rank{rank}.pt")
    dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:4])
