"""The Fashion-MNIST demo: its pieces, and the smoke mode end to end on a tiny offline stand-in set."""

import gzip
import importlib.util
import json
import struct

import numpy as np
import pytest

from keras_transfer.datasets.fashion_mnist import FASHION_MNIST_FILES
from keras_transfer.demo import transfer_demo as demo

HAS_EXPORTER = importlib.util.find_spec("keras_transfer.serving.export") is not None


def _idx(array: np.ndarray) -> bytes:
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def _fake_fashion_mnist(folder, train_per_class=60, test_per_class=20, seed=0):
    """Fashion-MNIST-shaped idx files: 10 classes, each a bright bar at its own position, plus noise."""
    rng = np.random.default_rng(seed)

    def split(per_class):
        labels = np.repeat(np.arange(10, dtype=np.uint8), per_class)
        images = rng.integers(0, 60, (len(labels), 28, 28)).astype(np.uint8)
        for index, label in enumerate(labels):
            images[index, 2 + 2 * label: 5 + 2 * label, 4:24] = 230
        order = rng.permutation(len(labels))
        return images[order], labels[order]

    arrays = dict(zip(("train_images", "train_labels"), split(train_per_class)))
    arrays.update(zip(("test_images", "test_labels"), split(test_per_class)))
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in FASHION_MNIST_FILES.items():
        with gzip.open(folder / f"{name}.gz", "wb") as handle:
            handle.write(_idx(arrays[key]))
    return folder


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """One smoke run of the whole demo (offline stand-in data), shared by the tests below."""
    root = tmp_path_factory.mktemp("demo")
    data_dir = _fake_fashion_mnist(root / "fmnist")
    result = demo.run_demo(seeds=(0,), smoke=True, output_dir=root / "out", data_dir=data_dir, verbose=0)
    return result, root


