"""The SavedModel: signature parity with Keras, TF1 loaders, top-k outputs, resizing, the TPU signature."""

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from keras_transfer.data.images import resize_pixels
from keras_transfer.serving.savedmodel import build_serving_module
from keras_transfer.serving.spec import serving_spec

CLASSES = 3  # as the conftest's export
TPU_BATCH = 4


def png_bytes(images: np.ndarray) -> list[bytes]:
    out = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out


def test_signatures_reloaded_keras_and_in_memory_agree(exported, saved_model, trained, shapes):
    pixels = shapes["x_val"][:16]
    expected = trained.predict(pixels.astype("float32"), verbose=0)
    by_bytes = saved_model.signatures["serving_default"](images=tf.constant(png_bytes(pixels)))
    by_pixels = saved_model.signatures["serving_pixels"](pixels=tf.constant(pixels.astype("float32")))
    reloaded = keras.saving.load_model(exported.keras_model, safe_mode=True)
    np.testing.assert_allclose(by_bytes["probabilities"].numpy(), expected, atol=1e-4)
    np.testing.assert_allclose(by_pixels["probabilities"].numpy(), expected, atol=1e-4)
    np.testing.assert_allclose(reloaded.predict(pixels.astype("float32"), verbose=0), expected, atol=1e-4)


def test_tf1_session_loader_like_tf_serving(exported, saved_model, shapes):
    """TF Serving and `saved_model_cli run` load through a TF1 session and the checkpoint's variable names."""
    pixels = shapes["x_val"][:4].astype("float32")
    images = png_bytes(shapes["x_val"][:4])
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(exported.saved_model))
        results = {}
        for name, key, value in (("serving_default", "images", images), ("serving_pixels", "pixels", pixels)):
            signature = meta_graph.signature_def[name]
            feed = {signature.inputs[key].name: value}
            results[name] = session.run(signature.outputs["probabilities"].name, feed)
    expected = saved_model.signatures["serving_pixels"](pixels=tf.constant(pixels))["probabilities"].numpy()
    for probabilities in results.values():
        np.testing.assert_allclose(probabilities, expected, atol=1e-5)


def test_top_k_outputs(saved_model, shapes):
    out = saved_model.signatures["serving_pixels"](pixels=tf.constant(shapes["x_val"][:10].astype("float32")))
    probabilities = out["probabilities"].numpy()
    assert probabilities.dtype == np.float32 and probabilities.shape == (10, CLASSES)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert out["class_ids"].dtype == tf.int32 and out["class_ids"].shape == (10, 2)
    ids = out["class_ids"].numpy()
    np.testing.assert_array_equal(ids[:, 0], probabilities.argmax(axis=1))
    names = np.array(shapes["names"])[ids]
    assert (out["class_names"].numpy().astype(str) == names).all()
    np.testing.assert_allclose(out["scores"].numpy(), np.take_along_axis(probabilities, ids, axis=1))


def test_serving_pixels_resizes_other_sizes_like_training(saved_model, trained, shapes):
    large = tf.image.resize(shapes["x_val"][:4].astype("float32"), (48, 40)).numpy()
    expected = trained.predict(resize_pixels(large, (32, 32)).numpy(), verbose=0)
    out = saved_model.signatures["serving_pixels"](pixels=tf.constant(large))
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-4)


def test_serving_resizes_with_the_training_resize_method(trained, shapes):
    spec = serving_spec(trained, shapes["names"], resize_method="nearest")
    module = build_serving_module(trained, spec)
    large = np.repeat(np.repeat(shapes["x_val"][:3], 2, axis=1), 2, axis=2)
    expected = trained.predict(resize_pixels(large, (32, 32), "nearest").numpy(), verbose=0)
    out = module.serve_images(tf.constant(png_bytes(large)))
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-4)


def test_served_graph_has_no_training_ops(saved_model):
    for name in ("serving_default", "serving_pixels"):
        graph = saved_model.signatures[name].graph.as_graph_def()
        ops = {node.op for node in graph.node}
        for function in graph.library.function:
            ops |= {node.op for node in function.node_def}
        assert not [op for op in ops if "Random" in op or "Dropout" in op], name


def test_tpu_signature_compiles_and_agrees(exported, saved_model, shapes):
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((exported.saved_model / "saved_model.pb").read_bytes())
    aliases = proto.meta_graphs[0].meta_info_def.function_aliases
    assert "tpu_func" in set(aliases.values())
    images = tf.constant(png_bytes(shapes["x_val"][:TPU_BATCH]))
    tpu = saved_model.signatures["serving_tpu"](images=images)
    plain = saved_model.signatures["serving_default"](images=images)
    np.testing.assert_allclose(tpu["probabilities"].numpy(), plain["probabilities"].numpy(), atol=1e-4)
    assert saved_model.signatures["serving_tpu"].structured_input_signature[1]["images"].shape == (TPU_BATCH,)
    pixels = tf.constant(shapes["x_val"][:TPU_BATCH].astype("float32"))
    np.testing.assert_allclose(saved_model.tpu_func(pixels).numpy(), plain["probabilities"].numpy(), atol=1e-4)


def test_plain_tensorflow_process_serves_jpeg_bytes(exported, saved_model, shapes, tmp_path):
    paths = []
    for index, image in enumerate(shapes["x_val"][:12]):
        path = tmp_path / f"image_{index}.jpg"
        Image.fromarray(image).save(path, quality=95)
        paths.append(str(path))
    script = textwrap.dedent(
        """
        import json, sys

        class BlockKerasTransfer:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "keras_transfer":
                    raise ImportError("keras_transfer must not be needed to serve")

        sys.meta_path.insert(0, BlockKerasTransfer())
        import tensorflow as tf

        serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
        images = [open(path, "rb").read() for path in sys.argv[2:]]
        out = serve(images=tf.constant(images))
        print(json.dumps([name.decode() for name in out["class_names"].numpy()[:, 0]]))
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, str(exported.saved_model), *paths],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    names = json.loads(completed.stdout.strip().splitlines()[-1])
    jpegs = [Path(path).read_bytes() for path in paths]
    in_process = saved_model.signatures["serving_default"](images=tf.constant(jpegs))["class_names"].numpy()[:, 0]
    assert names == [name.decode() for name in in_process]
    truth = [shapes["names"][label] for label in shapes["y_val"][:12]]
    assert np.mean([a == b for a, b in zip(names, truth)]) >= 0.9
