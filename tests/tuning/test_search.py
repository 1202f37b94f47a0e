"""search(): the winner refits to what it reports, features are shared, a killed search resumes, Hyperband."""

import json

import numpy as np
import pytest

from keras_transfer import FitConfig, build_and_fit_from_config, search
from keras_transfer.tuning.space import recipe_defaults

pytest.importorskip("keras_tuner")


@pytest.fixture(scope="module")
def searched(tmp_path_factory, tiny_shapes):
    """Hyperband, max_epochs 3, factor 3: three trials at 1 epoch per stage, then the best of them at 3."""
    from keras_transfer.testing.tiny import tiny_backbone

    x, y, _ = tiny_shapes
    directory = tmp_path_factory.mktemp("search")
    backbone = tiny_backbone(32)
    result = search((x, y), {"unfreeze_blocks": [0, 1], "augmentation": ["none", "light"]}, max_trials=4,
                    tuner="hyperband", directory=directory, verbose=0, backbone=backbone, weights="given",
                    image_size=32, epochs=3, batch_size=16, head_init=None)
    return result, backbone, (x, y)


def test_the_winner_refitted_from_scratch_is_what_the_search_reports(searched):
    result, backbone, data = searched
    assert isinstance(result.best_config, FitConfig)
    saved = json.loads(result.best_config_path.read_text())
    assert saved["backbone"] == "<custom:tiny_cnn>" and saved["data"] == "<tuple>"
    again = build_and_fit_from_config(result.best_config_path, data=data, backbone=backbone, verbose=0)
    assert again.fit_config == result.best_config
    assert again.metrics["accuracy"] == result.best_score == result.table["score"].max()
    assert again.metrics["loss"] == pytest.approx(result.best_trial["metrics"]["val_loss"], abs=1e-5)


def test_trials_sharing_a_backbone_and_size_extract_its_features_once(searched):
    result, _, _ = searched
    assert result.extractions == {"tiny_cnn@32x32": 1}
    assert result.feature_reuses == 3
    assert result.table["extracted_features"].tolist().count(True) == 1


def test_a_second_image_size_is_a_second_extraction():
    from types import SimpleNamespace

    from keras_transfer.tuning.features import SharedFeatures

    def context(size, dropout):
        config = FitConfig.from_arguments(data="photos/", backbone="mobilenet", image_size=size, dropout=dropout)
        return SimpleNamespace(config=config, backbone=SimpleNamespace(name="mobilenet"), image_size=(size, size))

    store, extracted = SharedFeatures(), []
    for size, dropout in ((32, 0.1), (48, 0.1), (32, 0.4), (48, 0.0)):
        store.features(context(size, dropout), 0, lambda views, size=size: extracted.append(size) or (views, size))
    assert extracted == [32, 48] and store.reuses == 2
    assert store.extractions == {"mobilenet@32x32": 1, "mobilenet@48x48": 1}
    assert store.features(context(32, 0.1), 2, lambda views: (views, "augmented"))[1] == "augmented"


def test_a_killed_search_resumes_without_repeating_finished_trials(tmp_path, tiny_shapes, tiny_fixed, monkeypatch):
    from keras_transfer.tuning.tuner import RecipeTuner

    run_trial, started = RecipeTuner.run_trial, []

    def killed_in_the_second(self, trial, *args, **kwargs):  # the process dies inside its second trial
        started.append(trial.trial_id)
        if len(started) == 2:
            raise KeyboardInterrupt
        return run_trial(self, trial, *args, **kwargs)

    x, y, _ = tiny_shapes
    space = {"unfreeze_blocks": [0], "augmentation": None}
    monkeypatch.setattr(RecipeTuner, "run_trial", killed_in_the_second)
    with pytest.raises(KeyboardInterrupt):
        search((x, y), space, max_trials=3, tuner="random", directory=tmp_path, verbose=0, **tiny_fixed)
    monkeypatch.setattr(RecipeTuner, "run_trial", run_trial)
    kept = json.loads((tmp_path / "recipe" / "best_trial.json").read_text())
    assert started == ["0", "1"] and kept["trial_id"] == "0"  # the best so far survived the kill
    resumed = search((x, y), space, max_trials=3, tuner="random", directory=tmp_path, verbose=0, **tiny_fixed)
    assert resumed.trials_run == ["1", "2"]  # the interrupted trial again, then the last one
    assert sorted(resumed.table["trial_id"]) == ["0", "1", "2"]
    assert (resumed.table["status"] == "COMPLETED").all()
    # the first trial was the default recipe, and the resumed search did not draw the defaults again
    rates = resumed.table.set_index("trial_id")["head_learning_rate"]
    assert rates["0"] == recipe_defaults()["head_learning_rate"] and (rates[["1", "2"]] != rates["0"]).all()


def test_hyperband_trains_the_best_of_a_round_for_more_epochs(searched):
    result, _, _ = searched
    table = result.table.set_index("trial_id")
    assert table.loc[["0", "1", "2"], "epochs"].tolist() == [1, 1, 1]
    assert table.loc["3", "epochs"] == 3
    assert table.loc["3", "continues"] == table.loc[["0", "1", "2"], "score"].idxmax()
    record = json.loads((result.project_dir / "trial_3" / "recipe_trial.json").read_text())
    assert {stage["epochs"] for stage in record["config"]["stages"]} == {3}


def test_results_table_and_plot(searched, tmp_path):
    result, _, _ = searched
    table = result.table
    assert {"trial_id", "score", "seconds", "unfreeze_blocks", "augmentation", "val_loss"} <= set(table.columns)
    assert np.all(np.diff(table["score"].to_numpy()) <= 0)  # best first
    figure = result.plot(tmp_path / "search.png", reference=0.5)
    assert (tmp_path / "search.png").stat().st_size > 0 and len(figure.axes[0].collections) == 1
    assert "best val_accuracy" in result.summary()


def test_bad_arguments_say_what_to_do(tiny_shapes, tmp_path):
    x, y, _ = tiny_shapes
    with pytest.raises(ValueError, match="tuner must be one of"):
        search((x, y), tuner="grid")
    with pytest.raises(ValueError, match="does not take output_dir"):
        search((x, y), output_dir=tmp_path)
    with pytest.raises(TypeError, match="Unknown build_and_fit option"):
        search((x, y), learning_rat=1e-3, directory=tmp_path)
    with pytest.raises(ValueError, match="needs max_trials"):
        search((x, y), tuner="random", directory=tmp_path, backbone="vgg16", weights=None)
