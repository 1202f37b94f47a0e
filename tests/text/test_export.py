import json
import subprocess
import sys

import numpy as np

import keras_transfer
from keras_transfer.text.encoders import load_encoder
from keras_transfer.text.export import TextServing, export_text
from keras_transfer.text.model import build_text_classifier

TEXTS = ["a great film", "dull and boring", "the plot was weak but the cast was superb", ""]

# Runs in a fresh interpreter that never imports keras_transfer: TensorFlow and TensorFlow Text only.
SERVE = """
import json, sys
import tensorflow as tf
import tensorflow_text  # registers the tokenizer ops the graph uses
model = tf.saved_model.load(sys.argv[1])
out = model.signatures["serving_default"](texts=tf.constant(json.loads(sys.argv[2])))
assert "keras_transfer" not in sys.modules
print(json.dumps({"probabilities": out["probabilities"].numpy().tolist(),
                  "class_names": [[n.decode() for n in row] for row in out["class_names"].numpy()]}))
"""


def test_the_saved_model_on_raw_strings_matches_the_model_in_another_process(tiny_preset, tmp_path):
    encoder = load_encoder(tiny_preset)
    model = build_text_classifier(encoder, 3, 16)
    preprocessor = encoder.preprocessor(16)
    names = ["neg", "neutral", "pos"]
    serving = TextServing(model, preprocessor, names)  # kept: the tf.function holds it weakly
    expected = serving.serve(np.array(TEXTS, dtype=object))["probabilities"].numpy()
    folder = export_text(model, tmp_path / "export", preprocessor=preprocessor, class_names=names,
                         sequence_length=16)
    completed = subprocess.run([sys.executable, "-c", SERVE, str(folder / "saved_model"), json.dumps(TEXTS)],
                               capture_output=True, text=True, timeout=600, check=True)
    served = json.loads(completed.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(np.array(served["probabilities"]), expected, atol=1e-5)
    assert served["class_names"] == [names] * len(TEXTS)
    assert json.loads((folder / "keras_transfer.json").read_text())["modality"] == "text"


def test_a_run_exports_its_kept_model_and_its_report(run, tmp_path):
    folder = run.export(tmp_path / "reviews")
    predictor = keras_transfer.load(folder)
    assert predictor.predict(["a great film"])[0]["class_name"] in run.class_names
    np.testing.assert_allclose(predictor.predict_probabilities(["a great film", "dull"]),
                               run.predict_probabilities(["a great film", "dull"]), atol=1e-5)
    report = (folder / "report.html").read_text()
    assert "Most confused validation texts" in report and "tfidf" in report
