"""`meta_train()`: episodic prototypical training of a backbone on base classes (元学习).

Each step is one few-shot episode drawn from the base classes: the support
images' normalised embeddings are averaged into prototypes, and the queries'
cross-entropy over their distances to the prototypes trains the backbone
(Snell et al. 2017). With few base classes, `rotations` and `blends` make more
classes for the episodes to draw from: each base class turned, and each pair of
base classes blended into one (their images' pixel mean), assembled per episode.
Stages choose which blocks train, as in fine-tuning
(`train_blocks` as `Stage` reads it); pretrained BatchNorm stays frozen in
inference mode. With `output_dir`, the progress is saved every
`checkpoint_every` episodes (weights, optimizer state, history, atomically) and
`resume=True` continues a killed run. The meta-trained backbone is saved as a
weights file and the result is a `few_shot` run on the base classes with those
weights: exported, reported and rerun like any run, and `add_classes` gives it
the novel classes.
"""

from __future__ import annotations

import itertools
import json
import math
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.data.pipeline import make_dataset
from keras_transfer.data.sources import load_data
from keras_transfer.fewshot.build import few_shot
from keras_transfer.fewshot.method import class_indices
from keras_transfer.fewshot.pooling import check_pooling, pooled_features_model
from keras_transfer.fewshot.prototype_head import check_distance, normalize, squared_distances
from keras_transfer.fewshot.sampling import episodes as draw_episodes
from keras_transfer.fewshot.trainable import set_trainable_blocks
from keras_transfer.models.backbones import resolve_backbone, size_pair
from keras_transfer.models.classifier import build_model, get_backbone_layer
from keras_transfer.recipes.result import FitResult
from keras_transfer.serving.atomic import atomic_directory

RESUME_DIR = "meta_resume"
BACKBONE_WEIGHTS = "meta_backbone.weights.h5"
ROTATIONS = (1, 2, 4)
MAX_BLENDED_BASE_CLASSES = 20  # 190 blended classes; past this many base classes episodes vary without them
META_SCALE = 20.0  # meta-training's logit scale: gained more than 10 (few_shot's) and 40 in benchmarks/few_shot.py


@dataclass(frozen=True)
class MetaStage:
    """One stage of meta-training. The defaults are the recipe `benchmarks/few_shot.py` measured (all blocks,
    100 episodes, Adam 3e-5); top blocks only or 1e-4 gained less there, and more episodes fitted the base
    classes at the novel ones' expense.

    Attributes:
        name: shown in the history.
        episodes: training episodes (one gradient step each).
        train_blocks: which backbone blocks train, as `Stage.train_blocks` reads it (a count from the top,
            a fraction, `"all"`, or block names).
        learning_rate: Adam's learning rate.
    """

    name: str = "all"
    episodes: int = 100
    train_blocks: Any = "all"
    learning_rate: float = 3e-5


def _episode_loss(embedding: keras.Model, support, support_onehot, query, query_labels, distance: str,
                  scale: float):
    """The prototypical loss of one episode and its query accuracy."""
    support_embeddings = normalize(embedding(support, training=False))
    query_embeddings = normalize(embedding(query, training=False))
    prototypes = tf.matmul(support_onehot, support_embeddings, transpose_a=True)
    prototypes /= tf.reduce_sum(support_onehot, axis=0)[:, None]
    if distance == "cosine":
        logits = scale * tf.matmul(query_embeddings, normalize(prototypes), transpose_b=True)
    else:
        logits = -scale * squared_distances(query_embeddings, prototypes)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(query_labels, logits))
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, axis=1, output_type=tf.int32), query_labels),
                                      tf.float32))
    return loss, accuracy


def training_step(embedding: keras.Model, optimizer: keras.optimizers.Optimizer, variables: list, distance: str,
                  scale: float) -> Callable:
    """One compiled prototypical step: `step(support, support one-hot, query, query labels) -> (loss, accuracy)`."""

    @tf.function(reduce_retracing=True)
    def step(support, support_onehot, query, query_labels):
        with tf.GradientTape() as tape:
            loss, accuracy = _episode_loss(embedding, support, support_onehot, query, query_labels, distance, scale)
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss, accuracy

    return step


