"""export(): the artifact folder, signature parity, TFLite, TPU, ONNX and atomic writes.

One MobileNetV3Small is trained on the learnable shapes set and exported once
(every TFLite variant, the TPU signature and, when tf2onnx is installed, ONNX);
the tests read that artifact. Tests that export again do it without TFLite.
"""

import importlib.util
import io
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_transfer.data.images import resize_pixels
from keras_transfer.models.classifier import build_model
from keras_transfer.serving import export as exporter
from keras_transfer.serving.export import (
    KERAS_FILE,
    LABELS_FILE,
    METADATA_FILE,
    SAVED_MODEL_DIR,
    TFLITE_DIR,
    TFLITE_VARIANTS,
    commit_directory,
    export,
)
from keras_transfer.serving.inference import load, run_tflite
from keras_transfer.testing.synthetic import make_shapes_arrays

CLASSES = 3
TPU_BATCH = 4
HAS_ONNX = importlib.util.find_spec("tf2onnx") is not None and importlib.util.find_spec("onnxruntime") is not None


@pytest.fixture(scope="module")
def shapes():
    """Training and validation arrays of the shapes set (3 classes, 32 px)."""
    x_train, y_train, names = make_shapes_arrays(CLASSES, per_class=40, image_size=32, seed=0)
    x_val, y_val, _ = make_shapes_arrays(CLASSES, per_class=20, image_size=32, seed=1)
    return {"x_train": x_train, "y_train": y_train, "x_val": x_val, "y_val": y_val, "names": names}


@pytest.fixture(scope="module")
def trained(shapes):
    """A MobileNetV3Small trained from scratch to high validation accuracy."""
    keras.utils.set_random_seed(0)
    model = build_model("mobilenetv3small", CLASSES, weights=None, image_size=32)
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(shapes["x_train"], shapes["y_train"], epochs=8, batch_size=8, verbose=0)
    return model


@pytest.fixture(scope="module")
def exported(trained, shapes, tmp_path_factory):
    """The full export: every TFLite variant, the TPU signature and ONNX when available."""
    directory = tmp_path_factory.mktemp("exports") / "shapes"
    result = export(
        trained,
        directory,
        class_names=shapes["names"],
        top_k=2,
        config={"backbone": "mobilenetv3small", "learning_rate": np.float32(2e-3), "epochs": 8, "root": Path("/x")},
        metrics={"val_accuracy": np.float64(0.97)},
        tflite=True,
        representative_data=(shapes["x_train"], shapes["y_train"]),
        validation_data=(shapes["x_val"], shapes["y_val"]),
        accelerator={"type": "tpu", "batch_size": TPU_BATCH},
        onnx=HAS_ONNX,
    )
    return result


@pytest.fixture(scope="module")
def saved_model(exported):
    return tf.saved_model.load(str(exported.saved_model))


def png_bytes(images: np.ndarray) -> list[bytes]:
    out = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out


def test_model_learned_the_shapes(exported, shapes):
    assert exported.metadata["export_checks"]["keras_validation_accuracy"] >= 0.9


def test_artifact_layout(exported, shapes):
    folder = exported.directory
    assert folder.is_dir() and folder.name == "shapes"
    for name in (SAVED_MODEL_DIR + "/saved_model.pb", KERAS_FILE, LABELS_FILE, METADATA_FILE):
        assert (folder / name).is_file(), name
    assert (folder / LABELS_FILE).read_text().splitlines() == shapes["names"]
    assert (folder / TFLITE_DIR / LABELS_FILE).read_text().splitlines() == shapes["names"]
    assert (folder / SAVED_MODEL_DIR / "assets" / LABELS_FILE).is_file()
    on_disk = {p.relative_to(folder).as_posix(): p.stat().st_size for p in folder.rglob("*") if p.is_file()}
    assert exported.files == on_disk
    leftovers = [p.name for p in folder.parent.iterdir() if p.name != "shapes"]
    assert leftovers == []


def test_metadata(exported, shapes):
    metadata = json.loads((exported.directory / METADATA_FILE).read_text())
    assert metadata["class_names"] == shapes["names"]
    assert metadata["image_size"] == [32, 32]
    assert metadata["backbone"] == "mobilenetv3small"
    assert metadata["multi_label"] is False and metadata["top_k"] == 2
    assert metadata["preprocessing"]["in_model"] == "BackbonePreprocessing layer"
    assert metadata["training_config"] == {"backbone": "mobilenetv3small", "learning_rate": pytest.approx(2e-3),
                                           "epochs": 8, "root": "/x"}
    assert metadata["validation_metrics"] == {"val_accuracy": 0.97}
    assert set(metadata["versions"]) >= {"keras_transfer", "tensorflow", "keras"}
    assert metadata["versions"]["tensorflow"] == tf.__version__
    assert metadata["exported_at"].endswith("+00:00")
    listed = {item["path"]: item["size_bytes"] for item in metadata["files"]}
    assert listed == {name: size for name, size in exported.files.items() if name != METADATA_FILE}
    assert [item["variant"] for item in metadata["tflite"]] == list(TFLITE_VARIANTS)
    assert metadata["accelerator"]["function_alias"] == "tpu_func"
    assert metadata["export_checks"]["saved_model_vs_keras"]["max_abs_diff"] < 1e-4


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
    spec = exporter.serving_spec(trained, shapes["names"], resize_method="nearest")
    module = exporter.build_serving_module(trained, spec)
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


