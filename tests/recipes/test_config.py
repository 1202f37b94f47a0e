"""FitConfig: one source of truth for every option, round-tripping through config.json."""

import inspect

import pytest

import keras_transfer
from keras_transfer import FitConfig, build_and_fit, build_and_fit_from_config
from keras_transfer.recipes.config import GROUPS, POSITIONAL
from keras_transfer.testing.tiny import tiny_backbone

# A config.json as keras_transfer 0.1.0 (commit 8806a80) wrote it: flat, 32 keys plus the version.
CONFIG_0_1_0 = {
    "keras_transfer_version": "0.1.0", "data": None, "validation_data": None, "backbone": "vgg16", "weights": None,
    "image_size": [32, 32], "validation_split": 0.2,
    "augmentation": {"rotation_range": 10.0, "width_shift_range": 0.1, "height_shift_range": 0.1,
                     "zoom_range": 0.1, "horizontal_flip": True},
    "stages": [{"name": "all", "epochs": 1, "learning_rate": 0.001, "train_blocks": "all", "schedule": "cosine",
                "warmup_epochs": 0, "patience": 5, "plateau_patience": 2, "weight_decay": 0.01,
                "layerwise_lr_decay": None}],
    "batch_size": 16, "seed": 3, "epochs": 1, "dropout": 0.2, "hidden_units": None, "label_smoothing": 0.1,
    "class_weight": None, "class_names": ["circle", "square", "triangle"], "multi_label": False,
    "path_column": None, "label_column": None, "label_delimiter": "|", "scan": True, "strict": False,
    "max_pixels": None, "monitor": "val_loss", "mixed_precision": "float32", "jit_compile": False,
    "steps_per_execution": 1, "baselines": [], "feature_cache": True, "feature_views": 0,
    "head_init": "linear_probe",
}


def test_every_build_and_fit_option_is_a_config_field_and_the_signature_keeps_its_positions():
    parameters = inspect.signature(build_and_fit).parameters
    assert list(parameters)[: len(POSITIONAL)] == list(POSITIONAL)
    assert set(parameters) == set(FitConfig.option_names())
    names = [option.name for group in GROUPS for option in group.options()]
    assert len(names) == len(set(names)), "option names must be unique across groups"
    for name in names:
        assert name in build_and_fit.__doc__, f"{name} is missing from build_and_fit's docstring"


def test_from_arguments_groups_positional_and_named_options_and_refuses_unknown_ones():
    config = FitConfig.from_arguments("photos/", "mobilenetv2", None, 96, epochs=3, verbose=0)
    assert (config.data.data, config.model.backbone, config.model.weights) == ("photos/", "mobilenetv2", None)
    assert config.model.image_size == 96 and config.training.epochs == 3 and config.runtime.verbose == 0
    with pytest.raises(TypeError, match=r"Unknown build_and_fit option\(s\) \['epoch'\]"):
        FitConfig.from_arguments(data="photos/", epoch=3)
    with pytest.raises(TypeError, match="both by position and by name"):
        FitConfig.from_arguments("photos/", data="other/")


def test_to_dict_round_trips_flat_and_grouped_and_normalises_equal_settings():
    config = FitConfig.from_arguments(data="photos/", image_size=[48, 64], class_weight={"0": 2, "1": 1},
                                      stages=[{"name": "head", "epochs": 2}], baselines="scratch")
    saved = config.to_dict()
    assert saved["image_size"] == [48, 64] and saved["class_weight"] == {"0": 2.0, "1": 1.0}
    assert saved["stages"][0]["name"] == "head" and saved["baselines"] == ["scratch"]
    assert FitConfig.from_dict(saved) == config
    grouped = {group.title: {option.name: saved[option.name] for option in group.options()} for group in GROUPS}
    assert FitConfig.from_dict(grouped) == config
    assert config.replace(epochs=4) != config and config.replace(epochs=4).training.epochs == 4


def test_a_config_written_by_version_0_1_0_reads_back_and_reruns(shapes_folder):
    config = FitConfig.from_dict(CONFIG_0_1_0)
    assert config.model.backbone == "vgg16" and config.training.stages[0].name == "all"
    assert config.data.class_names == ["circle", "square", "triangle"] and config.runtime.seed == 3
    result = build_and_fit_from_config(CONFIG_0_1_0, data=str(shapes_folder), verbose=0)
    assert result.class_names == ["circle", "square", "triangle"]
    assert [stage["name"] for stage in result.history] == ["all"]
    assert result.config["batch_size"] == 16 and result.config["seed"] == 3


def test_result_config_round_trips_and_a_rerun_reproduces_the_run(shapes_folder, tmp_path):
    first = build_and_fit(str(shapes_folder), backbone=tiny_backbone(32), weights="given", image_size=32,
                          epochs=2, batch_size=16, output_dir=tmp_path / "run", verbose=0)
    assert FitConfig.from_dict(first.config) == first.fit_config
    assert first.config["backbone"]["custom"].endswith("backbone.keras")
    again = build_and_fit_from_config(tmp_path / "run" / "config.json", output_dir=str(tmp_path / "again"),
                                      verbose=0)
    assert again.class_names == first.class_names
    assert again.config["stages"] == first.config["stages"]
    assert abs(again.metrics["accuracy"] - first.metrics["accuracy"]) <= 0.01


def test_a_custom_backbone_without_output_dir_says_why_it_cannot_rerun(shapes_arrays):
    x, y, _ = shapes_arrays
    result = build_and_fit((x[:30], y[:30]), backbone=tiny_backbone(32), weights="given", image_size=32,
                           stages=[{"name": "head", "epochs": 1}], verbose=0)
    assert result.config["backbone"] == "<custom:tiny_cnn>"
    with pytest.raises(ValueError, match="custom keras.Model that was not saved .* pass backbone="):
        build_and_fit_from_config(result.config, data=(x[:30], y[:30]))
    with pytest.raises(ValueError, match="data was <tuple>, which cannot be reloaded: pass data="):
        build_and_fit_from_config({**result.config, "backbone": "vgg16"})


def test_the_top_level_exports_the_config_and_the_method_interface():
    for name in ("FitConfig", "TransferMethod", "MethodResult", "RunContext", "register_method", "list_methods"):
        assert name in keras_transfer.__all__ and hasattr(keras_transfer, name)


def test_a_truncated_backbone_runs_and_its_config_records_it(shapes_arrays, tmp_path):
    import keras

    from keras_transfer.models.backbones import get_backbone

    x, y, _ = shapes_arrays
    weights = tmp_path / "mobilenet.weights.h5"  # a whole-network file, as keras.applications writes them
    get_backbone("mobilenet").build(32, weights=None).save_weights(weights)
    keras.backend.clear_session(free_memory=False)
    plan = [{"name": "head", "epochs": 1}, {"name": "top", "epochs": 1, "train_blocks": 1, "learning_rate": 1e-4}]
    first = build_and_fit((x[:60], y[:60]), backbone="mobilenet:block2", weights=str(weights), image_size=32,
                          stages=plan, verbose=0)
    assert first.config["backbone"] == "mobilenet:block2" and first.model.name == "mobilenet_to_block2_classifier"
    assert first.history[1]["trainable_blocks"] == ["block2"]
    assert first.model.get_layer("backbone").output_shape == (None, 8, 8, 128)
    assert FitConfig.from_dict(first.config) == first.fit_config  # a rerun builds the same truncated backbone