def base_pixels(data: Any, image_size: tuple[int, int], batch_size: int = 64) -> tuple[np.ndarray, np.ndarray,
                                                                                          list[str]]:
    """Every image of `data` (any source `load_data` reads) as uint8 pixels at `image_size`, with class indices."""
    spec, _ = load_data(data, validation_split=0)
    if spec.multi_label:
        raise ValueError("meta_train needs single-label base classes (one class per image).")
    images, labels = [], []
    for batch, targets in make_dataset(spec, image_size, batch_size, cache=False):
        images.append(np.clip(np.round(batch.numpy()), 0, 255).astype("uint8"))
        labels.append(class_indices(targets.numpy()))
    return np.concatenate(images), np.concatenate(labels), list(spec.class_names)


def check_rotations(rotations: int, image_size: tuple[int, int]) -> int:
    """`rotations` if `meta_train` can turn images of `image_size` that many ways, else a ValueError saying how."""
    if rotations not in ROTATIONS:
        raise ValueError(f"rotations={rotations!r}: use 1 (images as they are), 2 (also turned by 180 degrees) or "
                         "4 (turned by 0, 90, 180 and 270 degrees).")
    if rotations == 4 and image_size[0] != image_size[1]:
        raise ValueError(f"rotations=4 turns images by 90 degrees, which needs a square input, not {image_size}: "
                         "pass a square image_size or rotations=2.")
    return rotations


def rotated_classes(labels: np.ndarray, num_classes: int, rotations: int) -> np.ndarray:
    """Class labels of every image turned `rotations` ways: turn r of class c is class `c + r * num_classes`,
    at index `image + r * len(labels)`."""
    return np.concatenate([labels + turn * num_classes for turn in range(rotations)])


def check_blends(blends: bool, num_classes: int = 0) -> None:
    """A ValueError saying what to do if `meta_train(blends=...)` cannot blend `num_classes` base classes."""
    if blends not in (True, False):
        raise ValueError(f"blends={blends!r}: use True (pairs of base classes also train as classes) or False.")
    if blends and num_classes > MAX_BLENDED_BASE_CLASSES:
        raise ValueError(f"blends=True makes a class of every pair of base classes, {math.comb(num_classes, 2)} "
                         f"for {num_classes} classes; it is meant for a few base classes (at most "
                         f"{MAX_BLENDED_BASE_CLASSES}), whose episodes repeat. With {num_classes} classes episodes "
                         "already vary: pass blends=False.")


