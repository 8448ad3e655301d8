"""Greedy decoding layer by layer: the full model with every exit recorded, and real token-level early exit.

Both paths run the same step: embed the last token, run decoder blocks one at a time with a key/value cache
(transformers' `EncoderDecoderCache`), and read exit l from block l's output. So the full-depth path's exit L
logits are the model's own, and a policy that never exits early gives the full model's captions exactly.

**Keys and values of skipped layers.** When a token exits at layer e < L, blocks e+1..L are not run for it, but
later tokens attend to its keys and values in those layers. As CALM (Schuster et al., 2022) proposes and CapEEN
describes, the exited hidden state is copied up: for each skipped block k its keys and values are computed from
block e's output (`ln_1` + the attention's key/value projection only, no attention or MLP). Cross-attention keys
and values depend only on the image and are computed once per layer, when a layer first runs. (CapEEN's released
`test.py` decides exits on a teacher-forced pass in which every layer ran, so it never meets this question.)

**Simulation vs reality.** The cached exits (`record_exits`) are the full model's: token t's exit logits are
computed with every earlier token at full depth and the full model's tokens as context. Real early exit changes
the context of later tokens once a token exits early (copied states, and possibly a different token), so real
and simulated decisions agree up to and including the first early-exited token of a caption and may diverge
after it; `compare_with_simulation` counts how often they do."""

from __future__ import annotations

import time

import numpy as np
import torch


class DecoderPass:
    """One batch's greedy decoding state: encoder output and the decoder's key/value cache."""

    def __init__(self, captioner, pixel_values: torch.Tensor):
        from transformers import DynamicCache, EncoderDecoderCache

        self.captioner = captioner
        self.encoder_states = captioner.encode(pixel_values)
        self.cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
        self.transformer = captioner.model.decoder.transformer

    def embed(self, tokens: torch.Tensor, position: int) -> torch.Tensor:
        """[B] tokens at `position` → [B, 1, D] block inputs."""
        positions = torch.full((tokens.shape[0], 1), position, dtype=torch.long, device=tokens.device)
        return self.transformer.wte(tokens[:, None]) + self.transformer.wpe(positions)

    def block(self, layer: int, hidden: torch.Tensor) -> torch.Tensor:
        output = self.captioner.blocks[layer - 1](hidden, self.cache, None, self.encoder_states, use_cache=True)
        return output[0] if isinstance(output, tuple) else output

    def copy_up(self, exit_layer: int, hidden: torch.Tensor) -> None:
        """Keys/values of blocks exit_layer+1..L for this position, from the exited hidden state."""
        for layer in range(exit_layer + 1, self.captioner.n_exits + 1):
            attention = self.captioner.blocks[layer - 1].attn
            _, keys, values = attention.c_attn(self.captioner.blocks[layer - 1].ln_1(hidden)).split(
                attention.split_size, dim=2)
            shape = (*keys.shape[:-1], -1, attention.head_dim)
            self.cache.self_attention_cache.update(keys.view(shape).transpose(1, 2),
                                                   values.view(shape).transpose(1, 2), layer - 1)


@torch.no_grad()
def record_exits(captioner, pixel_values: torch.Tensor, bos_id: int, eos_id: int, max_length: int):
    """Full-depth greedy decoding of a batch. Returns per sample (tokens [T_i], exit logits [T_i, L, V]): the
    full model's tokens up to and including eos (or `max_length` tokens) and every exit's logits for each."""
    n = pixel_values.shape[0]
    run = DecoderPass(captioner, pixel_values)
    tokens = torch.full((n,), bos_id, dtype=torch.long)
    steps_tokens, steps_logits = [], []
    done = torch.zeros(n, dtype=torch.bool)
    lengths = torch.full((n,), max_length)
    for position in range(max_length):
        hidden = run.embed(tokens, position)
        exits = []
        for layer in range(1, captioner.n_exits + 1):
            hidden = run.block(layer, hidden)
            exits.append(captioner.exit_logits(layer, hidden[:, -1]))
        logits = torch.stack(exits, dim=1)  # [B, L, V]
        tokens = logits[:, -1].argmax(dim=-1)
        steps_tokens.append(tokens)
        steps_logits.append(logits.float())
        ended = (tokens == eos_id) & ~done
        lengths[ended] = position + 1
        done |= ended
        if bool(done.all()):
            break
    all_tokens = torch.stack(steps_tokens, dim=1).numpy()
    all_logits = torch.stack(steps_logits, dim=1).numpy()  # [B, T, L, V]
    return [(all_tokens[i, : lengths[i]], all_logits[i, : lengths[i]]) for i in range(n)]


@torch.no_grad()
def early_exit_decode(captioner, pixel_values: torch.Tensor, policy, bos_id: int, eos_id: int, max_length: int):
    """Real token-level early exit for one image ([1, 3, H, W]). `policy` is a fitted eebench ExitPolicy (or None
    for the full model). Returns (tokens [T], exit layers [T], seconds)."""
    start = time.perf_counter()
    run = DecoderPass(captioner, pixel_values)
    n_exits = captioner.n_exits
    token = torch.tensor([bos_id])
    tokens, layers = [], []
    for position in range(max_length):
        hidden = run.embed(token, position)
        state = policy.start(1) if policy is not None else None
        for layer in range(1, n_exits + 1):
            hidden = run.block(layer, hidden)
            logits = captioner.exit_logits(layer, hidden[:, -1])
            if layer == n_exits or (policy is not None and policy.step(state, layer, logits.numpy())[0]):
                break
        run.copy_up(layer, hidden)
        token = logits.argmax(dim=-1)
        tokens.append(int(token))
        layers.append(layer)
        if tokens[-1] == eos_id:
            break
    return np.array(tokens), np.array(layers), time.perf_counter() - start


def compare_with_simulation(real_tokens, real_layers, sim_tokens, sim_layers, n_exits: int) -> dict:
    """Per caption: does the real run equal the simulation up to and including its first early exit (it must),
    and does it diverge (token or exit layer) anywhere after it."""
    must_match = diverged_after = 0
    for r_tok, r_lay, s_tok, s_lay in zip(real_tokens, real_layers, sim_tokens, sim_layers):
        early = np.flatnonzero(s_lay < n_exits)
        head = (early[0] + 1) if early.size else len(s_tok)
        same_head = (len(r_tok) >= head and np.array_equal(r_tok[:head], s_tok[:head])
                     and np.array_equal(r_lay[:head], s_lay[:head]))
        must_match += same_head
        diverged_after += same_head and not (np.array_equal(r_tok, s_tok) and np.array_equal(r_lay, s_lay))
    n = len(real_tokens)
    return {"captions": n, "match_until_first_early_exit": must_match / max(n, 1),
            "diverge_after_first_early_exit": diverged_after / max(n, 1)}
