"""StagedUnfreeze: the planned blocks train, pretrained BatchNorm never moves, per-stage LR and early stopping."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_transfer.models.backbones import Block
from keras_transfer.models.classifier import batchnorm_layers, build_model, get_backbone_layer, model_blocks
from keras_transfer.train.callbacks.staged_unfreeze import StagedUnfreeze
from keras_transfer.train.stages import Stage


class _Probe(keras.callbacks.Callback):
    """Records, after every epoch, which backbone layers train, the learning rate and a stem kernel."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        backbone = get_backbone_layer(self.model)
        self.epochs.append({
            "trainable": {layer.name for layer in backbone.layers if layer.trainable_weights},
            "lr": float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)),
            "stem": backbone.get_layer("Conv1").kernel.numpy().copy(),
            "top": backbone.get_layer("block_16_project").kernel.numpy().copy(),
            "head_only": [v.path for v in self.model.trainable_variables],
        })


def _pretrained_mobilenet(tmp_path):
    donor = build_model("mobilenetv2", 3, weights=None, image_size=32)
    path = str(tmp_path / "mobilenetv2_notop.weights.h5")
    get_backbone_layer(donor).save_weights(path)
    return build_model("mobilenetv2", 3, weights=path, image_size=32)


def test_each_stage_trains_exactly_its_blocks_and_batchnorm_statistics_never_move(tmp_path, shapes_arrays):
    x, y, _ = shapes_arrays
    model = _pretrained_mobilenet(tmp_path)
    model.compile(optimizer="adamw", loss="categorical_crossentropy", metrics=["accuracy"])
    blocks = model_blocks(model)
    plan = StagedUnfreeze(
        [Stage("head", 1, 1e-3, 0, schedule="constant"),
         Stage("top", 1, 5e-4, 2, schedule="constant"),
         Stage("all", 1, 1e-4, "all", schedule="constant")],
        blocks=blocks, verbose=0,
    )
    backbone = get_backbone_layer(model)
    statistics = [w.numpy().copy() for bn in batchnorm_layers(backbone) for w in (bn.moving_mean, bn.moving_variance)]
    stem_before = backbone.get_layer("Conv1").kernel.numpy().copy()
    data = tf.data.Dataset.from_tensor_slices((x.astype("float32"), tf.one_hot(y, 3))).batch(16)
    probe = _Probe()
    model.fit(data, validation_data=data.take(1), epochs=plan.total_epochs, callbacks=[plan, probe], verbose=0)

    def weighted_non_bn(block_list):
        return {layer.name for block in block_list for layer in block.layers
                if layer.weights and not isinstance(layer, keras.layers.BatchNormalization)}

    head, top, everything = probe.epochs
    assert head["trainable"] == set()
    assert all("predictions" in path or "head" in path for path in head["head_only"])
    assert [b.name for b in blocks[-2:]] == ["block16", "top"]
    assert top["trainable"] == weighted_non_bn(blocks[-2:])
    assert everything["trainable"] == weighted_non_bn(blocks)
    assert [e["lr"] for e in probe.epochs] == pytest.approx([1e-3, 5e-4, 1e-4])
    np.testing.assert_array_equal(top["stem"], stem_before)  # frozen block untouched in stage 2
    assert not np.array_equal(top["top"], head["top"])  # unfrozen block trained in stage 2
    assert not np.array_equal(everything["stem"], stem_before)  # and the stem in stage 3
    after = [w.numpy() for bn in batchnorm_layers(backbone) for w in (bn.moving_mean, bn.moving_variance)]
    for before_values, after_values in zip(statistics, after):
        np.testing.assert_array_equal(before_values, after_values)
    assert [s["trainable_blocks"] for s in plan.stage_history] == [[], ["block16", "top"], [b.name for b in blocks]]


def _tiny_model():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(3, name="body")(inputs)
    outputs = keras.layers.Dense(2, name="head")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adamw", loss="mse")
    return model


