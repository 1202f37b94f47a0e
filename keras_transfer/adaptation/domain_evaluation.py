"""How far apart two domains are for a trained classifier: A-distances and embeddings of its features.

`evaluate_domains(model, source, target)` works on any `build_and_fit`
classifier (adapted or not, in memory or loaded): it reads the pooled backbone
features and, when the head has a bottleneck, the bottleneck features, of
images from both domains. With `target_labels`, the target accuracy too.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from keras_transfer.adaptation.adapted_model import BOTTLENECK_LAYER
from keras_transfer.adaptation.domain_metrics import domain_shift
from keras_transfer.adaptation.method import head_outputs
from keras_transfer.data.unlabeled import unlabeled_images
from keras_transfer.train.feature_cache import extract_features, head_model


def evaluate_domains(model_or_result: Any, source: Any, target: Any, *, target_labels: np.ndarray | None = None,
                     batch_size: int = 64, seed: int = 0) -> dict:
    """The A-distance and PCA embedding of source and target images in the classifier's feature spaces.

    Args:
        model_or_result: a `FitResult` or a `build_model` classifier (RGB pixels 0-255 in).
        source, target: images of each domain, any kind `unlabeled_images` reads (labels are ignored).
        target_labels: the target images' class ids, for the target accuracy (optional).
        batch_size: images per forward pass.
        seed: the A-distance's split seed.

    Returns:
        `{"shift": {"pooled backbone features": {...}, "bottleneck": {...}}, "target_accuracy": float or None}`;
        each shift entry as `domain_shift` gives it, ready for `plot_domain_embedding`.

    Raises:
        ValueError: target labels that do not match the target images.

    Example:
        >>> found = evaluate_domains(result, mnist_images, scanner_b_images)
        >>> plot_domain_embedding(found["shift"], "domains.png")
    """
    model: keras.Model = getattr(model_or_result, "model", model_or_result)
    size = tuple(int(side) for side in model.input_shape[1:3])
    names = [str(index) for index in range(int(model.output_shape[-1]))]
    specs = {side: unlabeled_images(data, names, option=f"{side} images")
             for side, data in (("source", source), ("target", target))}
    features = {side: extract_features(model, spec, size, batch_size)[0] for side, spec in specs.items()}
    shift = {"pooled backbone features": domain_shift(features["source"], features["target"], seed)}
    if BOTTLENECK_LAYER in [layer.name for layer in model.layers]:
        bottleneck = {side: head_outputs(model, values)[0] for side, values in features.items()}
        shift["bottleneck"] = domain_shift(bottleneck["source"], bottleneck["target"], seed)
    accuracy = None
    if target_labels is not None:
        labels = np.asarray(target_labels).reshape(-1)
        if len(labels) != len(features["target"]):
            raise ValueError(f"target_labels has {len(labels)} labels for {len(features['target'])} target images.")
        probabilities = np.asarray(head_model(model)(features["target"], training=False))
        predicted = (probabilities[:, 0] > 0.5) if probabilities.shape[1] == 1 else probabilities.argmax(axis=1)
        accuracy = float(np.mean(predicted.astype(np.int64) == labels))
    return {"shift": shift, "target_accuracy": accuracy}
