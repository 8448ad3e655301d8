"""Tokenizers of the captioning backbones, behind one small interface (ids in, text out, bos/eos/pad ids).

- `WordTokenizer`: a whitespace word vocabulary built from the training captions (the offline task's templated
  captions are lower-case words), saved as `vocab.json` beside the model.
- `HubTokenizer`: the decoder's own tokenizer by hub id (GPT-2's BPE for COCO). GPT-2 has one special token,
  `<|endoftext|>`, used as bos, eos and pad, as CapEEN and the transformers image-captioning examples do."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import DataError

VOCAB_FILE = "vocab.json"
MODEL_INFO = "eebench_captioner.json"  # written beside the weights: backbone, options, training
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")


class WordTokenizer:
    def __init__(self, words: list[str]):
        self.words = list(words)
        self.index = {word: i for i, word in enumerate(self.words)}
        self.pad_id, self.bos_id, self.eos_id, self.unk_id = (self.index[s] for s in SPECIALS)

    @classmethod
    def from_captions(cls, captions) -> "WordTokenizer":
        return cls(list(SPECIALS) + sorted({word for caption in captions for word in caption.lower().split()}))

    @classmethod
    def load(cls, folder: Path) -> "WordTokenizer":
        path = Path(folder) / VOCAB_FILE
        if not path.is_file():
            raise DataError(f"'{path}': file not found (the model folder of a word-vocabulary captioner)")
        return cls(json.loads(path.read_text()))

    def save(self, folder: Path) -> None:
        (Path(folder) / VOCAB_FILE).write_text(json.dumps(self.words))

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, text: str) -> list[int]:
        return [self.index.get(word, self.unk_id) for word in text.lower().split()]

    def decode(self, ids) -> str:
        specials = {self.pad_id, self.bos_id, self.eos_id}
        return " ".join(self.words[i] for i in ids if i not in specials)


class HubTokenizer:
    def __init__(self, name_or_path: str):
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(name_or_path)
        eos = self.tokenizer.eos_token_id
        self.eos_id = eos
        self.bos_id = self.tokenizer.bos_token_id if self.tokenizer.bos_token_id is not None else eos
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else eos

    @classmethod
    def load(cls, folder: Path) -> "HubTokenizer":
        return cls(str(folder))

    def save(self, folder: Path) -> None:
        self.tokenizer.save_pretrained(str(folder))

    def __len__(self) -> int:
        return len(self.tokenizer)

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(" " + text.strip(), add_special_tokens=False)

    def decode(self, ids) -> str:
        return self.tokenizer.decode([i for i in ids if i != self.eos_id], skip_special_tokens=True).strip()


def load_tokenizer(model_dir) -> WordTokenizer | HubTokenizer:
    """The tokenizer saved with a captioning model (no torch needed for the word vocabulary)."""
    path = Path(model_dir) / MODEL_INFO
    if not path.is_file():
        raise DataError(f"'{path}': file not found (not a captioning model folder)")
    from ..models.backbones.captioners import downloads

    options = json.loads(path.read_text())["options"]
    return HubTokenizer.load(model_dir) if downloads(options) else WordTokenizer.load(model_dir)