def blended_pairs(labels: np.ndarray, num_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The images of the blended classes, as pairs of image indices, and their labels.

    Each pair of classes a < b (in `itertools.combinations` order, the k-th pair labelled `num_classes + k`)
    gets min(count of a, count of b) pairs, one image of each class, no image twice in a pair class.

    Returns:
        `(pairs (P, 2), labels (P,))`.
    """
    rng = np.random.default_rng(seed)
    pairs, pair_labels = [], []
    for number, (first, second) in enumerate(itertools.combinations(range(num_classes), 2)):
        of_first, of_second = np.flatnonzero(labels == first), np.flatnonzero(labels == second)
        count = min(len(of_first), len(of_second))
        pairs.append(np.stack([rng.permutation(of_first)[:count], rng.permutation(of_second)[:count]], axis=1))
        pair_labels.append(np.full(count, num_classes + number))
    if not pairs:
        return np.zeros((0, 2), dtype=int), np.zeros(0, dtype=int)
    return np.concatenate(pairs), np.concatenate(pair_labels)


def upright_pixels(images: np.ndarray, pairs: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """float32 pixels of `positions` in the upright set: image `position` below `len(images)`, else the pixel
    mean of the two images of pair `position - len(images)`."""
    blended = positions >= len(images)
    pixels = np.empty((len(positions), *images.shape[1:]), dtype="float32")
    pixels[~blended] = images[positions[~blended]]
    pair = pairs[positions[blended] - len(images)]
    pixels[blended] = (images[pair[:, 0]].astype("float32") + images[pair[:, 1]]) / 2
    return pixels


def turned_pixels(images: np.ndarray, indices: np.ndarray, rotations: int, pairs: np.ndarray | None = None
                  ) -> np.ndarray:
    """The images `indices` points at in the `rotations`-fold set `rotated_classes` labels, as float32 pixels.

    The upright set is `images` followed by the blends of `pairs` (`upright_pixels`); index
    `position + r * len(upright set)` is that upright image turned by r * 360 / rotations degrees."""
    pairs = np.zeros((0, 2), dtype=int) if pairs is None else pairs
    upright = len(images) + len(pairs)
    pixels = upright_pixels(images, pairs, indices % upright)
    quarter_turns = (indices // upright) * (4 // rotations)
    for turns in np.unique(quarter_turns[quarter_turns > 0]):
        chosen = quarter_turns == turns
        pixels[chosen] = np.rot90(pixels[chosen], int(turns), axes=(1, 2))
    return pixels


def stage_history(records: Sequence[dict]) -> list[dict]:
    """Meta-training records in the shape of `FitResult.history` (one episode counted as one epoch), so the
    summary and the report's curves read them.

    Args:
        records: `{"name", "trainable_blocks", "episodes_run", "losses", "accuracies"}` per stage.

    Returns:
        Per stage: name, first_epoch, epochs_run (= episodes), best_value (None), trainable_blocks,
        episodes_run and metrics `{"episode_loss": [...], "episode_query_accuracy": [...]}`.
    """
    history, first = [], 0
    for record in records:
        history.append({"name": record["name"], "first_epoch": first, "epochs_run": record["episodes_run"],
                        "episodes_run": record["episodes_run"], "best_value": None,
                        "trainable_blocks": record["trainable_blocks"],
                        "metrics": {"episode_loss": list(record["losses"]),
                                    "episode_query_accuracy": list(record["accuracies"])}})
        first += record["episodes_run"]
    return history


class _Checkpoint:
    """The resume folder: weights, optimizer variables and progress, replaced atomically as a whole."""

    def __init__(self, output_dir: str | None):
        self.folder = Path(output_dir) / RESUME_DIR if output_dir is not None else None

    def load(self) -> dict | None:
        if self.folder is None or not (self.folder / "state.json").is_file():
            return None
        return json.loads((self.folder / "state.json").read_text(encoding="utf-8"))

    def save(self, model: keras.Model, optimizer: keras.optimizers.Optimizer, state: dict) -> None:
        if self.folder is None:
            return
        with atomic_directory(self.folder) as staging:
            model.save_weights(staging / "model.weights.h5")
            np.savez(staging / "optimizer.npz", *[keras.ops.convert_to_numpy(v) for v in optimizer.variables])
            (staging / "state.json").write_text(json.dumps(state), encoding="utf-8")

    def restore_model(self, model: keras.Model) -> None:
        model.load_weights(self.folder / "model.weights.h5")

    def restore_optimizer(self, optimizer: keras.optimizers.Optimizer) -> None:
        with np.load(self.folder / "optimizer.npz", allow_pickle=False) as arrays:
            for index, variable in enumerate(optimizer.variables):
                variable.assign(arrays[f"arr_{index}"])


def meta_train(
    base_data: Any,
    *,
    backbone: Any = "mobilenet",
    weights: str | None = "imagenet",
    image_size: int | tuple | None = None,
    distance: str = "euclidean",
    scale: float = META_SCALE,
    pooling: str = "average",
    rotations: int = 1,
    blends: bool = False,
    n_way: int = 5,
    k_shot: int = 5,
    queries: int = 10,
    stages: Sequence[MetaStage] = (MetaStage(),),
    seed: int = 0,
    output_dir: str | None = None,
    resume: bool = False,
    checkpoint_every: int = 50,
    on_episode: Callable[[int, float, float], None] | None = None,
    verbose: int = 0,
) -> FitResult:
    """Meta-trains a backbone with prototypical episodes on base classes, then builds their prototype classifier.

    Args:
        base_data: labelled images of the base classes (any source `load_data` reads).
        backbone: a registry name or `BackboneSpec`.
        weights: the starting weights (`"imagenet"`, a weights file, or None for random ones).
        image_size: the input size (default: the backbone's).
        distance: `"euclidean"` (Snell et al.'s choice; at the same scale cosine training gained 10 points less
            on Fashion-MNIST in our runs) or `"cosine"`, in training and in the final head.
        scale: the logits' scale, in training and in the final head. 20 (the default) gained 1.6 to 3.1 points
            more than 10 over five meta-training seeds on both benchmark sets; 40 gained less than 20 on Fashion-MNIST.
        pooling: the embedding the episodes train and the final head uses (`"average"` or `"grid"`, as
            `few_shot(pooling=...)`).
        rotations: each base class also trains as its images turned by 180 degrees (2) or by 90, 180 and 270
            degrees (4), each turn a class of its own, so that episodes draw from `rotations` times as many
            classes (the label augmentation of Lee et al. 2020, the rotated classes of Vinyals et al. 2016). The
            final head holds the upright classes only. 4 needs a square input.
        blends: each pair of base classes also trains as a class of its own, whose images are the pixel mean of
            one image of each (task interpolation, Yao et al. 2022): 5 base classes give 15 classes (60 with
            `rotations=4`). For a few base classes (at most 20); the final head holds the base classes only.
        n_way, k_shot, queries: the shape of each training episode.
        stages: `MetaStage`s run in order (which blocks train, for how many episodes, at what rate); the default
            is one `MetaStage()`, the measured recipe.
        seed: seeds the episodes and the weights of a random start.
        output_dir: where the meta-trained backbone weights, the resume folder and `config.json` go
            (default: a new temporary folder).
        resume: continue from the checkpoint in `output_dir`.
        checkpoint_every: episodes between checkpoints (with `output_dir`).
        on_episode: called as `on_episode(episode number, loss, query accuracy)` after each step.
        verbose: 1 prints a line per stage and the run's progress.

    Returns:
        The `FitResult` of `few_shot(base_data, weights=<the meta-trained backbone file>)`: its model is the
        prototype classifier of the base classes, its config reruns it, its `method_record["meta_training"]`
        holds the stages, episodes and losses, and its `history` one entry per stage (`stage_history`).

    Raises:
        ValueError: `resume=True` without `output_dir` or a checkpoint, or a checkpoint of other stages or
            rotations or blends; `rotations` not 1, 2 or 4, or 4 with a non-square input; `blends` with more
            than 20 base classes.

    Example:
        >>> result = meta_train((x_base, y_base), backbone="mobilenet", weights=mobilenet_v1_imagenet_weights(),
        ...                     image_size=64, rotations=4, blends=True, output_dir="meta")
        >>> novel = keras_transfer.add_classes(result, (x_novel_support, y_novel_support))
    """
    check_distance(distance)
    check_pooling(pooling)
    if resume and output_dir is None:
        raise ValueError("resume=True continues from output_dir's checkpoint: give output_dir=.")
    output_dir = str(output_dir) if output_dir is not None else tempfile.mkdtemp(prefix="meta-train-")
    spec = resolve_backbone(backbone)
    size = size_pair(image_size or spec.default_size)
    check_rotations(rotations, size)
    check_blends(blends)
    stage_records = [asdict(stage) for stage in stages]
    checkpoint = _Checkpoint(output_dir)
    state = {"episode": 0, "stages": stage_records, "rotations": rotations, "blends": blends, "history": []}
    if resume:  # checked before any image is read
        state = checkpoint.load()
        if state is None:
            raise ValueError(f"Nothing to resume in {output_dir}: run without resume=True first.")
        if state["stages"] != stage_records:
            raise ValueError(f"The checkpoint in {output_dir} was made with stages {state['stages']}, not "
                             f"{stage_records}: resume with the same stages.")
        if state.get("rotations", 1) != rotations:
            raise ValueError(f"The checkpoint in {output_dir} was made with rotations={state.get('rotations', 1)}, "
                             f"not {rotations}: resume with the same rotations.")
        if state.get("blends", False) != blends:
            raise ValueError(f"The checkpoint in {output_dir} was made with blends={state.get('blends', False)}, "
                             f"not {blends}: resume with the same blends.")
    keras.utils.set_random_seed(seed)
    images, labels, class_names = base_pixels(base_data, size)
    check_blends(blends, len(class_names))
    pairs, pair_labels = blended_pairs(labels, len(class_names) if blends else 0, seed)
    upright_labels = np.concatenate([labels, pair_labels])
    upright_classes = len(class_names) + (math.comb(len(class_names), 2) if blends else 0)
    model = build_model(spec, max(len(class_names), 2), weights=weights, image_size=size)
    embedding = pooled_features_model(model, pooling)
    total = sum(stage.episodes for stage in stages)
    tasks = draw_episodes(rotated_classes(upright_labels, upright_classes, rotations), n_way, k_shot, queries, total,
                          seed)
    if resume:
        checkpoint.restore_model(model)
    started = time.perf_counter()
    first = 0
    for stage in stages:
        last = first + stage.episodes
        if state["episode"] >= last:
            first = last
            continue
        trained = set_trainable_blocks(model, stage.train_blocks)
        variables = embedding.trainable_variables
        optimizer = keras.optimizers.Adam(stage.learning_rate)
        optimizer.build(variables)
        if resume and state["episode"] > first:  # killed inside this stage: its optimizer state goes on
            checkpoint.restore_optimizer(optimizer)
        if not resume or state["episode"] <= first:
            state["history"].append({"name": stage.name, "trainable_blocks": trained, "episodes_run": 0,
                                     "losses": [], "accuracies": []})
        record = state["history"][-1]
        step = training_step(embedding, optimizer, variables, distance, scale)
        if verbose:
            print(f"Meta-training stage {stage.name}: blocks {trained}, episodes {state['episode'] + 1}-{last}",
                  flush=True)
        while state["episode"] < last:
            task = tasks[state["episode"]]
            onehot = np.eye(n_way, dtype="float32")[task.support_labels]
            loss, accuracy = step(turned_pixels(images, task.support, rotations, pairs), onehot,
                                  turned_pixels(images, task.query, rotations, pairs),
                                  task.query_labels.astype("int32"))
            state["episode"] += 1
            record["episodes_run"] += 1
            record["losses"].append(float(loss))
            record["accuracies"].append(float(accuracy))
            if on_episode is not None:
                on_episode(state["episode"], float(loss), float(accuracy))
            if state["episode"] % checkpoint_every == 0 or state["episode"] == last:
                checkpoint.save(model, optimizer, state)
        first = last
    seconds = time.perf_counter() - started
    weights_file = Path(output_dir) / BACKBONE_WEIGHTS
    get_backbone_layer(model).save_weights(weights_file)
    result = few_shot(base_data, backbone=backbone, weights=str(weights_file), image_size=size, distance=distance,
                      scale=scale, pooling=pooling, output_dir=output_dir, seed=seed, verbose=verbose)
    result.history = stage_history(state["history"])
    result.method_record["meta_training"] = {
        "stages": stage_records, "episodes": total, "rotations": rotations, "blends": blends,
        "n_way": n_way, "k_shot": k_shot,
        "queries": queries,
        "start_weights": weights if weights is None or isinstance(weights, str) else str(weights),
        "backbone_weights": str(weights_file), "seconds": seconds,
        "final_loss": float(np.mean([loss for entry in state["history"] for loss in entry["losses"]][-20:])),
    }
    return result
