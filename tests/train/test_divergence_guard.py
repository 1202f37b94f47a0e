"""DivergenceGuard: the first NaN/inf batch loss stops the epoch; the epoch's end reports where it happened."""

import math

from keras_transfer.train.callbacks.divergence_guard import Divergence, DivergenceGuard


def test_the_first_non_finite_batch_loss_is_reported_once_then_cleared_at_the_epochs_end():
    guard = DivergenceGuard()
    assert not guard.batch_diverged(0, {"loss": 0.7})
    assert guard.batch_diverged(1, {"loss": math.nan})
    assert not guard.batch_diverged(2, {"loss": math.inf}), "only the first diverged step counts"
    assert guard.epoch_divergence(epoch=4, monitored=0.5) == Divergence(epoch=4, step=1)
    assert guard.epoch_divergence(epoch=5, monitored=0.5) is None


def test_a_non_finite_monitored_value_diverges_without_a_step():
    guard = DivergenceGuard()
    assert not guard.batch_diverged(0, {}) and not guard.batch_diverged(1, None)
    assert guard.epoch_divergence(epoch=2, monitored=None) is None
    divergence = guard.epoch_divergence(epoch=2, monitored=-math.inf)
    assert divergence.record() == {"epoch": 2, "step": None}
    assert "Stage 'top': the loss became NaN or infinite at epoch 3; restored" in divergence.warning("top")


def test_the_warning_names_the_epoch_and_step_counted_from_one():
    message = Divergence(epoch=1, step=2).warning("a")
    assert "NaN or infinite at epoch 2, step 3;" in message
    assert message.endswith("Lower the stage's learning_rate (or check the data for NaN pixels or labels).")
