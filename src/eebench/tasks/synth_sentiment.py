"""`synth-sentiment`: binary sentiment sentences generated offline from a small lexicon, with a designed
difficulty per sample, so that early exits have easy samples to take and hard ones to leave.

Grammar (tokens separated by single spaces; at most 20 tokens per sentence)::

    clause   := [prefix] SUBJECT copula [INTENSIFIER] ADJECTIVE [suffix]
    copula   := "is" | "was" | "seemed" | "felt"                          (plain)
              | "is not" | "isn't" | "is never" | "was not" | "wasn't" | "was never"
              | "did not seem" | "never seemed" | "did not feel" | "never felt"   (negated)
    sentence := clause
              | "it is not true that" clause
              | clause "," "but" clause                                  (contrast: no prefix/suffix)

Label (exact, no noise): take the last clause (the one after "but" when there is one); its label is the
polarity of its one lexicon adjective (positive = 1), flipped once per negator ("not", "never", "isn't",
"wasn't") in that clause, "it is not true that" included. Everything before "but" is ignored. Prefixes and
suffixes ("last night ,", "in the second half") are neutral distractors. `grammar_label` implements this rule.

Designed difficulty (the `difficulty` field; `construction` names the form):
    0 plain:          "the plot was good"
    1 intensified:    intensifier and/or distractors, no negation — "last night , the cast was very dull"
    2 negation:       one negator — "the ending wasn't clever" / "it is not true that the plot was good"
    3 contrast:       "the acting was great , but the story was not moving" (clauses of opposite labels)
      double-negation: "it is not true that the film was not charming"

Sentences are unique across the three splits (no test sentence is seen in training). Each split holds the
difficulties in the proportions of `difficulty_weights` and both labels equally often within a difficulty.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..catalogue import integer, number_list
from .spec import TaskSpec
from .splitting import largest_remainder, rng_for
from .storage import SPLITS, PreparedTask, SplitData

SUBJECTS = (
    "the movie", "the film", "the plot", "the acting", "the soundtrack", "the ending", "the cast", "the script",
    "the story", "the dialogue", "the pacing", "the humour", "the finale", "the sequel", "the camera work",
    "the screenplay",
)
PLAIN_COPULAS = ("is", "was", "seemed", "felt")
NEGATED_COPULAS = {
    "is": ("is not", "isn't", "is never"),
    "was": ("was not", "wasn't", "was never"),
    "seemed": ("did not seem", "never seemed"),
    "felt": ("did not feel", "never felt"),
}
POSITIVE = (
    "good", "great", "excellent", "wonderful", "delightful", "pleasant", "brilliant", "superb", "charming",
    "enjoyable", "impressive", "moving", "clever", "beautiful", "fantastic",
)
NEGATIVE = (
    "bad", "awful", "terrible", "boring", "dull", "horrible", "disappointing", "poor", "mediocre", "tedious",
    "clumsy", "bland", "annoying", "weak", "dreadful",
)
POLARITY = {**{word: 1 for word in POSITIVE}, **{word: 0 for word in NEGATIVE}}
INTENSIFIERS = ("very", "really", "extremely", "truly", "incredibly", "quite", "so", "remarkably")
PREFIXES = ("last night ,", "in my view ,", "as my friend said ,", "yesterday ,", "to my surprise ,")
SUFFIXES = (
    "on a rainy tuesday", "in the second half", "for a sequel", "at the premiere", "in the old cinema",
    "with my cousin", "after the break",
)
NEGATORS = frozenset({"not", "never", "isn't", "wasn't"})
CLAIM_NEGATION = "it is not true that"
CONTRAST = ", but"
LABEL_NAMES = ("negative", "positive")
DIFFICULTIES = 4
# Rejection sampling for unique sentences gives up after this many draws per requested sentence.
MAX_DRAWS_PER_SENTENCE = 200


def grammar_label(sentence: str) -> int:
    """The label the grammar assigns to a sentence (see the module docstring)."""
    clause = sentence.split(f" {CONTRAST} ")[-1].split()
    adjectives = [token for token in clause if token in POLARITY]
    if len(adjectives) != 1:
        raise ValueError(f"not a sentence of the grammar (needs one lexicon adjective per clause): {sentence!r}")
    negations = sum(token in NEGATORS for token in clause)
    return POLARITY[adjectives[0]] ^ (negations % 2)


def _pick(rng: np.random.Generator, options):
    return options[rng.integers(len(options))]


def _clause(rng, label: int, negated: bool, intensified: bool, prefix: bool = False, suffix: bool = False) -> str:
    """One clause whose own label is `label`: the adjective's polarity is flipped when the copula is negated."""
    copula = _pick(rng, PLAIN_COPULAS)
    words = [_pick(rng, PREFIXES)] if prefix else []
    words += [_pick(rng, SUBJECTS), _pick(rng, NEGATED_COPULAS[copula]) if negated else copula]
    if intensified:
        words.append(_pick(rng, INTENSIFIERS))
    words.append(_pick(rng, POSITIVE if label ^ negated else NEGATIVE))
    if suffix:
        words.append(_pick(rng, SUFFIXES))
    return " ".join(words)


