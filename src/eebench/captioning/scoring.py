"""Caption metrics with pycocoevalcap (the COCO caption evaluation code): BLEU-1..4, METEOR, ROUGE-L, CIDEr-D.

The reported metrics follow the COCO protocol: references and candidates go through the PTB tokenizer
(Stanford CoreNLP, Java), then each scorer. Java is needed by the tokenizer and by METEOR; without it these
metrics are `null` with the reason (`protocol_missing`) — the CIDEr-D that fitting and the tables use needs no
Java. SPICE needs the Stanford CoreNLP models, which pycocoevalcap
downloads on first use (internet); when they are not in its `spice/lib` folder SPICE is reported as missing
(`null`, with the reason), never as 0.

Fitting thresholds sweeps hundreds of knob values, so it scores CIDEr-D on captions tokenized in Python
(`simple_tokenize`: lower case, PTB's punctuation removed) without starting Java for each; the captions of the
offline task are plain lower-case words, for which both tokenizations agree. CIDEr is a corpus measure (its
n-gram weights come from the references of the evaluated images), so values are comparable only on one split."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
from pycocoevalcap.cider.cider_scorer import CiderScorer, cook_refs, cook_test


# The punctuation pycocoevalcap's PTBTokenizer drops after tokenizing.
PUNCTUATION = ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--", "...",
               ";"]
PROTOCOL_METRICS = ("bleu1", "bleu2", "bleu3", "bleu4", "meteor", "rouge_l", "cider", "spice")
JAVA_HELP = ("not computed: pycocoevalcap needs Java for its PTB tokenizer and METEOR, and 'java' is not on PATH; "
             "install a Java runtime (Debian/Ubuntu: apt-get install -y default-jre-headless; conda: conda install openjdk)")


def simple_tokenize(caption: str) -> str:
    words = re.findall(r"[\w']+|[^\w\s]", caption.lower())
    return " ".join(w for w in words if w not in PUNCTUATION)


def spice_missing_reason() -> str | None:
    """Why SPICE cannot run here, or None when its Stanford models are installed."""
    import pycocoevalcap.spice.spice as spice

    lib = Path(spice.__file__).parent / "lib"
    if not list(lib.glob("stanford-corenlp-*-models.jar")):
        return (f"SPICE needs the Stanford CoreNLP models in {lib} (pycocoevalcap downloads them on first use, "
                f"which needs internet); not computed")
    return None


def caption_metrics(references: dict, candidates: dict, spice: bool = True, meteor: bool = True) -> dict:
    """COCO metrics of `candidates` {id: caption} against `references` {id: [captions]} (same ids). A metric turned
    off or not computable here is `null` with the reason (`*_missing`), never 0."""
    if shutil.which("java") is None:
        return {**dict.fromkeys(PROTOCOL_METRICS), "protocol_missing": JAVA_HELP}
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    tokenizer = PTBTokenizer()
    gts = tokenizer.tokenize({k: [{"caption": c} for c in refs] for k, refs in references.items()})
    res = tokenizer.tokenize({k: [{"caption": candidates[k]}] for k in references})
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    scores = {f"bleu{n}": float(b) for n, b in enumerate(bleu, start=1)}
    if meteor:
        scores["meteor"] = float(Meteor().compute_score(gts, res)[0])
    else:
        scores["meteor"], scores["meteor_missing"] = None, "METEOR turned off (the task's option meteor: false)"
    scores["rouge_l"] = float(Rouge().compute_score(gts, res)[0])
    scores["cider"] = float(Cider().compute_score(gts, res)[0])
    reason = spice_missing_reason() if spice else "SPICE turned off"
    if reason is None:
        from pycocoevalcap.spice.spice import Spice

        scores["spice"] = float(Spice().compute_score(gts, res)[0])
    else:
        scores["spice"], scores["spice_missing"] = None, reason
    return scores


class _SplitWeights(CiderScorer):
    """A CiderScorer whose log corpus size stays the whole split's while it scores a few of its images
    (`compute_cider` would set it from the images it is given)."""

    def __init__(self, n_images: int):
        self._log_images = float(np.log(float(n_images)))
        super().__init__(n=4, sigma=6.0)

    ref_len = property(lambda self: self._log_images, lambda self, value: None)


class SplitCider:
    """pycocoevalcap's CIDEr-D of one split, its n-gram weights (document frequencies over every image's
    references) computed once: `scores(captions)` gives each image's score exactly as `Cider().compute_score` over
    the whole split does, and a caption already scored for its image is not scored again (a knob sweep changes
    few images' captions from one value to the next)."""

    def __init__(self, references: list[list[str]]):
        self._scorer = _SplitWeights(len(references))
        self._scorer.crefs = [cook_refs(refs) for refs in references]
        self._scorer.compute_doc_freq()
        self._cooked_refs = self._scorer.crefs
        self._scored: dict[tuple[int, str], float] = {}

    def scores(self, captions: list[str]) -> np.ndarray:
        """Per-image CIDEr-D [n_images] of one tokenized caption per image, in image order."""
        new = [(image, caption) for image, caption in enumerate(captions) if (image, caption) not in self._scored]
        if new:
            self._scorer.crefs = [self._cooked_refs[image] for image, _ in new]
            self._scorer.ctest = [cook_test(caption) for _, caption in new]
            self._scored.update(zip(new, self._scorer.compute_cider()))
        return np.array([self._scored[image, caption] for image, caption in enumerate(captions)])


class CaptionMetric:
    """CIDEr-D of the captions that token predictions give, bound to one split's token exits (a
    `task_metrics.SequenceMetric`): a row of predictions [T] gives each image the tokens of its rows in order, cut
    at the first end-of-caption token (the simulation is teacher-forced by the full model's tokens, see `decode`).
    Corpus CIDEr-D is the mean of the per-image scores (n-gram weights from the split's references), which is why
    the report can resample images (`image_scores`)."""

    name = "cider"

    def __init__(self, sample_ids, eos_id: int, references: list[list[str]], decode, meteor: bool = True):
        self.sample_ids, self.eos_id, self.decode, self.meteor = np.asarray(sample_ids), int(eos_id), decode, meteor
        self.references = dict(enumerate(references))
        if len(self.sample_ids) and (self.sample_ids.min() < 0 or self.sample_ids.max() >= len(references)):
            raise ValueError(f"token exits name images up to {self.sample_ids.max()}, but the split has "
                             f"{len(references)} images")
        starts = np.flatnonzero(np.r_[True, np.diff(self.sample_ids) != 0])
        self._segment_start = np.repeat(starts, np.diff(np.r_[starts, len(self.sample_ids)]))
        self._cider = SplitCider([[simple_tokenize(c) for c in refs] for refs in references])
        self._cache: dict[bytes, np.ndarray] = {}

    @classmethod
    def of_split(cls, outputs, source, split: str, data_dir, model_dir) -> "CaptionMetric":
        """The metric of a caption run's token exits `outputs` (read from `source`) of `split`: the references
        from the task's prepared folder `data_dir`, the tokenizer from the model folder `model_dir`, METEOR as the
        task's option says (info.json)."""
        from ..errors import DataError
        from ..io import read_json
        from .data import read_split
        from .text import load_tokenizer

        if "eos_id" not in outputs.extras:
            raise DataError(f"'{source}': missing field 'eos_id': not the token exits of a caption run")
        references = [row["captions"] for row in read_split(data_dir, split)]
        info = read_json(Path(data_dir) / "info.json")
        try:
            return cls(outputs.sample_ids, int(outputs.extras["eos_id"]), references,
                       load_tokenizer(model_dir).decode, meteor=info.get("options", {}).get("meteor", True))
        except ValueError as error:
            raise DataError(f"'{source}': {error} ('{data_dir}' {split})") from None

    def captions(self, tokens) -> dict[int, str]:
        """{image index: caption} of one row of token predictions [T]."""
        tokens = np.asarray(tokens)
        is_eos = tokens == self.eos_id
        seen = np.cumsum(is_eos)
        # end-of-caption tokens of the same image before this one (the cumulative count since the image's start)
        before = seen - is_eos - np.r_[0, seen][self._segment_start]
        kept = ~is_eos & (before == 0)
        per_image: dict[int, list[int]] = {i: [] for i in self.references}
        for image, token in zip(self.sample_ids[kept].tolist(), tokens[kept].tolist()):
            per_image[image].append(token)
        return {image: self.decode(ids) for image, ids in per_image.items()}

    def image_scores(self, preds) -> np.ndarray:
        """Per-image CIDEr-D [K, n_images] of each row of token predictions [K, T] (Python tokenization)."""
        rows = []
        for row in np.atleast_2d(np.asarray(preds)):
            key = row.tobytes()
            if key not in self._cache:  # many knob values of a sweep give the same tokens
                captions = self.captions(row)
                self._cache[key] = self._cider.scores([simple_tokenize(captions[k]) for k in self.references])
            rows.append(self._cache[key])
        return np.stack(rows)

    def compute_rows(self, y_true, preds) -> dict[str, np.ndarray]:
        return {self.name: self.image_scores(preds).mean(axis=1)}

    def sample_fields(self, preds) -> dict[str, list]:
        """What test.json's `samples` adds for a sequence task: each token's image and each image's CIDEr-D."""
        return {"sample_id": self.sample_ids.tolist(), "image_scores": self.image_scores(preds)[0].tolist()}

    def protocol_metrics(self, preds) -> dict:
        """The COCO caption protocol's metrics (PTB tokenizer, Java) of one row of predictions, for test.json; its
        CIDEr-D is `cider_ptb` (`cider` is this metric's, with the tokenization fitting used)."""
        scores = caption_metrics(self.references, self.captions(preds), meteor=self.meteor)
        scores["cider_ptb"] = scores.pop("cider")
        return scores
