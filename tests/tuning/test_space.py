"""The search space: defaults, a user's space= dict, and one point mapped onto a FitConfig."""

import pytest

from keras_transfer import FitConfig
from keras_transfer.train.stages import default_stages
from keras_transfer.tuning.space import AUGMENTATION_STRENGTHS, SearchSpace, recipe_defaults, stage_plan

kt = pytest.importorskip("keras_tuner")


def test_default_space_and_fixed_options_leave_it():
    assert SearchSpace().names == ["head_learning_rate", "backbone_learning_rate", "unfreeze_blocks",
                                   "fine_tune_all", "dropout", "label_smoothing", "augmentation"]
    held = SearchSpace(fixed={"dropout": 0.3, "stages": "default", "augmentation": None})
    assert held.names == ["label_smoothing"]


def test_a_trial_is_a_fit_config():
    space = SearchSpace({"backbone": ["mobilenet", "mobilenetv2"], "image_size": [48, 64], "peft": ["none", "norm"]})
    hp = kt.HyperParameters()
    space.declare(hp)
    hp.values.update(backbone="mobilenetv2", image_size=64, head_learning_rate=0.003, backbone_learning_rate=2e-5,
                     unfreeze_blocks=2, dropout=0.30000001, label_smoothing=0.2, augmentation="strong", peft="norm")
    config = space.fit_config(hp, {"data": "photos/", "weights": None}, epochs=3)
    assert isinstance(config, FitConfig)
    assert (config.model.backbone, config.model.image_size, config.model.dropout) == ("mobilenetv2", 64, 0.3)
    assert config.training.label_smoothing == 0.2 and config.training.peft == "norm"
    assert config.data.augmentation == AUGMENTATION_STRENGTHS["strong"]
    head, backbone = config.training.stages
    assert (head.learning_rate, head.epochs, head.train_blocks) == (0.003, 3, 0)
    assert (backbone.parameters, backbone.train_blocks, backbone.learning_rate) == ("norm", 2, 2e-5)
    assert FitConfig.from_dict(config.to_dict()) == config


def test_stage_plan_without_unfrozen_blocks_is_the_head_alone():
    assert [stage.name for stage in stage_plan({"unfreeze_blocks": 0}, 4)] == ["head"]
    assert [stage.name for stage in stage_plan({"unfreeze_blocks": 0.0, "fine_tune_all": True}, 4)] == ["head"]
    assert stage_plan({"unfreeze_blocks": 0}, 4, peft="lora")[1].train_blocks == "all"


def test_stage_plan_shares_counts_and_the_last_stage_on_every_block():
    top, last = stage_plan({"unfreeze_blocks": 0.6, "backbone_learning_rate": 3e-4, "fine_tune_all": True}, 3)[1:]
    assert (top.train_blocks, top.learning_rate) == (0.6, 3e-4)
    assert (last.name, last.train_blocks, last.learning_rate) == ("all", "all", pytest.approx(6e-5))
    assert [s.train_blocks for s in stage_plan({"unfreeze_blocks": 2, "fine_tune_all": False}, 3)] == [0, 2]
    # a share of 1.0 already trains every block: no second pass over them
    assert [s.train_blocks for s in stage_plan({"unfreeze_blocks": 1.0, "fine_tune_all": True}, 3)] == [0, "all"]


def test_the_default_point_of_the_space_is_the_default_recipe():
    """The oracle draws the defaults first, so the search's first trial is the recipe it has to beat."""
    space = SearchSpace()
    hp = kt.HyperParameters()
    values = space.declare(hp)
    assert values == {name: recipe_defaults()[name] for name in space.names}
    config = space.fit_config(hp, {"data": "photos/", "backbone": "mobilenet"}, epochs=3)
    default = FitConfig.from_arguments(data="photos/", backbone="mobilenet", epochs=3)
    assert config.training.stages == default_stages(pretrained=True, epochs=3)
    assert (config.model.dropout, config.training.label_smoothing, config.data.augmentation) == (
        default.model.dropout, default.training.label_smoothing, default.data.augmentation)
    # a space that does not hold the default value falls back to KerasTuner's (the first choice, the low end)
    narrow = SearchSpace({"unfreeze_blocks": [0, 2], "head_learning_rate": (2e-3, 1e-2)}).declare(
        kt.HyperParameters())
    assert (narrow["unfreeze_blocks"], narrow["head_learning_rate"]) == (0, 2e-3)


def test_user_space_forms_and_their_errors():
    space = SearchSpace({"dropout": [0.0, 0.5], "label_smoothing": 0.05, "unfreeze_blocks": (1, 3),
                         "augmentation": None})
    hp = kt.HyperParameters()
    values = space.declare(hp)
    assert values["label_smoothing"] == 0.05 and 1 <= values["unfreeze_blocks"] <= 3
    assert "augmentation" not in values and hp.get("dropout") in (0.0, 0.5)
    with pytest.raises(ValueError, match="Unknown search parameter.*learning_rate"):
        SearchSpace({"learning_rate": (1e-4, 1e-2)})
    with pytest.raises(ValueError, match="both searched .* and held fixed"):
        SearchSpace({"dropout": [0.1, 0.2]}, fixed={"dropout": 0.3})
    with pytest.raises(ValueError, match="low < high"):
        SearchSpace({"dropout": (0.5, 0.1)})
    with pytest.raises(ValueError, match="choose from"):
        SearchSpace({"augmentation": ["wild"]})
