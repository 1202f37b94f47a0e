"""`TextFitResult`: a text run's `FitResult`, with raw-string prediction, the text export and the text report."""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from keras_transfer.recipes.result import FitResult
from keras_transfer.text.sources import texts_of

CONFUSED_EXAMPLES = 10


@dataclass
class TextFitResult(FitResult):
    """A `FitResult` whose model reads texts.

    Attributes:
        preprocessor: the run's KerasHub preprocessor (strings -> token ids), baked into the export.
    """

    preprocessor: Any = field(default=None, repr=False)

    @property
    def image_size(self):
        """Text runs have no image size; see `sequence_length`."""
        return None

    @property
    def sequence_length(self) -> int:
        """Tokens per text."""
        return int(self.config["sequence_length"])

    def serving(self):
        """The `TextServing` module (raw strings -> probabilities) the export saves."""
        from keras_transfer.text.export import TextServing

        return TextServing(self.model, self.preprocessor, self.class_names)

    def predict_probabilities(self, texts) -> np.ndarray:
        """(N, K) probabilities of the in-memory model for one text, a list of texts or a tf.data of strings.

        Example:
            >>> result.predict_probabilities(["a great film"])
        """
        items = texts_of(texts)
        serving = self.serving()
        parts = [serving.serve(tf.constant(items[start:start + 64]))["probabilities"].numpy()
                 for start in range(0, len(items), 64)]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.class_names)), np.float32)

    def export(self, directory: str | os.PathLike, *, report: bool = True, overwrite: bool = False, **options):
        """Writes the SavedModel on raw strings (`serving_default`: texts -> probabilities, class names).

        Args:
            directory: the export folder.
            report: write `report.html` beside it.
            overwrite: replace an existing export.

        Returns:
            The export folder.

        Example:
            >>> result.export("exports/reviews")
            >>> keras_transfer.load("exports/reviews").predict(["a great film"])
        """
        from keras_transfer.text.export import export_text

        if options:
            raise ValueError(f"Text exports write the SavedModel only; the options {sorted(options)} (TFLite, "
                             "ONNX, ...) are for image models.")
        folder = export_text(self.model, directory, preprocessor=self.preprocessor, class_names=self.class_names,
                             multi_label=self.multi_label, config=self.config, metrics=self.metrics,
                             sequence_length=self.sequence_length, overwrite=overwrite)
        if report:
            self.report(folder / "report.html")
        return folder

    def most_confused(self, count: int = CONFUSED_EXAMPLES) -> list[dict]:
        """The validation texts the model is most confidently wrong about (single-label runs).

        Returns:
            `[{"text", "label", "predicted", "probability"}]`, most confident mistakes first.
        """
        spec = self.validation_spec
        if spec is None or self.multi_label or len(spec) == 0:
            return []
        probabilities = self.predict_probabilities(list(spec.texts))
        predicted = probabilities.argmax(axis=1)
        wrong = np.flatnonzero(predicted != spec.labels)
        order = wrong[np.argsort(-probabilities[wrong, predicted[wrong]])][:count]
        return [{"text": str(spec.texts[i]), "label": self.class_names[int(spec.labels[i])],
                 "predicted": self.class_names[int(predicted[i])],
                 "probability": float(probabilities[i, predicted[i]])} for i in order]

    def report(self, path: str | os.PathLike, data=None, evaluation=None) -> Path:
        """Writes a self-contained HTML report: warnings (data checks included), scores, stages, confused texts.

        Example:
            >>> result.report("runs/reviews/report.html")
        """
        if data is not None or evaluation is not None:
            raise ValueError("A text report scores the run's validation texts; data= and evaluation= are for image "
                             "runs.")
        checks = self.data_summary.get("text_checks", {})
        rows = "".join(f"<tr><td>{html.escape(name)}</td><td>{scores.get('accuracy', float('nan')):.4f}</td>"
                       f"<td>{scores.get('loss', float('nan')):.4f}</td></tr>"
                       for name, scores in self.baselines.items())
        stages = "".join(f"<tr><td>{html.escape(str(s['name']))}</td><td>{s['epochs_run']}</td>"
                         f"<td>{len(s['trainable_blocks'])}</td><td>{s.get('best_value')}</td></tr>"
                         for s in self.history)
        confused = "".join(f"<tr><td>{html.escape(item['text'])}</td><td>{html.escape(item['label'])}</td>"
                           f"<td>{html.escape(item['predicted'])}</td><td>{item['probability']:.3f}</td></tr>"
                           for item in self.most_confused())
        warnings = "".join(f"<li>{html.escape(line)}</li>" for line in self.warnings) or "<li>none</li>"
        page = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>Text transfer report</title></head><body>"
            f"<h1>Text transfer report: {html.escape(self.backbone.keras_name)} on {len(self.class_names)} "
            f"classes (kept: {html.escape(self.kept)})</h1>"
            f"<h2>Warnings</h2><ul>{warnings}</ul>"
            f"<h2>Data</h2><p>{self.data_summary.get('train_size')} training, "
            f"{self.data_summary.get('validation_size')} validation texts; classes "
            f"{html.escape(str(self.data_summary.get('train_counts')))}; sequence length "
            f"{checks.get('sequence_length')} tokens, {checks.get('truncated', 0)} truncated; "
            f"{checks.get('duplicates', 0)} duplicates; {checks.get('undecodable', 0)} undecodable; empty dropped "
            f"{html.escape(str(checks.get('empty', {})))}</p>"
            f"<h2>Validation scores</h2><table><tr><th>model</th><th>accuracy</th><th>loss</th></tr>{rows}</table>"
            f"<h2>Stages</h2><table><tr><th>stage</th><th>epochs</th><th>blocks</th><th>best</th></tr>{stages}"
            f"</table><h2>Most confused validation texts</h2><table><tr><th>text</th><th>label</th>"
            f"<th>predicted</th><th>probability</th></tr>{confused}</table></body></html>")
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page, encoding="utf-8")
        return target

    def summary(self) -> str:
        """A few lines: the stages run and the validation metrics."""
        lines = [f"{self.backbone.keras_name} on {len(self.class_names)} classes, {self.sequence_length} tokens"]
        lines += [f"  stage {stage['name']}: {stage['epochs_run']} epochs, best {stage.get('best_value')}"
                  for stage in self.history]
        lines.append(f"  kept {self.kept}: {self.metrics}")
        return "\n".join(lines)
