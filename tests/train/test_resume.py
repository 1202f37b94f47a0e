"""Resume: a run killed with SIGKILL mid-stage continues from its last epoch and finishes exactly the plan."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from keras_transfer import build_and_fit

SCRIPT = textwrap.dedent("""
    import json, sys, time
    import keras, keras_transfer
    from keras_transfer.testing.synthetic import make_shapes_arrays

    weights, out, resume, pause = sys.argv[1], sys.argv[2], sys.argv[3] == "1", float(sys.argv[4])

    class Epochs(keras.callbacks.Callback):
        count = 0

        def on_epoch_end(self, epoch, logs=None):
            Epochs.count += 1
            print("EPOCH", epoch, flush=True)
            time.sleep(pause)

    x, y, _ = make_shapes_arrays(3, 40, 32)
    stages = [{"name": "head", "epochs": 2, "learning_rate": 1e-3},
              {"name": "all", "epochs": 4, "learning_rate": 1e-4, "train_blocks": "all", "patience": None}]
    result = keras_transfer.build_and_fit((x, y), backbone="vgg16", weights=weights, image_size=32, stages=stages,
                                          batch_size=16, output_dir=out, resume=resume, callbacks=[Epochs()],
                                          verbose=0)
    print("RESULT", json.dumps({"stages": [[h["name"], h["epochs_run"]] for h in result.history],
                                "accuracy": result.metrics["accuracy"], "epochs_here": Epochs.count}), flush=True)
""")


def _start(script_path, weights, out, resume, pause):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, str(script_path), weights, str(out), "1" if resume else "0", str(pause)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)


def test_a_run_killed_mid_stage_resumes_and_completes_exactly_the_remaining_epochs(tmp_path, vgg16_weights):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    out = tmp_path / "run"
    first = _start(script, vgg16_weights, out, resume=False, pause=3.0)
    try:
        for line in first.stdout:
            if line.startswith("EPOCH 1"):  # two epochs of the 'all' stage done and saved
                first.send_signal(signal.SIGKILL)
                break
        else:
            pytest.fail("the first run ended before it could be killed")
    finally:
        first.wait(timeout=120)
    assert first.returncode == -signal.SIGKILL
    state = json.loads((out / "resume" / "state.json").read_text())
    assert state["epoch"] == 1 and state["plan"]["epochs_run"] == 2

    second = _start(script, vgg16_weights, out, resume=True, pause=0.0)
    output, _ = second.communicate(timeout=600)
    assert second.returncode == 0, output[-2000:]
    result = json.loads(output.split("RESULT", 1)[1])
    assert result["epochs_here"] == 2, "the resumed run runs the remaining epochs, not more, not fewer"
    assert result["stages"] == [["head", 2], ["all", 4]]
    assert result["accuracy"] >= 0.9


def test_resume_refuses_a_different_run_and_needs_an_output_dir(tmp_path, shapes_arrays):
    x, y, _ = shapes_arrays
    build_and_fit((x[:30], y[:30]), backbone="vgg16", weights=None, image_size=32, epochs=1, output_dir=tmp_path,
                  verbose=0)
    with pytest.raises(ValueError, match="holds a different run"):
        build_and_fit((x[:30], y[:30]), backbone="vgg16", weights=None, image_size=32, epochs=2,
                      output_dir=tmp_path, resume=True, verbose=0)
    with pytest.raises(ValueError, match="resume=True needs output_dir"):
        build_and_fit((x[:30], y[:30]), backbone="vgg16", weights=None, image_size=32, epochs=1, resume=True,
                      verbose=0)


def test_resuming_a_finished_run_trains_nothing_more(tmp_path, shapes_arrays):
    x, y, _ = shapes_arrays
    done = build_and_fit((x[:30], y[:30]), backbone="vgg16", weights=None, image_size=32, epochs=1,
                         output_dir=tmp_path, verbose=0)
    again = build_and_fit((x[:30], y[:30]), backbone="vgg16", weights=None, image_size=32, epochs=1,
                          output_dir=tmp_path, resume=True, verbose=0)
    assert [h["epochs_run"] for h in again.history] == [h["epochs_run"] for h in done.history]
    np.testing.assert_allclose(again.metrics["accuracy"], done.metrics["accuracy"])


def test_unwritable_output_dir_fails_before_training(tmp_path, shapes_arrays):
    x, y, _ = shapes_arrays
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ValueError, match=r"Cannot write to output_dir .*file.*choose a folder you can write to"):
        build_and_fit((x[:30], y[:30]), backbone="vgg16", weights=None, image_size=32, epochs=1,
                      output_dir=blocker / "run", verbose=0)