def test_model_with_augmentation_layers_is_refused(tmp_path):
    inputs = keras.Input((32, 32, 3), name="pixels")
    x = keras.layers.RandomFlip("horizontal")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    with pytest.raises(ValueError, match="training-only layers.*RandomFlip"):
        export(model, tmp_path / "out", class_names=["a", "b"])
    assert not (tmp_path / "out").exists()


def test_tflite_files_and_accuracy(exported, shapes):
    results = exported.tflite
    assert list(results) == list(TFLITE_VARIANTS)
    for variant, result in results.items():
        assert result.path == exported.directory / TFLITE_DIR / f"model_{variant}.tflite"
        assert result.path.stat().st_size == result.size_bytes > 0
        assert result.accuracy is not None and result.accuracy >= 0.85, variant
    sizes = {variant: result.size_bytes for variant, result in results.items()}
    assert sizes["float16"] < 0.6 * sizes["float32"]
    assert sizes["dynamic_int8"] < 0.4 * sizes["float32"] and sizes["int8"] < 0.4 * sizes["float32"]
    assert results["int8"].input_dtype == "uint8"


def test_tflite_float32_matches_keras(exported, trained, shapes):
    pixels = shapes["x_val"].astype("float32")
    probabilities = run_tflite(exported.tflite["float32"].path, pixels)
    np.testing.assert_allclose(probabilities, trained.predict(pixels, verbose=0), atol=1e-3)


def test_tflite_full_int8_agrees_on_top1(exported, trained, shapes):
    pixels = shapes["x_val"].astype("float32")
    probabilities = run_tflite(exported.tflite["int8"].path, pixels)
    agreement = np.mean(probabilities.argmax(1) == trained.predict(pixels, verbose=0).argmax(1))
    assert agreement >= 0.95
    assert exported.tflite["int8"].agreement == pytest.approx(agreement)


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


@pytest.mark.skipif(not HAS_ONNX, reason="needs the onnx extra: pip install 'keras-transfer[onnx]'")
def test_onnx_matches_keras(exported, trained, shapes):
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    assert exported.onnx == exported.directory / "model.onnx" and exported.onnx.is_file()
    session = onnxruntime.InferenceSession(str(exported.onnx), providers=["CPUExecutionProvider"])
    pixels = shapes["x_val"].astype("float32")
    probabilities = session.run(["probabilities"], {"pixels": pixels})[0]
    np.testing.assert_allclose(probabilities, trained.predict(pixels, verbose=0), atol=1e-4)
    assert exported.metadata["onnx"]["agreement_with_keras"] == 1.0


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


def test_existing_folder_is_refused_without_overwrite(exported, trained, shapes):
    def listing():
        return {p.relative_to(exported.directory).as_posix(): p.stat().st_mtime_ns
                for p in exported.directory.rglob("*") if p.is_file()}

    before = listing()
    with pytest.raises(FileExistsError, match=r"shapes already exists: pass overwrite=True"):
        export(trained, exported.directory, class_names=shapes["names"])
    assert listing() == before
    assert sorted(p.name for p in exported.directory.parent.iterdir()) == ["shapes"]


def test_overwrite_refuses_a_folder_that_is_not_an_export(trained, shapes, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="not a keras_transfer export"):
        export(trained, folder, class_names=shapes["names"], overwrite=True)
    assert (folder / "holiday.jpg").read_bytes() == b"precious"


