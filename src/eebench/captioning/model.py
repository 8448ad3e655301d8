"""The captioner: a transformers `VisionEncoderDecoderModel` (ViT or Swin encoder, GPT-2 decoder) with an exit
after every decoder layer.

Exits are numbered 1..L over the decoder's L blocks. Exit L is the model's own LM head (GPT-2's `ln_f` + the
vocabulary projection tied to the token embeddings). Exits 1..L-1 (`exit_heads`):
- `linear` (default, CapEEN's released code): each exit has its own `nn.Linear(hidden, vocab)` with bias on the
  block's raw output (no layer norm) — heads do **not** share the vocabulary projection. (CapEEN places its 12
  heads on `decoder_hidden_states[0..11]`, i.e. the embedding output and blocks 1–11, and uses the model's logits
  as the last exit; eebench's exit l reads block l, so every exit has done at least one block.)
- `shared`: the model's `ln_f` + tied LM head on every block (CALM's choice; no new parameters, so it needs a
  strategy that trains the decoder, not `heads-only`).

Backbones (the captioner `backbone` ids, declared in eebench.models.backbones.captioners):
- `caption-small`: the same architecture, randomly initialised and small (ViT 2×64, GPT-2 4×64) with a word
  vocabulary from the training captions — for the offline task on CPU. `caption-small-swin`: the same with a
  one-stage Swin encoder (smoke mode's stand-in for `swin-gpt2`).
- `vit-gpt2` / `swin-gpt2`: encoder and decoder from hub ids (`encoder`, `decoder`) joined by
  `VisionEncoderDecoderModel.from_encoder_decoder_pretrained`, or a fine-tuned captioner (`pretrained`, e.g.
  `nlpconnect/vit-gpt2-image-captioning`) — CapEEN's recipe trains heads on such a frozen fine-tuned model."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from ..errors import DataError
from ..models.backbones.captioners import downloads
from .text import MODEL_INFO, HubTokenizer, WordTokenizer, load_tokenizer

WEIGHTS_FILE = "model.safetensors"
class Captioner(nn.Module):
    """`model` (VisionEncoderDecoderModel) + `heads` (exits 1..L-1 when `exit_heads` is `linear`)."""

    def __init__(self, model, exit_heads: str, max_length: int):
        super().__init__()
        self.model = model
        self.exit_heads = exit_heads
        self.max_length = max_length
        decoder = model.decoder
        self.n_exits = decoder.config.n_layer
        hidden, vocab = decoder.config.n_embd, decoder.config.vocab_size
        count = self.n_exits - 1 if exit_heads == "linear" else 0
        self.heads = nn.ModuleList(nn.Linear(hidden, vocab) for _ in range(count))

    @property
    def blocks(self):
        return self.model.decoder.transformer.h

    def exit_logits(self, layer: int, hidden: torch.Tensor) -> torch.Tensor:
        """Logits of exit `layer` (1-based) from block `layer`'s output `hidden` [..., D]."""
        decoder = self.model.decoder
        if layer == self.n_exits or self.exit_heads == "shared":
            return decoder.lm_head(decoder.transformer.ln_f(hidden))
        return self.heads[layer - 1](hidden)

    def encode(self, pixel_values: torch.Tensor) -> torch.Tensor:
        hidden = self.model.encoder(pixel_values=pixel_values).last_hidden_state
        projection = getattr(self.model, "enc_to_dec_proj", None)
        return projection(hidden) if projection is not None else hidden

    def forward(self, pixel_values: torch.Tensor, decoder_input_ids: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits of every exit, [B, T, L, V]."""
        # Right padding under causal attention never reaches a real position, so every position is attended.
        out = self.model(pixel_values=pixel_values, decoder_input_ids=decoder_input_ids,
                         decoder_attention_mask=torch.ones_like(decoder_input_ids), output_hidden_states=True)
        states = out.decoder_hidden_states  # [0] embeddings, [l] block l, [L] block L after ln_f
        exits = [self.exit_logits(layer, states[layer]) for layer in range(1, self.n_exits)]
        return torch.stack(exits + [out.logits], dim=2)


def build(options: dict, train_captions: list[str]):
    """A new captioner and its tokenizer (the small one's vocabulary comes from the training captions)."""
    from transformers import GPT2Config, GPT2LMHeadModel, VisionEncoderDecoderModel

    if not downloads(options):
        tokenizer = WordTokenizer.from_captions(train_captions)
        encoder = _small_encoder(options)
        decoder = GPT2LMHeadModel(GPT2Config(
            vocab_size=len(tokenizer), n_positions=options["max_length"] + 2, n_embd=options["hidden_size"],
            n_layer=options["decoder_layers"], n_head=options["heads"], add_cross_attention=True, is_decoder=True,
            bos_token_id=tokenizer.bos_id, eos_token_id=tokenizer.eos_id, pad_token_id=tokenizer.pad_id))
        model = VisionEncoderDecoderModel(encoder=encoder, decoder=decoder)
    else:
        if options["pretrained"]:
            model = VisionEncoderDecoderModel.from_pretrained(options["pretrained"])
            tokenizer = HubTokenizer(options["pretrained"])
        else:
            model = VisionEncoderDecoderModel.from_encoder_decoder_pretrained(options["encoder"], options["decoder"])
            tokenizer = HubTokenizer(options["decoder"])
    model.config.decoder_start_token_id = tokenizer.bos_id
    model.config.pad_token_id = tokenizer.pad_id
    model.config.eos_token_id = tokenizer.eos_id
    return Captioner(model, options["exit_heads"], options["max_length"]), tokenizer


def _small_encoder(options: dict):
    """A randomly initialised ViT, or (with a `window_size`) a one-stage Swin (shifted windows, no patch merging),
    of `hidden_size`."""
    from transformers import SwinConfig, SwinModel, ViTConfig, ViTModel

    if "window_size" in options:
        return SwinModel(SwinConfig(
            image_size=options["image_size"], patch_size=options["patch_size"], embed_dim=options["hidden_size"],
            depths=[options["encoder_layers"]], num_heads=[options["heads"]], window_size=options["window_size"]))
    return ViTModel(ViTConfig(
        image_size=options["image_size"], patch_size=options["patch_size"], hidden_size=options["hidden_size"],
        num_hidden_layers=options["encoder_layers"], num_attention_heads=options["heads"],
        intermediate_size=4 * options["hidden_size"]))


def image_processor(options: dict):
    """Resizing and normalisation of the encoder (the hub encoder's own processor for hub backbones)."""
    from transformers import AutoImageProcessor, ViTImageProcessor

    if not downloads(options):
        size = options["image_size"]
        return ViTImageProcessor(size={"height": size, "width": size})
    return AutoImageProcessor.from_pretrained(options["pretrained"] or options["encoder"])


def save(captioner: Captioner, tokenizer, folder: Path, backbone: str, options: dict, extra: dict) -> None:
    from safetensors.torch import save_model

    folder.mkdir(parents=True, exist_ok=True)
    captioner.model.config.save_pretrained(str(folder))
    save_model(captioner, str(folder / WEIGHTS_FILE))
    tokenizer.save(folder)
    (folder / MODEL_INFO).write_text(json.dumps({"backbone": backbone, "options": options, **extra}, indent=2))


def load(folder: str | Path):
    """(captioner in eval mode, tokenizer, metadata) from a folder written by `save`."""
    from safetensors.torch import load_model
    from transformers import VisionEncoderDecoderConfig, VisionEncoderDecoderModel

    folder = Path(folder)
    meta_path = folder / MODEL_INFO
    if not meta_path.is_file():
        raise DataError(f"'{meta_path}': file not found (not a captioning model folder)")
    meta = json.loads(meta_path.read_text())
    model = VisionEncoderDecoderModel(config=VisionEncoderDecoderConfig.from_pretrained(str(folder)))
    options = meta["options"]
    captioner = Captioner(model, options["exit_heads"], options["max_length"])
    load_model(captioner, str(folder / WEIGHTS_FILE))
    return captioner.eval(), load_tokenizer(folder), meta
