"""The budget: checked before each trial with an injected clock, so the search stops without waiting."""

import pytest

from keras_transfer.tuning.budget import Budget


def test_budget_counts_from_start_on_its_clock(manual_clock):
    budget = Budget(100, clock=manual_clock).start()
    manual_clock.advance(99.5)
    assert not budget.spent()
    manual_clock.advance(0.5)
    assert budget.spent() and budget.elapsed() == 100
    assert not Budget(None, clock=manual_clock).start().spent()
    with pytest.raises(ValueError, match="positive number of seconds"):
        Budget(0)


def test_search_stops_at_its_budget_and_keeps_the_best_so_far(tmp_path, tiny_shapes, tiny_fixed, manual_clock,
                                                             monkeypatch):
    from keras_transfer import search
    from keras_transfer.tuning.tuner import RecipeTuner

    run_trial = RecipeTuner.run_trial

    def forty_seconds_each(self, trial, *args, **kwargs):  # every trial "takes" 40 s on the manual clock
        metrics = run_trial(self, trial, *args, **kwargs)
        manual_clock.advance(40)
        return metrics

    monkeypatch.setattr(RecipeTuner, "run_trial", forty_seconds_each)
    x, y, _ = tiny_shapes
    result = search((x, y), {"unfreeze_blocks": [0], "augmentation": None}, budget_s=60, max_trials=10,
                    tuner="random", directory=tmp_path, clock=manual_clock, verbose=0, **tiny_fixed)
    # Trials start at 0 and 40 s; at 80 s the budget (60 s) is spent: no third trial starts.
    assert result.stopped == "budget"
    assert result.trials_run == ["00", "01"]
    assert sorted(result.table["started_s"]) == [0, 40]
    assert max(result.table["started_s"]) + 40 - 60 <= 40  # ended within one trial's duration of the budget
    assert result.best_config_path.exists() and (result.project_dir / "best_trial.json").exists()