def test_smoke_demo_runs_end_to_end_and_prints_its_table(smoke_run):
    result, root = smoke_run
    assert result.smoke and result.settings == demo.DemoSettings.smoke()
    assert result.source_classes == ["T-shirt/top", "Trouser", "Dress", "Coat", "Sandal"]
    assert result.target_classes == ["Pullover", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    assert result.test_images == 100 and result.source.train_images == 300 and not result.source.reused
    [seed] = result.seeds
    assert set(seed.accuracy) == {"scratch", "random_probe", "linear_probe", "fine_tuned", "build_and_fit"}
    assert seed.accuracy["build_and_fit"] >= seed.accuracy["linear_probe"] - 1e-9
    assert all(0.0 <= value <= 1.0 for value in seed.accuracy.values())
    assert seed.gain == pytest.approx(max(seed.accuracy["fine_tuned"], seed.accuracy["linear_probe"])
                                      - seed.accuracy["scratch"])
    assert [key for key in seed.seconds if key.startswith("stage:")] == ["stage:head", "stage:top_blocks",
                                                                           "stage:all"]
    table = result.table()
    for text in ("SMOKE", "scratch", "linear probe", "fine-tuned", "gain", "wall time", "Pullover"):
        assert text in table
    saved = json.loads((root / "out" / "demo_results_smoke.json").read_text())
    assert saved["seeds"][0]["accuracy"] == seed.accuracy and saved["smoke"] is True
    assert (root / "out" / "demo_source_smoke" / demo.SOURCE_WEIGHTS_FILENAME).is_file()


@pytest.mark.skipif(not HAS_EXPORTER, reason="keras_transfer.exporter is not available")
def test_smoke_demo_exports_and_a_fresh_process_reloads_it(smoke_run):
    result, root = smoke_run
    check = result.export
    assert check is not None and check.directory == (root / "out" / "demo").absolute()
    assert (check.directory / "saved_model" / "saved_model.pb").is_file()
    assert (check.directory / "report.html").is_file()
    assert len(check.predictions) == len(check.expected) == 4
    assert set(check.predictions) <= set(result.target_classes)
    assert check.agreement == 1.0
    assert "reloaded in a fresh process" in result.table()


def test_saved_source_weights_are_reused(smoke_run):
    result, root = smoke_run
    settings = result.settings
    (x_train, y_train), (x_test, y_test), names = demo.load_fashion_mnist(root / "fmnist")
    train = demo.select_classes(x_train, y_train, demo.SOURCE_CLASS_IDS)
    test = demo._subsample(*demo.select_classes(x_test, y_test, demo.SOURCE_CLASS_IDS), settings.test_images, 0)
    folder = root / "out" / "demo_source_smoke"
    again = demo.pretrain_source(train, test, result.source_classes, settings, folder, verbose=0)
    assert again.reused and again.accuracy == result.source.accuracy and again.weights == result.source.weights


def test_labelled_draw_is_stratified_and_seeded():
    labels = np.repeat(np.arange(5), 30)
    first = demo.sample_per_class(labels, 4, seed=1)
    np.testing.assert_array_equal(first, demo.sample_per_class(labels, 4, seed=1))
    assert not np.array_equal(first, demo.sample_per_class(labels, 4, seed=2))
    np.testing.assert_array_equal(np.bincount(labels[first]), [4] * 5)
    with pytest.raises(ValueError, match="fewer than the 31"):
        demo.sample_per_class(labels, 31, seed=0)


def test_select_classes_renumbers_in_the_given_order():
    images = np.arange(6)[:, None]
    labels = np.array([2, 6, 0, 6, 9, 2])
    kept, renumbered = demo.select_classes(images, labels, (6, 2))
    np.testing.assert_array_equal(kept[:, 0], [0, 1, 3, 5])
    np.testing.assert_array_equal(renumbered, [1, 0, 0, 1])


def test_source_and_target_classes_are_disjoint_and_cover_the_set():
    assert not set(demo.SOURCE_CLASS_IDS) & set(demo.TARGET_CLASS_IDS)
    assert sorted(demo.SOURCE_CLASS_IDS + demo.TARGET_CLASS_IDS) == list(range(10))


def test_scratch_gets_the_fine_tuning_epoch_budget():
    settings = demo.DemoSettings()
    plan = settings.stages()
    assert [stage.name for stage in plan] == ["head", "top_blocks", "all"]
    assert [stage.train_blocks for stage in plan][0] == 0 and plan[-1].train_blocks == "all"
    assert all(stage.patience is None for stage in plan)  # fixed schedule: nothing is selected on data
    [scratch] = settings.scratch_stages()
    assert scratch.epochs == sum(stage.epochs for stage in plan) == settings.total_epochs


def test_backbone_keeps_the_whole_feature_map_and_has_three_blocks():
    spec = demo.demo_backbone_spec(32)
    assert spec.user_model.output_shape == (None, 1, 1, 4 * 4 * 64)
    assert [block.name for block in spec.blocks(spec.user_model)] == list(demo.BLOCK_STARTS)


def test_settings_resolution(monkeypatch):
    monkeypatch.setenv(demo.SMOKE_ENV, "1")
    smoke, settings = demo.resolve_settings(None)
    assert smoke and settings == demo.DemoSettings.smoke()
    monkeypatch.setenv(demo.SMOKE_ENV, "0")
    smoke, settings = demo.resolve_settings(None, labels_per_class=5, image_size=48)
    assert not smoke and settings.labels_per_class == 5 and settings.image_size == 48
    with pytest.raises(ValueError, match="labels_per_class"):
        demo.resolve_settings(False, labels_per_class=0)
    with pytest.raises(ValueError, match="seeds is empty"):
        demo.run_demo(seeds=())


def test_seeds_option():
    assert demo.parse_seeds("3") == [0, 1, 2]
    assert demo.parse_seeds("4,7") == [4, 7]
    for bad in ("x", "0", "-1,2"):
        with pytest.raises(Exception, match="--seeds"):
            demo.parse_seeds(bad)


def test_main_maps_options_onto_run_demo(monkeypatch, capsys):
    seen = {}

    class Fake:
        def table(self):
            return "TABLE"

    def fake_run_demo(**kwargs):
        seen.update(kwargs)
        return Fake()

    monkeypatch.setattr(demo, "run_demo", fake_run_demo)
    assert demo.main(["--seeds", "3", "--smoke", "--labels-per-class", "5", "--out", "x", "--no-export",
                      "--quiet"]) == 0
    assert seen["seeds"] == [0, 1, 2] and seen["smoke"] is True and seen["labels_per_class"] == 5
    assert seen["output_dir"] == "x" and seen["export"] is False and seen["verbose"] == 0
    assert "TABLE" in capsys.readouterr().out
    demo.main([])
    assert seen["seeds"] == [0] and seen["smoke"] is None and seen["export"] is True


def test_backbone_init_depends_on_the_seed_only():
    import keras

    first = demo.demo_backbone_spec(32, seed=3).user_model.get_weights()
    keras.random.uniform((5,))  # draws in between must not change the next init
    again = demo.demo_backbone_spec(32, seed=3).user_model.get_weights()
    other = demo.demo_backbone_spec(32, seed=4).user_model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])


def test_pretraining_the_source_prints_a_line_per_epoch_for_logs(smoke_run, capsys):
    result, root = smoke_run
    settings = result.settings
    (x_train, y_train), (x_test, y_test), _ = demo.load_fashion_mnist(root / "fmnist")
    train = demo.select_classes(x_train, y_train, demo.SOURCE_CLASS_IDS)
    test = demo._subsample(*demo.select_classes(x_test, y_test, demo.SOURCE_CLASS_IDS), settings.test_images, 0)
    capsys.readouterr()
    demo.pretrain_source(train, test, result.source_classes, settings, root / "out" / "retrained", retrain=True)
    printed = capsys.readouterr().out
    epoch_lines = [line for line in printed.splitlines() if "/step - " in line and "loss:" in line]
    assert len(epoch_lines) == settings.source_epochs, printed
    assert "\r" not in printed
