"""TFRecord shards: written and read back unchanged (images, labels, class names), on any tf.io.gfile path."""

import pytest
import tensorflow as tf

from keras_transfer import build_and_fit, write_shards
from keras_transfer.data.shards import MANIFEST, from_shards, iterate_shards, read_manifest
from keras_transfer.data.sources import load_data
from keras_transfer.testing.synthetic import make_shapes_arrays
from keras_transfer.testing.tiny import tiny_backbone


def test_pixel_shards_in_a_bucket_path_read_back_the_same_images_labels_and_classes():
    x, y, names = make_shapes_arrays(3, 10, 32)
    manifest = write_shards((x, y), "ram://shards/pixels", image_size=32, shards=4, class_names=None)
    assert manifest.count == 30 and len(manifest.files) == 4
    assert manifest.class_counts == {"0": 10, "1": 10, "2": 10}
    seen = set()
    for image, label, index in iterate_shards("ram://shards/pixels"):
        assert (image == x[index]).all() and label == y[index]
        seen.add(int(index))
    assert seen == set(range(30))
    spec = from_shards("ram://shards/pixels/" + MANIFEST)  # the manifest itself works too
    assert spec.class_names == ["0", "1", "2"] and len(spec) == 30 and not spec.encoded
    assert spec.shard_files == tuple(manifest.files)
    assert sorted(spec.labels.tolist()) == sorted(y.tolist())
    shuffled = [int(label) for _, label in spec.dataset.as_numpy_iterator()]
    assert shuffled == spec.labels.tolist(), "the .labels.npy files match the records, in order"


def test_encoded_shards_of_a_folder_keep_the_file_bytes_and_class_names(shapes_folder):
    manifest = write_shards(str(shapes_folder), "ram://shards/encoded", encoding="encoded", shards=3)
    assert manifest.class_names == ["circle", "square", "triangle"] and manifest.image_size is None
    source, _ = load_data(str(shapes_folder), validation_split=0)
    by_name = {tf.io.read_file(path).numpy(): label for path, label in zip(source.paths, source.labels)}
    records = list(iterate_shards("ram://shards/encoded"))
    assert len(records) == len(source) == 120
    assert all(by_name[image] == label for image, label, _ in records)
    assert from_shards("ram://shards/encoded").encoded


def test_unfinished_or_clashing_shard_folders_are_refused(tmp_path):
    x, y, _ = make_shapes_arrays(2, 4, 16)
    write_shards((x, y), str(tmp_path / "s"), image_size=16, shards=2)
    with pytest.raises(ValueError, match="already holds files"):
        write_shards((x, y), str(tmp_path / "s"), image_size=16)
    (tmp_path / "s" / MANIFEST).unlink()  # what a write killed before its last file leaves
    with pytest.raises(FileNotFoundError, match="not a finished shard folder"):
        read_manifest(str(tmp_path / "s"))
    with pytest.raises(ValueError, match="encoding='pixels'"):
        write_shards((x, y), "ram://shards/bad", encoding="encoded")


def test_a_run_from_shards_in_a_bucket_writes_its_output_dir_there_and_resumes_from_it():
    x, y, _ = make_shapes_arrays(3, 30, 32)
    write_shards((x, y), "ram://bucket/shards", image_size=32, shards=3)
    stages = [{"name": "head", "epochs": 2, "learning_rate": 1e-2},
              {"name": "all", "epochs": 1, "train_blocks": "all", "patience": None}]
    options = dict(backbone=tiny_backbone(32, (4, 8)), weights="given", image_size=32, stages=stages,
                   batch_size=16, augmentation=None, verbose=0, output_dir="ram://bucket/run")
    result = build_and_fit("ram://bucket/shards", **options)
    assert result.class_names == ["0", "1", "2"] and result.metrics["accuracy"] > 0.6
    assert result.config["data"] == "ram://bucket/shards"
    for name in ("config.json", "backbone.keras", "resume/state.json", "resume/model.keras"):
        assert tf.io.gfile.exists(f"ram://bucket/run/{name}"), name
    again = build_and_fit("ram://bucket/shards", resume=True, **options)  # finished: nothing left to run
    assert [(h["name"], h["epochs_run"]) for h in again.history] == [("head", 2), ("all", 1)]
