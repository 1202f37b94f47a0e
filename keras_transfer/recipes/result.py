"""`FitResult`: what a run returns, and the one way to evaluate, report and export it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras

from keras_transfer.data.pipeline import make_dataset
from keras_transfer.data.sources import DataSpec
from keras_transfer.models.backbones import BackboneSpec
from keras_transfer.serialization import write_settings

NO_VALIDATION_WARNING = ("No validation data was held out: the metrics below are on the training data, so they "
                         "overstate how well the model generalises.")
EVALUATION_BATCH_SIZE = 32


@dataclass
class FitResult:
    """What `build_and_fit` (and every other entry point that trains) returns.

    Attributes:
        model: the trained `keras.Model` (RGB pixels 0–255 in, probabilities out).
        history: one dict per stage: name, first epoch, epochs run, best epoch
            and value, trainable blocks and per-epoch metrics.
        class_names: class names in output order.
        metrics: validation metrics of the final model (empty without validation data).
        config: the resolved settings, flat and JSON-able (`fit_config.to_dict()`
            plus `multi_label`); `build_and_fit_from_config` reruns them.
        data_summary: class counts, imbalance, skipped files.
        backbone: the backbone's registry entry.
        train_spec, validation_spec: the data, for evaluation and reports.
        timings: wall seconds per step.
        baselines: validation metrics of the run's method (`fine_tuned`) and of each baseline asked for.
        warnings: negative transfer and stage warnings, as sentences.
        kept: which model `model` is: `"fine_tuned"` (the run's method), or a baseline that scored better.
        kept_stage: the stage whose weights the model ends with.
        fit_config: the resolved `FitConfig` itself.
        method_record: what the method recorded (its name, options and figures).
        baseline_records: what each baseline recorded, e.g. `{"scratch": {"recipe": ..., "epochs": ...}}`.
        ranking: with `backbone="auto"`, the ranking of the candidates (`RankingTable.to_dict()`).
    """

    model: keras.Model
    history: list[dict]
    class_names: list[str]
    metrics: dict
    config: dict
    data_summary: dict
    backbone: BackboneSpec
    train_spec: DataSpec = field(repr=False)
    validation_spec: DataSpec | None = field(repr=False, default=None)
    timings: dict = field(default_factory=dict)
    baselines: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    kept: str = "fine_tuned"
    kept_stage: str | None = None
    fit_config: Any = field(repr=False, default=None)
    method_record: dict = field(default_factory=dict)
    baseline_records: dict = field(default_factory=dict)
    ranking: dict | None = None

    @property
    def image_size(self) -> tuple[int, int]:
        return tuple(self.config["image_size"])

    @property
    def multi_label(self) -> bool:
        return bool(self.config["multi_label"])

    def save_config(self, path: str | os.PathLike) -> Path:
        """Writes the config as JSON (or YAML for a .yaml/.yml path); `keras-transfer fit --config` reruns it.

        Example:
            >>> result.save_config("runs/photos/config.json")
        """
        return write_settings(path, self.config)

    def evaluate(self, data=None, **options):
        """Scores the model on `data` (default: the validation data); see `keras_transfer.evaluate`.

        Returns:
            An `Evaluation` (metrics, confusion matrix, calibration, hardest images).

        Example:
            >>> print(result.evaluate("test_photos/"))
        """
        from keras_transfer.evaluation.evaluate import evaluate

        data = data if data is not None else self.validation_spec
        if data is None:
            raise ValueError("This run had no validation data: pass the data to evaluate on.")
        return evaluate(self, data, **options)

    def report(self, path: str | os.PathLike, data=None, evaluation=None) -> Path:
        """Writes the self-contained HTML report: data, config, curves, metrics, confusions, baselines, warnings.

        Without validation data (and no `data`), the report scores the
        training data and says that its figures overstate the model.

        Args:
            path: the .html file to write.
            data: what to evaluate on (default: the validation data, else the training data).
            evaluation: an `Evaluation` already computed (skips evaluating again).

        Returns:
            The path written.

        Example:
            >>> result.report("runs/photos/report.html")
        """
        from keras_transfer.evaluation.report import write_report

        warnings = list(self.warnings)
        role = "validation" if data is None else "given"
        if evaluation is None:
            if data is None and self.validation_spec is None:
                data, role = self.train_spec, "training"
                warnings.append(NO_VALIDATION_WARNING)
            if isinstance(data, DataSpec):
                batch_size = int(self.config.get("batch_size") or EVALUATION_BATCH_SIZE)
                data = make_dataset(data, self.image_size, batch_size, cache=False)
            evaluation = self.evaluate(data)
        summary = {**self.data_summary, "class_weight": self.config.get("class_weight")}
        title = f"Transfer learning report: {self.backbone.keras_name} on {len(self.class_names)} classes"
        return write_report(path, evaluation=evaluation, history=self.history, config=self.config,
                            data_summary=summary, baselines=self.baselines, warnings=warnings,
                            title=f"{title} ({role} data)" if role != "given" else title,
                            recipes={name: record.get("recipe") for name, record in self.baseline_records.items()},
                            ranking=self.ranking, domain=self.method_record.get("domain"),
                            distillation=self.method_record.get("comparison"))

    def export(self, directory: str | os.PathLike, *, report: bool = True, **options):
        """Exports the model with its labels, config and validation metrics; see `keras_transfer.export`.

        TFLite int8 calibration uses training images and the TFLite accuracy
        the validation images, unless `representative_data`/`validation_data`
        are given. With `report=True`, `report.html` is written beside the model.

        Returns:
            The `ExportResult`.

        Example:
            >>> result.export("saved_models/flowers", tflite=["float16", "int8"])
        """
        from keras_transfer.serving.export import export

        if options.get("tflite") and "representative_data" not in options:
            options["representative_data"] = make_dataset(self.train_spec, self.image_size, 32, cache=False)
        if options.get("tflite") and "validation_data" not in options and self.validation_spec is not None:
            options["validation_data"] = make_dataset(self.validation_spec, self.image_size, 32, cache=False)
        exported = export(self.model, directory, class_names=self.class_names, multi_label=self.multi_label,
                          config=self.config, metrics=self.metrics, **options)
        if report:
            self.report(Path(exported.directory) / "report.html")
        return exported

    def save_adapter(self, path: str | os.PathLike) -> Path:
        """Writes only the parameters a PEFT run tuned (LoRA matrices, biases or norm scales/offsets) and the head.

        One pretrained backbone then serves many tasks: `keras_transfer.load_adapter(model, path)` applies the
        file to a classifier built like this run's, with the same pretrained weights.

        Args:
            path: the `.npz` file to write.

        Returns:
            The path written.

        Raises:
            ValueError: the run was not parameter-efficient (or a baseline was kept), naming why.

        Example:
            >>> result = build_and_fit("photos/", backbone="mobilenet", peft="lora")
            >>> result.save_adapter("runs/photos/adapter.npz")
        """
        if self.kept != "fine_tuned":
            raise ValueError(f"The kept model is the {self.kept} baseline, which has no adapter: export the model "
                             "(result.export) instead.")
        adapter = self.method_record.get("adapter")
        if adapter is None:
            raise ValueError("This run has no adapter: only a plan whose backbone stages are all parameter-efficient "
                             "(peft='lora'|'bias'|'norm', or Stage(parameters=...)) has one. Export the model "
                             "(result.export) instead.")
        return adapter.save(path)

    def summary(self) -> str:
        """A few lines: the stages run and the validation metrics."""
        lines = [f"{self.backbone.keras_name} on {len(self.class_names)} classes, image size {self.image_size}"]
        for stage in self.history:
            best = stage.get("best_value")
            lines.append(
                f"  stage {stage['name']}: {stage['epochs_run']} epochs, blocks {len(stage['trainable_blocks'])}, "
                f"best {self.config['monitor']} {best:.4f}" if best is not None else
                f"  stage {stage['name']}: {stage['epochs_run']} epochs"
            )
        if self.metrics:
            lines.append("  validation: " + ", ".join(f"{k} {v:.4f}" for k, v in self.metrics.items()))
        return "\n".join(lines)
