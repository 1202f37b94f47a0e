"""The text SavedModel: `serving_default` takes a batch of raw strings, returns probabilities and class names.

Tokenization runs inside the graph (the preset's KerasHub preprocessor, whose
word-piece ops come from TensorFlow Text), so a client sends text, not token
ids. Loading it needs `import tensorflow_text` first (it registers those ops);
TF Serving needs a build with the TensorFlow Text ops linked in (the
`tensorflow/serving` images do not carry them: build the model server with
`//tensorflow_text:ops_lib`, or serve through Python).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import keras
import tensorflow as tf

from keras_transfer.serialization import to_jsonable
from keras_transfer.serving.atomic import atomic_directory, check_target
from keras_transfer.serving.inference import METADATA_FILE, SAVED_MODEL_DIR, SERVING_IMAGES, SUPPORTED_FORMAT_VERSION
from keras_transfer.text.context import reads_strings
from keras_transfer.text.model import INPUT_NAMES

TEXT_MODALITY = "text"


class TextServing(tf.Module):
    """Raw strings -> probabilities, with the tokenizer inside (what the SavedModel holds).

    Example:
        >>> module = TextServing(model, preprocessor, ["rotten", "fresh"])
        >>> module.serve(tf.constant(["a great film"]))["probabilities"]
    """

    def __init__(self, model: keras.Model, preprocessor, class_names: Sequence[str]):
        super().__init__(name="text_serving")
        self.binary = int(model.outputs[0].shape[-1]) == 1 and len(class_names) == 2
        self.model = model
        self.preprocessor = preprocessor
        self.class_names = tf.constant([str(name) for name in class_names])

    def probabilities(self, texts: tf.Tensor) -> tf.Tensor:
        """The model's probabilities for a (B,) string tensor."""
        if reads_strings(self.model):
            return self.model(texts, training=False)
        tokens = self.preprocessor(texts)
        return self.model({name: tf.cast(tokens[name], tf.int32) for name in INPUT_NAMES}, training=False)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def serve(self, texts: tf.Tensor) -> dict[str, tf.Tensor]:
        probabilities = tf.cast(self.probabilities(texts), tf.float32)
        if self.binary:  # one sigmoid output: the probability of the second class
            probabilities = tf.concat([1.0 - probabilities, probabilities], axis=-1)
        names = tf.tile(self.class_names[tf.newaxis], [tf.shape(texts)[0], 1])
        return {"probabilities": probabilities, "class_names": names}


def export_text(model: keras.Model, directory: str | os.PathLike, *, preprocessor, class_names: Sequence[str],
                multi_label: bool = False, config: dict | None = None, metrics: dict | None = None,
                sequence_length: int | None = None, overwrite: bool = False) -> Path:
    """Writes the text export folder atomically: `saved_model/` and `keras_transfer.json`.

    Args:
        model: the text classifier (token dicts in) or a model on raw strings (the TF-IDF baseline).
        directory: the folder to write (replaced atomically).
        preprocessor: the run's KerasHub preprocessor (unused for a model on strings).
        class_names: output order.
        multi_label: independent labels.
        config: the run's config (recorded).
        metrics: validation metrics (recorded).
        sequence_length: tokens per text (recorded).
        overwrite: replace an existing export folder.

    Returns:
        The export folder.

    Example:
        >>> export_text(result.model, "exports/reviews", preprocessor=pre, class_names=["rotten", "fresh"])
        >>> keras_transfer.load("exports/reviews").predict(["a great film"])
    """
    module = TextServing(model, preprocessor, class_names)
    metadata = {"format_version": SUPPORTED_FORMAT_VERSION, "modality": TEXT_MODALITY,
                "class_names": [str(name) for name in class_names], "multi_label": bool(multi_label),
                "sequence_length": sequence_length, "signature": {"inputs": {"texts": "string (B,)"},
                                                                   "outputs": ["probabilities", "class_names"]},
                "needs": "import tensorflow_text before tf.saved_model.load (it registers the tokenizer ops)",
                "metrics": metrics or {}, "config": config or {}}
    target = Path(directory)
    check_target(target, overwrite)
    with atomic_directory(target) as folder:
        tf.saved_model.save(module, str(Path(folder) / SAVED_MODEL_DIR),
                            signatures={SERVING_IMAGES: module.serve.get_concrete_function()})
        (Path(folder) / METADATA_FILE).write_text(json.dumps(to_jsonable(metadata), indent=2), encoding="utf-8")
    return target
