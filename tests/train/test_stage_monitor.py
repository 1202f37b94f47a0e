"""StageMonitor: the package's one improvement rule, per-stage patience and plateaus, the best stage kept."""

import keras
import numpy as np
import pytest

from keras_transfer.train.callbacks.stage_monitor import StageMonitor
from keras_transfer.train.stages import Stage


def _one_dense(metrics=()):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="out")])
    model.compile(optimizer="sgd", loss="mse", metrics=list(metrics))
    return model


def _monitor(name="val_loss", mode="auto", model=None):
    monitor = StageMonitor(name, mode)
    monitor.set_model(model if model is not None else _one_dense())
    monitor.begin_stage()
    return monitor


def _run_epochs(monitor, values, stage):
    verdicts = []
    for epoch, value in enumerate(values):
        monitor.count_epoch()
        verdicts.append(monitor.judge_epoch(epoch, value, stage))
    return verdicts


def test_a_metric_whose_name_says_nothing_is_a_score_and_is_maximised():
    monitor = _monitor("val_f1")
    assert monitor.higher_is_better
    _run_epochs(monitor, [0.5, 0.7, 0.6], Stage("a", epochs=3, patience=None))
    assert (monitor.progress.best, monitor.progress.best_epoch, monitor.progress.wait) == (0.7, 1, 1)


def test_the_models_metric_is_asked_before_the_name():
    model = _one_dense([keras.metrics.MeanSquaredError(name="quality")])
    model.evaluate(np.zeros((4, 2)), np.zeros((4, 1)), verbose=0)  # builds the compiled metrics
    assert not _monitor("val_quality", model=model).higher_is_better
    assert _monitor("val_quality").higher_is_better  # no such metric: the name decides


@pytest.mark.parametrize(("name", "mode", "higher"), [("val_loss", "max", True), ("val_accuracy", "min", False),
                                                      ("val_accuracy", "auto", True), ("loss", "auto", False)])
def test_a_declared_mode_wins_over_the_name(name, mode, higher):
    monitor = _monitor(name, mode)
    assert monitor.higher_is_better is higher
    assert monitor.improves(0.6, 0.5) is higher


def test_nan_and_missing_values_never_improve_and_a_bad_mode_is_refused():
    monitor = _monitor("val_f1")
    assert not monitor.improves(float("nan"), 0.5)
    assert not monitor.improves(None, 0.5)
    assert monitor.improves(0.1, None)
    with pytest.raises(ValueError, match="mode must be 'min', 'max' or 'auto'"):
        StageMonitor("val_loss", mode="up")


def test_patience_ends_the_stage_early_and_a_plateau_schedule_cuts_on_its_own_patience():
    monitor = _monitor("val_loss")
    stage = Stage("a", epochs=10, schedule="plateau", patience=3, plateau_patience=2)
    verdicts = _run_epochs(monitor, [1.0, 0.9, 0.95, 0.99, 0.97], stage)
    assert [v.improved for v in verdicts] == [True, True, False, False, False]
    assert [v.cut_learning_rate for v in verdicts] == [False, False, False, True, False]
    assert [v.stage_over for v in verdicts] == [False, False, False, False, True]
    assert verdicts[-1].stopped_early


def test_the_best_stage_is_kept_after_the_last_one_and_ties_go_to_the_later_stage():
    monitor = _monitor("val_accuracy")
    kernel = monitor.model.get_layer("out").kernel
    for name, value, mark in [("head", 0.8, 1.0), ("all", 0.7, 2.0)]:
        monitor.begin_stage()
        kernel.assign(np.full((2, 1), mark))
        _run_epochs(monitor, [value], Stage(name, epochs=1))
        assert monitor.end_stage(0, name) == {"best_epoch": 0, "best_value": value}
    assert monitor.keep_best_stage("all") == "head"
    np.testing.assert_array_equal(kernel.numpy(), np.full((2, 1), 1.0))

    monitor.begin_stage()
    _run_epochs(monitor, [0.8], Stage("again", epochs=1))
    monitor.end_stage(0, "again")
    assert monitor.keep_best_stage("again") == "again"


def test_saved_state_keeps_the_resume_format_lower_is_better_and_reads_back():
    monitor = _monitor("val_accuracy")
    _run_epochs(monitor, [0.6, 0.75], Stage("a", epochs=5, patience=None))
    saved = monitor.stage_state()
    assert saved == {"epochs_run": 2, "best_epoch": 1, "wait": 0, "best": -0.75}
    monitor.set_previous_best("cached_head", 0.7)
    assert monitor.best_stage_state() == {"overall_name": "cached_head", "overall_best": -0.7}

    again = _monitor("val_accuracy")
    again.load_state({**saved, **monitor.best_stage_state()}, stage_best=None, overall_best=None)
    assert (again.progress.best, again.best_stage.value, again.best_stage.name) == (0.75, 0.7, "cached_head")
