"""Two worker processes on 127.0.0.1 (TF_CONFIG, free ports) train a plan under MultiWorkerMirroredStrategy.

One test, the issue's "done when": worker 1 is killed with SIGKILL mid-stage; the job is restarted the way a
cluster manager would (both workers: the survivor is stuck in a collective with the dead one), resumes from
the chief's resume state and finishes the plan with exactly the planned epochs; both workers end with
identical weights, and the accuracy on 210 validation images is within 2 points of a one-process run.
"""

import json
import signal
import sys
import textwrap
import threading
import time

import numpy as np

from keras_transfer import build_and_fit
from keras_transfer.distributed.launch import supervise
from keras_transfer.testing.synthetic import make_shapes_arrays
from keras_transfer.testing.tiny import tiny_backbone

STAGES = [{"name": "head", "epochs": 1, "learning_rate": 1e-2},
          {"name": "all", "epochs": 3, "learning_rate": 3e-3, "train_blocks": "all", "patience": None}]
OPTIONS = dict(weights="given", image_size=32, stages=STAGES, batch_size=32, augmentation=None,
               validation_split=0.5, verbose=0)
DATA = (3, 140, 32)  # 3 classes x 140 images at 32 px: 210 held out

WORKER = textwrap.dedent("""
    import json, os, sys
    from keras_transfer.distributed import read_tf_config, resolve_strategy

    # First thing: MultiWorkerMirroredStrategy must exist before any TensorFlow op runs.
    strategy = resolve_strategy(distribute="multi_worker", collective_timeout=60)
    import numpy as np
    import keras_transfer
    from keras_transfer.testing.epochs import EpochLog
    from keras_transfer.testing.synthetic import make_shapes_arrays
    from keras_transfer.testing.tiny import tiny_backbone

    out, resume, pause = sys.argv[1], sys.argv[2] == "1", float(sys.argv[3])
    options, data = map(json.loads, sys.argv[4:])

    epochs = EpochLog(pause)
    x, y, _ = make_shapes_arrays(*data)
    result = keras_transfer.build_and_fit((x, y), backbone=tiny_backbone(32, (4, 8)), strategy=strategy,
                                          output_dir=out, resume=resume, callbacks=[epochs], **options)
    role = read_tf_config()
    np.save(os.path.join(out, f"weights-{role.name}.npy"),
            np.concatenate([w.ravel() for w in result.model.get_weights()]))
    print("RESULT", json.dumps({"stages": [[h["name"], h["epochs_run"]] for h in result.history],
                                "cached": bool(result.history[0].get("cached_features")),
                                "accuracy": result.metrics["accuracy"], "validation": len(result.validation_spec),
                                "epochs_here": epochs.count, "chief": role.is_chief}), flush=True)
""")


def _kill_worker_after(group, line: str, index: int = 1, timeout_s: float = 240.0) -> threading.Thread:
    """Kills worker `index` with SIGKILL once its log shows `line`."""

    def watch():
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and group.processes[index].poll() is None:
            if line in group.logs[index].read_text(errors="replace"):
                group.processes[index].send_signal(signal.SIGKILL)
                return
            time.sleep(0.1)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _result(log) -> dict:
    text = log.read_text(errors="replace")
    assert "RESULT" in text, text[-3000:]
    return json.loads(text.split("RESULT", 1)[1].splitlines()[0])


def test_two_workers_killed_mid_stage_resume_to_the_planned_epochs_with_identical_weights(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    out = tmp_path / "run"
    saved = {}

    def command(index, attempt):
        return [sys.executable, str(script), str(out), "1" if attempt else "0", "1.5" if attempt == 0 else "0",
                json.dumps(OPTIONS), json.dumps(DATA)]

    def on_start(group):
        if group.attempt == 0:  # one epoch of the 'all' stage done: worker 1 dies during the second
            _kill_worker_after(group, "EPOCH 0")
        else:  # what the restarted job resumes from (written by the chief before the kill)
            saved.update(json.loads((out / "resume" / "state.json").read_text()))

    outcome = supervise(command, 2, tmp_path / "logs", restarts=1, timeout_s=300, grace_s=3.0, on_start=on_start)
    assert outcome.succeeded, (outcome.failures, outcome.logs[-1][0].read_text()[-3000:])
    assert outcome.attempts == 2 and str(-signal.SIGKILL) in outcome.failures[0], outcome.failures

    chief, other = (_result(log) for log in outcome.logs[1])
    assert saved["epoch"] >= 0, saved
    assert chief["chief"] and not other["chief"]
    for worker in (chief, other):
        assert worker["stages"] == [["head", 1], ["all", 3]], "exactly the planned epochs, in the planned stages"
        assert worker["epochs_here"] == 2 - saved["epoch"], "the restart runs the remaining epochs only"
        assert worker["cached"], "the head stage trained on cached features under the strategy"
    assert (np.load(out / "weights-worker-0.npy") == np.load(out / "weights-worker-1.npy")).all()
    assert chief["accuracy"] == other["accuracy"] and chief["validation"] == 210

    x, y, _ = make_shapes_arrays(*DATA)
    single = build_and_fit((x, y), backbone=tiny_backbone(32, (4, 8)), **OPTIONS)
    assert abs(single.metrics["accuracy"] - chief["accuracy"]) <= 0.02, (single.metrics, chief)