def test_failed_overwrite_keeps_the_old_artifact_then_overwrite_succeeds(exported, trained, shapes, tmp_path,
                                                                         monkeypatch):
    target = tmp_path / "live"
    shutil.copytree(exported.directory, target)
    before = load(exported.directory).predict_probabilities(shapes["x_val"][:6])
    original_verify = exporter.verify_saved_model

    def fail_midway(path, *args, **kwargs):
        assert (path / "saved_model.pb").is_file()  # the new SavedModel is half-way written
        raise RuntimeError("disk full")

    monkeypatch.setattr(exporter, "verify_saved_model", fail_midway)
    with pytest.raises(RuntimeError, match="disk full"):
        export(trained, target, class_names=shapes["names"], overwrite=True, top_k=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live"]
    np.testing.assert_array_equal(load(target).predict_probabilities(shapes["x_val"][:6]), before)
    assert json.loads((target / METADATA_FILE).read_text())["top_k"] == 2

    monkeypatch.setattr(exporter, "verify_saved_model", original_verify)
    result = export(trained, target, class_names=shapes["names"], overwrite=True, top_k=1)
    assert result.directory == target and result.metadata["top_k"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live"]
    assert not (target / TFLITE_DIR).exists()
    np.testing.assert_allclose(load(target).predict_probabilities(shapes["x_val"][:6]), before, atol=1e-5)


def make_folder(path: Path, text: str) -> Path:
    path.mkdir()
    (path / METADATA_FILE).write_text(text)
    return path


def test_commit_directory_replaces_and_removes_the_old_one(tmp_path):
    target = make_folder(tmp_path / "export", "old")
    staging = make_folder(tmp_path / ".export.tmp-1", "new")
    commit_directory(staging, target)
    assert (target / METADATA_FILE).read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_commit_directory_puts_the_old_one_back_when_the_swap_fails(tmp_path, monkeypatch):
    target = make_folder(tmp_path / "export", "old")
    staging = make_folder(tmp_path / ".export.tmp-1", "new")
    calls = []
    real_rename = exporter._rename

    def flaky_rename(source, destination):
        calls.append(source)
        if source == staging:
            raise OSError("rename failed")
        real_rename(source, destination)

    monkeypatch.setattr(exporter, "_rename", flaky_rename)
    with pytest.raises(OSError, match="rename failed"):
        commit_directory(staging, target)
    assert (target / METADATA_FILE).read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".export.tmp-1", "export"]
    assert len(calls) == 3  # old aside, new in (fails), old back


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"class_names": ["a", "b"]}, ValueError, "3 output unit.*2 class_names"),
        ({"class_names": ["a", "a", "b"]}, ValueError, "duplicates"),
        ({"class_names": ["a", "b\nc", "d"]}, ValueError, "single-line"),
        ({"top_k": 0}, ValueError, "top_k must be a positive integer"),
        ({"tflite": ["float64"]}, ValueError, "Unknown TFLite variant 'float64'"),
        ({"tflite": ["int8"]}, ValueError, "needs representative_data"),
        ({"validation_data": np.zeros((2, 32, 32, 3))}, ValueError, "validation_data needs labels"),
        ({"resize_method": "cubic"}, ValueError, "Unknown resize_method 'cubic'"),
        ({"accelerator": "gpu"}, ValueError, "Unsupported accelerator 'gpu'"),
        ({"accelerator": {"type": "tpu", "batch_size": 0}}, ValueError, "batch_size must be a positive integer"),
    ],
)
def test_bad_arguments_are_refused_before_writing(trained, shapes, tmp_path, kwargs, error, message):
    arguments = {"class_names": shapes["names"], **kwargs}
    with pytest.raises(error, match=message):
        export(trained, tmp_path / "out", **arguments)
    assert list(tmp_path.iterdir()) == []


def test_onnx_without_tf2onnx_says_how_to_install(trained, shapes, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tf2onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'keras-transfer\[onnx\]'"):
        export(trained, tmp_path / "out", class_names=shapes["names"], onnx=True)
    assert list(tmp_path.iterdir()) == []


def test_export_needs_a_fixed_size_image_input(tmp_path):
    inputs = keras.Input((None, None, 3))
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling2D()(inputs))
    with pytest.raises(ValueError, match="fixed-size RGB image input"):
        export(keras.Model(inputs, outputs), tmp_path / "out", class_names=["a", "b"])


def test_option_helpers():
    assert exporter.resolve_tflite_variants(True) == TFLITE_VARIANTS
    assert exporter.resolve_tflite_variants(False) == ()
    assert exporter.resolve_tflite_variants("fp16") == ("float16",)
    assert exporter.resolve_tflite_variants(["int8", "full_int8", "dynamic"]) == ("int8", "dynamic_int8")
    assert exporter.resolve_accelerator(None) is None
    assert exporter.resolve_accelerator("TPU") == exporter.DEFAULT_TPU_BATCH_SIZE
    assert exporter.resolve_accelerator({"type": "tpu", "batch_size": 16}) == 16


def test_load_arrays_accepts_datasets_and_resizes():
    images, labels, _ = make_shapes_arrays(2, per_class=3, image_size=40, seed=2)
    batched = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
    pixels, found = exporter.load_arrays(batched, (32, 32), "validation_data", need_labels=True)
    assert pixels.shape == (6, 32, 32, 3) and pixels.dtype == np.float32
    np.testing.assert_array_equal(found, labels)
    unbatched = tf.data.Dataset.from_tensor_slices(images)
    same, none = exporter.load_arrays(unbatched, (40, 40), "representative_data")
    np.testing.assert_array_equal(same, images.astype("float32"))
    assert none is None
    with pytest.raises(ValueError, match="validation_data needs labels"):
        exporter.load_arrays(images, (32, 32), "validation_data", need_labels=True)
    with pytest.raises(ValueError, match="representative_data must hold RGB images"):
        exporter.load_arrays(["a.jpg", "b.jpg"], (32, 32), "representative_data")
