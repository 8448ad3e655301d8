"""Measurement behind `pool: auto` (docs/models.md): what all-MiniLM-L6-v2's exits can read after each layer when
they read [CLS] (`pool: cls`, the papers' heads) and when they read the mean over real tokens (`pool: mean`, what
the sentence-transformers checkpoint was trained for), on the offline `synth-sentiment` task (seed 0, its default
sizes).

Two readings per pooling: a logistic probe on the frozen checkpoint's pooled states after every layer (scikit-learn,
fit on train, scored on test), and eebench's own `joint` training for one epoch (TRAINING, seed 0) followed by the
test accuracy of every exit.

    python benchmarks/probe_pooling.py [--threads 2] [--train-size N --test-size N] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from performance_page import Measurement, add_markdown_option, markdown_table

TASK, BACKBONE, SEED = "synth-sentiment", "minilm-l6", 0
POOLS = ("cls", "mean")
TRAINING = {"epochs": 1, "lr": 1e-4}


@torch.inference_mode()
def pooled_states(model, encoder, texts: list[str]) -> list[np.ndarray]:
    """The pooled state after every layer, [N, H] each, in input order."""
    from eebench.inference.predict import length_sorted_batches

    encoded = encoder.encode(texts)
    batches = length_sorted_batches(encoded, 64)
    layers = [torch.cat(states).float().numpy() for states in
              zip(*(model.pooled_states(encoded.batch(ix)) for ix in batches))]
    inverse = np.argsort(np.concatenate(batches))
    return [states[inverse] for states in layers]


def probe(pool: str, train, test) -> list[float]:
    """Test accuracy of a logistic regression on the frozen checkpoint's pooled states, layer by layer."""
    from eebench.models import build_model

    bundle = build_model(BACKBONE, {"pool": pool}, 2, "text", train.inputs)
    bundle.model.eval()
    fitted = zip(pooled_states(bundle.model, bundle.encoder, train.inputs),
                 pooled_states(bundle.model, bundle.encoder, test.inputs))
    return [float(LogisticRegression(max_iter=2000).fit(x_train, train.labels).score(x_test, test.labels))
            for x_train, x_test in fitted]


def trained(pool: str, data: Path, out: Path) -> list[float]:
    """Test accuracy of every exit after one epoch of `joint` training with exits reading `pool`."""
    from bench_sst2_epoch import scored_on_test
    from eebench.training import train_run

    train_run(data, out / "model", BACKBONE, {"pool": pool}, "joint", {}, TRAINING, SEED)
    return scored_on_test(out / "model", data)[1].tolist()


def markdown(setting: str, figures: dict[str, dict[str, list[float]]]) -> str:
    """`figures[reading][pool]`: test accuracy per layer, reading "probe" or "trained"."""
    header = ["layer", "probe, [CLS]", "probe, mean", "trained, [CLS]", "trained, mean"]
    rows = [[str(layer + 1)] + [f"{figures[reading][pool][layer]:.3f}" for reading in ("probe", "trained")
                                for pool in POOLS] for layer in range(len(figures["probe"]["cls"]))]
    return f"{setting}\n\n{markdown_table(header, rows)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train-size", type=int, help="train sentences (default: the task's)")
    parser.add_argument("--test-size", type=int, help="test sentences (default: the task's)")
    add_markdown_option(parser)
    args = parser.parse_args()
    from eebench.tasks import load_split, prepare_task

    measurement = Measurement.begin()
    torch.set_num_threads(args.threads)
    figures = {"probe": {}, "trained": {}}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        sizes = {"train_size": args.train_size, "test_size": args.test_size}
        info = prepare_task(TASK, {k: v for k, v in sizes.items() if v}, data, SEED)
        train, test = load_split(data, "train"), load_split(data, "test")
        for pool in POOLS:
            figures["probe"][pool] = probe(pool, train, test)
            figures["trained"][pool] = trained(pool, data, Path(tmp) / pool)
            print(f"pool {pool}: probe {np.round(figures['probe'][pool], 3).tolist()}, "
                  f"trained {np.round(figures['trained'][pool], 3).tolist()}", flush=True)
    sizes = info.get("sizes", {})
    setting = (f"`{TASK}` (seed {SEED}; {sizes.get('train')} train, {sizes.get('test')} test sentences), `{BACKBONE}` "
               f"(all-MiniLM-L6-v2), test accuracy after each layer: a logistic probe on the frozen checkpoint's "
               f"pooled states, and every exit after one epoch of `joint` training "
               f"({', '.join(f'{k} {v}' for k, v in TRAINING.items())}, seed {SEED}); torch {torch.__version__}, "
               f"{args.threads} thread(s), {os.cpu_count()} CPUs.")
    print(setting)
    if args.markdown:
        measurement.write(args.markdown, markdown(setting, figures))


if __name__ == "__main__":
    main()
