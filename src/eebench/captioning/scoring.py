"""Caption metrics with pycocoevalcap (the COCO caption evaluation code): BLEU-1..4, METEOR, ROUGE-L, CIDEr-D.

The reported metrics follow the COCO protocol: references and candidates go through the PTB tokenizer
(Stanford CoreNLP, Java), then each scorer. Java is needed by the tokenizer and by METEOR; without it the stage
stops with one message naming what is missing. SPICE needs the Stanford CoreNLP models, which pycocoevalcap
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

from ..errors import ConfigError

# The punctuation pycocoevalcap's PTBTokenizer drops after tokenizing.
PUNCTUATION = ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--", "...",
               ";"]
JAVA_HELP = ("pycocoevalcap needs Java for its PTB tokenizer and METEOR, and 'java' is not on PATH: install a "
             "Java runtime (Debian/Ubuntu: apt-get install -y default-jre-headless; conda: conda install openjdk)")


def require_java() -> str:
    java = shutil.which("java")
    if java is None:
        raise ConfigError(JAVA_HELP)
    return java


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
    off is `null` with the reason (`*_missing`), never 0."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    require_java()
    tokenizer = PTBTokenizer()
    gts = tokenizer.tokenize({k: [{"caption": c} for c in refs] for k, refs in references.items()})
    res = tokenizer.tokenize({k: [{"caption": candidates[k]}] for k in references})
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    scores = {f"bleu{n}": float(b) for n, b in enumerate(bleu, start=1)}
    if meteor:
        scores["meteor"] = float(Meteor().compute_score(gts, res)[0])
    else:
        scores["meteor"], scores["meteor_missing"] = None, "METEOR turned off (metrics.meteor: false)"
    scores["rouge_l"] = float(Rouge().compute_score(gts, res)[0])
    scores["cider"] = float(Cider().compute_score(gts, res)[0])
    reason = spice_missing_reason() if spice else "SPICE turned off"
    if reason is None:
        from pycocoevalcap.spice.spice import Spice

        scores["spice"] = float(Spice().compute_score(gts, res)[0])
    else:
        scores["spice"], scores["spice_missing"] = None, reason
    return scores


def cider_rows(references: dict, candidate_rows: list[dict]) -> np.ndarray:
    """CIDEr-D of each candidate set {id: caption} (Python tokenization, no Java): [K]."""
    from pycocoevalcap.cider.cider import Cider

    gts = {k: [simple_tokenize(c) for c in refs] for k, refs in references.items()}
    scorer = Cider()
    return np.array([scorer.compute_score(gts, {k: [simple_tokenize(row[k])] for k in gts})[0]
                     for row in candidate_rows])