def _intensified(rng, label: int) -> str:
    # At least one of intensifier / prefix / suffix, so the sentence differs from a plain one.
    intensified, prefix, suffix = [bool(b) for b in rng.integers(0, 2, size=3)]
    if not (intensified or prefix or suffix):
        intensified = True
    return _clause(rng, label, False, intensified, prefix, suffix)


def _negation(rng, label: int) -> str:
    intensified, suffix = [bool(b) for b in rng.integers(0, 2, size=2)]
    if rng.random() < 0.5:
        return _clause(rng, label, True, intensified, prefix=bool(rng.integers(2)), suffix=suffix)
    return f"{CLAIM_NEGATION} {_clause(rng, 1 - label, False, intensified, suffix=suffix)}"


def _contrast(rng, label: int) -> str:
    first = _clause(rng, 1 - label, bool(rng.integers(2)), bool(rng.integers(2)))
    return f"{first} {CONTRAST} {_clause(rng, label, bool(rng.integers(2)), bool(rng.integers(2)))}"


def _double_negation(rng, label: int) -> str:
    return f"{CLAIM_NEGATION} {_clause(rng, 1 - label, True, bool(rng.integers(2)), suffix=bool(rng.integers(2)))}"


def generate_sentence(rng: np.random.Generator, difficulty: int, label: int) -> tuple[str, str]:
    """(sentence, construction) of the given designed difficulty whose grammar label is `label`."""
    if difficulty == 0:
        return _clause(rng, label, False, False), "plain"
    if difficulty == 1:
        return _intensified(rng, label), "intensified"
    if difficulty == 2:
        return _negation(rng, label), "negation"
    if rng.random() < 0.5:
        return _contrast(rng, label), "contrast"
    return _double_negation(rng, label), "double-negation"


def difficulty_quotas(n: int, difficulty_weights: list[float]) -> list[int]:
    return largest_remainder(np.asarray(difficulty_weights) * n / sum(difficulty_weights), n).tolist()


def _unique_sentence(rng, difficulty: int, label: int, seen: set[str]) -> tuple[str, str]:
    for _ in range(MAX_DRAWS_PER_SENTENCE):
        sentence, construction = generate_sentence(rng, difficulty, label)
        if sentence not in seen:
            seen.add(sentence)
            return sentence, construction
    raise ConfigError(
        f"task 'synth-sentiment': cannot generate that many distinct sentences of difficulty {difficulty}; "
        "lower the split sizes or that difficulty's weight in 'difficulty_weights'"
    )


def generate_split(rng, n: int, difficulty_weights: list[float], seen: set[str], first_id: int) -> SplitData:
    texts, labels, difficulties, constructions = [], [], [], []
    for difficulty, quota in enumerate(difficulty_quotas(n, difficulty_weights)):
        for i in range(quota):
            label = (i + difficulty) % 2  # both labels equally often within each difficulty
            sentence, construction = _unique_sentence(rng, difficulty, label, seen)
            texts.append(sentence)
            labels.append(label)
            difficulties.append(difficulty)
            constructions.append(construction)
    order = rng.permutation(n)
    return SplitData(
        "text",
        [texts[i] for i in order],
        np.asarray(labels, dtype=np.int64)[order],
        np.arange(first_id, first_id + n),
        {"difficulty": np.asarray(difficulties)[order], "construction": np.asarray(constructions)[order]},
    )


def build(options: dict, seed: int) -> PreparedTask:
    rng = rng_for(seed, "synth-sentiment")
    seen: set[str] = set()
    splits, first_id = {}, 0
    for name in SPLITS:
        n = options[f"{name}_size"]
        splits[name] = generate_split(rng, n, options["difficulty_weights"], seen, first_id)
        first_id += n
    return PreparedTask(splits, notes={"source": "generated (eebench.tasks.synth_sentiment grammar)"})


SPECS = [
    TaskSpec(
        name="synth-sentiment",
        modality="text",
        n_classes=2,
        metric="accuracy",
        description="generated sentiment sentences with negation, intensifiers, contrast and double negation; "
        "each sample has a designed difficulty 0-3 (offline)",
        label_names=LABEL_NAMES,
        options={
            "train_size": integer("number of training sentences", default=2000),
            "val_size": integer("number of validation sentences", default=400),
            "test_size": integer("number of test sentences", default=600),
            "difficulty_weights": number_list(
                "relative share of difficulties 0..3 in every split", default=[1.0, 1.0, 1.0, 1.0],
                length=DIFFICULTIES, minimum=0, positive_sum=True,
            ),
        },
        build=build,
    )
]
