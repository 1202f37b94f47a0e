"""From scratch, build_and_fit learns: precise BatchNorm makes the validation signal true (issue: chance at 0.333)."""

from keras_transfer import build_and_fit


def test_mobilenetv3small_from_scratch_learns_the_shapes_at_64_px(tmp_path):
    from keras_transfer.testing.synthetic import write_shapes_folder

    write_shapes_folder(tmp_path, num_classes=3, per_class=40, image_size=64, seed=0)
    result = build_and_fit(str(tmp_path), backbone="mobilenetv3small", weights=None, image_size=64, epochs=12,
                           verbose=0)
    assert result.metrics["accuracy"] >= 0.9, result.history[0]["metrics"].get("val_accuracy")
    assert result.history[0]["name"] == "all"