def test_per_stage_early_stopping_restores_the_stage_best_and_moves_on():
    model = _tiny_model()
    body = model.get_layer("body")
    plan = StagedUnfreeze(
        [Stage("a", epochs=5, learning_rate=1e-3, train_blocks=0, patience=2),
         Stage("b", epochs=2, learning_rate=1e-4, train_blocks="all", patience=None, schedule="constant")],
        blocks=[Block("body", (body,))], verbose=0,
    )
    plan.set_model(model)
    plan.set_params({"steps": 1, "epochs": plan.total_epochs})
    head = model.get_layer("head")
    plan.on_train_begin()
    marks = {}
    for epoch, loss in enumerate([1.0, 2.0, 3.0]):
        plan.on_epoch_begin(epoch)
        assert not body.trainable and head.trainable
        head.kernel.assign(np.full((3, 2), float(epoch)))
        marks[epoch] = head.kernel.numpy().copy()
        plan.on_epoch_end(epoch, {"val_loss": loss})
    np.testing.assert_array_equal(head.kernel.numpy(), marks[0])  # restored the best epoch
    first = plan.stage_history[0]
    assert (first["epochs_run"], first["best_epoch"], first["stopped_early"]) == (3, 0, True)
    plan.on_epoch_begin(3)
    assert body.trainable and plan.current_stage.name == "b"
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-4)
    plan.on_epoch_end(3, {"val_loss": 0.5})
    plan.on_epoch_begin(4)
    plan.on_epoch_end(4, {"val_loss": 0.4})
    assert model.stop_training and plan.current_stage is None
    assert [s["epochs_run"] for s in plan.stage_history] == [3, 2]


def test_cosine_schedule_warms_up_to_the_stage_rate_then_decays():
    model = _tiny_model()
    plan = StagedUnfreeze([Stage("a", epochs=4, learning_rate=1e-3, warmup_epochs=1)],
                          blocks=[Block("body", (model.get_layer("body"),))], verbose=0)
    plan.set_model(model)
    plan.set_params({"steps": 10, "epochs": 4})
    plan.on_train_begin()
    plan.on_epoch_begin(0)
    rates = []
    for step in (0, 10, 39):
        model.optimizer.iterations.assign(step)
        rates.append(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
    assert rates[0] == pytest.approx(1e-4)
    assert rates[1] == pytest.approx(1e-3)
    assert rates[2] < 2e-5


def test_layerwise_decay_gives_lower_blocks_smaller_factors():
    model = build_model("vgg16", 3, weights=None, image_size=32)
    blocks = model_blocks(model)
    plan = StagedUnfreeze([Stage("top2", 1, 1e-3, 2, layerwise_lr_decay=0.5)], blocks=blocks, verbose=0)
    plan.set_model(model)
    trained = plan.set_trainable(plan.stages[0])
    factors = plan._lr_multipliers(plan.stages[0], trained)
    backbone = get_backbone_layer(model)
    assert factors[backbone.get_layer("block5_conv1").kernel.path] == 1.0
    assert factors[backbone.get_layer("block4_conv1").kernel.path] == 0.5
    assert backbone.get_layer("block3_conv1").kernel.path not in factors


def test_nan_loss_ends_the_stage_restores_its_best_weights_and_the_plan_goes_on():
    model = _tiny_model()
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = np.random.default_rng(1).normal(size=(64, 2)).astype("float32")
    plan = StagedUnfreeze(
        [Stage("a", epochs=3, learning_rate=1e-3, train_blocks="all", patience=None, schedule="constant"),
         Stage("b", epochs=1, learning_rate=1e-4, train_blocks="all", patience=None, schedule="constant")],
        blocks=[Block("body", (model.get_layer("body"),))], monitor="loss", verbose=0,
    )

    class Poison(keras.callbacks.Callback):
        """Turns a weight into NaN at the 3rd step of the 2nd epoch, as a diverging run would."""

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_begin(self, batch, logs=None):
            if self.epoch == 1 and batch == 2:
                self.good = self.model.get_layer("head").kernel.numpy().copy()
                self.model.get_layer("head").kernel.assign(np.full((3, 2), np.nan))

    poison = Poison()
    model.fit(x, y, batch_size=8, epochs=plan.total_epochs, callbacks=[plan, poison], verbose=0)
    first, second = plan.stage_history
    assert first["diverged"] == {"epoch": 1, "step": 2} and first["epochs_run"] == 2
    assert "NaN or infinite at epoch 2, step 3" in plan.warnings[0]
    assert second["epochs_run"] == 1, "the plan goes on with the next stage"
    assert np.isfinite(model.get_layer("head").kernel.numpy()).all()


def test_verbose_0_prints_nothing_and_a_missing_monitor_is_still_noted_on_stderr(capsys):
    model = _tiny_model()
    plan = StagedUnfreeze([Stage("a", epochs=1, learning_rate=1e-3, train_blocks=0)],
                          blocks=[Block("body", (model.get_layer("body"),))], monitor="val_f1", verbose=0)
    plan.set_model(model)
    plan.set_params({"steps": 1, "epochs": 1})
    plan.on_train_begin()
    plan.on_epoch_begin(0)
    plan.on_epoch_end(0, {"loss": 1.0})
    out, err = capsys.readouterr()
    assert out == ""
    assert "StagedUnfreeze: 'val_f1' is not in the logs (['loss']); early stopping is off." in err
    assert plan.kept_stage is None and plan.stage_history[0]["best_value"] is None
