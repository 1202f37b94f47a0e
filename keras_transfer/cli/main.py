"""`keras-transfer`: the command line for training, evaluating, exporting and serving classifiers.

Subcommands (each has `--help`):

    keras-transfer fit DATA --output-dir RUN [options]        train, save config.json, export, write report.html
    keras-transfer fit --config RUN/config.json --output-dir RUN2  rerun a saved run (options override it)
    keras-transfer evaluate EXPORT_OR_MODEL DATA [--report FILE]  metrics table (and the HTML report)
    keras-transfer export MODEL.keras OUT --labels labels.txt [--tflite float32,int8]
    keras-transfer predict EXPORT_DIR INPUTS... [--top-k K] [--csv OUT]
    keras-transfer demo [--seeds N] [--smoke]

User mistakes (a missing file, a bad option value, data that does not fit the
model) print `error: <message>` to stderr and exit with status 2, without a
stack trace; `keras-transfer --traceback ...` shows the trace for bug reports.

Example:
    >>> from keras_transfer.cli.main import main
    >>> main(["predict", "runs/shapes/export", "photos/", "--top-k", "2", "--csv", "predictions.csv"])
    0
"""

from __future__ import annotations

import argparse
import csv
import inspect
import json
import math
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

EXIT_OK = 0
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
# Exceptions that mean "the user asked for something that cannot be done": reported in one line.
USER_ERRORS = (ValueError, TypeError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError)
# Keys a saved config holds for the record only (not `build_and_fit` arguments).
RECORD_ONLY_KEYS = ("keras_transfer_version", "multi_label")
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
REPORT_FILE = "report.html"
EXPORT_DIR = "export"
EVALUATION_BATCH_SIZE = 32

_EXAMPLES = """\
examples:
  keras-transfer fit photos/ --backbone efficientnetv2b0 --epochs 5 --output-dir runs/photos
  keras-transfer fit --config runs/photos/config.json --output-dir runs/photos-again
  keras-transfer evaluate runs/photos/export test_photos/ --report runs/photos/test_report.html
  keras-transfer export model.keras exports/photos --labels labels.txt --tflite float32,dynamic_int8
  keras-transfer predict runs/photos/export new_photos/ --top-k 3 --csv predictions.csv
  keras-transfer demo --smoke
"""


# --------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the `keras-transfer` command line.

    Args:
        argv: the arguments after the program name (default: `sys.argv[1:]`).

    Returns:
        The exit status: 0 on success, 2 for a usage or data error (the
        message goes to stderr as `error: ...`), 130 when interrupted.

    Example:
        >>> main(["fit", "photos/", "--output-dir", "runs/photos", "--epochs", "3"])
        0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version and argparse's own usage errors
        return int(stop.code or 0) if not isinstance(stop.code, str) else EXIT_USER_ERROR
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USER_ERROR
    try:
        return int(args.handler(args) or 0)
    except USER_ERRORS as error:
        if args.traceback:
            raise
        print(f"error: {error_message(error)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def error_message(error: BaseException) -> str:
    """One line for the user: the exception's message, or `strerror: filename` for a bare OS error.

    Args:
        error: the exception.

    Returns:
        The message.

    Example:
        >>> error_message(FileNotFoundError(2, "No such file or directory", "x.csv"))
        'No such file or directory: x.csv'
    """
    if isinstance(error, OSError) and error.strerror and error.filename:
        return f"{error.strerror}: {error.filename}"
    return str(error) or type(error).__name__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `keras-transfer` and its subcommands.

    Returns:
        An `argparse.ArgumentParser`; each parsed namespace has a `handler`.

    Example:
        >>> build_parser().parse_args(["predict", "export/", "a.png"]).top_k
        1
    """
    from keras_transfer.version import __version__

    parser = argparse.ArgumentParser(
        prog="keras-transfer",
        description="Transfer learning with Keras 3: train, evaluate, export and serve image classifiers.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show the full traceback of errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_fit_parser(commands)
    _add_evaluate_parser(commands)
    _add_export_parser(commands)
    _add_predict_parser(commands)
    _add_demo_parser(commands)
    return parser


def _subparser(commands, name: str, help_text: str, description: str) -> argparse.ArgumentParser:
    return commands.add_parser(name, help=help_text, description=description)


# --------------------------------------------------------------------------- fit


def _add_fit_parser(commands) -> None:
    fit = _subparser(
        commands, "fit", "train a classifier (staged fine-tuning), then export it and write a report",
        "Train a classifier on DATA with build_and_fit(). Writes OUTPUT/config.json (rerun it with --config), "
        "OUTPUT/metrics.json, the servable export in OUTPUT/export and the HTML report OUTPUT/report.html. "
        "Options left out keep build_and_fit's defaults, or the config's values with --config.",
    )
    fit.set_defaults(handler=run_fit)
    fit.add_argument("data", nargs="?", metavar="DATA",
                     help="a folder with a sub-folder per class, a CSV (path and label columns) or tfds:NAME[:SPLIT]")
    fit.add_argument("--output-dir", "-o", required=True, metavar="OUTPUT",
                     help="where config.json, metrics.json, the export and the report go")
    fit.add_argument("--config", metavar="FILE", help="a config.json/.yaml saved by an earlier run: rerun it")
    fit.add_argument("--backbone", help="a registry name, e.g. efficientnetv2b0, mobilenetv3small, resnet50v2, vgg16")
    fit.add_argument("--weights", metavar="imagenet|none|PATH", help="pretrained weights, none for from scratch")
    fit.add_argument("--image-size", metavar="SIZE", help="input size: 224 or HEIGHTxWIDTH (default: the backbone's)")
    fit.add_argument("--validation-data", metavar="DATA", help="validation folder, CSV or tfds:NAME[:SPLIT]")
    fit.add_argument("--validation-split", type=float, metavar="FRACTION",
                     help="share of DATA held out (stratified, seeded) without --validation-data (default 0.2)")
    fit.add_argument("--augmentation", metavar="default|none|JSON",
                     help='"default", "none", or ImageDataGenerator-style options as JSON, '
                          'e.g. \'{"rotation_range": 20, "horizontal_flip": true}\'')
    fit.add_argument("--stages", metavar="JSON|FILE",
                     help="the stage plan: a JSON list of stages (see keras_transfer.Stage) or a JSON/YAML file")
    fit.add_argument("--epochs", type=int, metavar="N", help="the most epochs per stage")
    fit.add_argument("--batch-size", type=int, metavar="N", help="images per step (default 32)")
    fit.add_argument("--seed", type=int, help="seeds the split, initialisation, shuffling and augmentation")
    fit.add_argument("--baselines", metavar="LIST", help="comma list of linear_probe, scratch: scored beside the model")
    fit.add_argument("--class-weight", metavar="balanced|none|JSON", help='"balanced" or JSON {"class index": weight}')
    fit.add_argument("--dropout", type=float, help="head dropout (default 0.2)")
    fit.add_argument("--label-smoothing", type=float, help="label smoothing of the loss (default 0.1)")
    fit.add_argument("--monitor", help="what early stopping watches (default val_loss)")
    fit.add_argument("--path-column", help="CSV column of the image paths (default: found by name)")
    fit.add_argument("--label-column", help="CSV column of the labels (default: found by name)")
    fit.add_argument("--export", action=argparse.BooleanOptionalAction, default=True,
                     help="export the model to OUTPUT/export (default: yes)")
    fit.add_argument("--report", action=argparse.BooleanOptionalAction, default=True,
                     help="write OUTPUT/report.html (default: yes)")
    fit.add_argument("--resume", action="store_true", help="continue an interrupted run from OUTPUT's checkpoints")
    fit.add_argument("--overwrite", action="store_true", help="replace the results of an earlier run in OUTPUT")
    fit.add_argument("--quiet", "-q", action="store_true", help="no progress bars")


def fit_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The `build_and_fit` keyword arguments the command line gave explicitly.

    Options left out are left out here too, so `build_and_fit` (or the
    config given with `--config`) supplies them.

    Args:
        args: the parsed `fit` namespace.

    Returns:
        A dict of keyword arguments (without `output_dir` and `verbose`).

    Raises:
        ValueError: an option value that cannot be understood.

    Example:
        >>> fit_arguments(build_parser().parse_args(["fit", "photos", "-o", "run", "--weights", "none"]))
        {'data': '/abs/path/photos', 'weights': None}
    """
    arguments: dict[str, Any] = {}
    if args.data is not None:
        arguments["data"] = data_argument(args.data)
    if args.validation_data is not None:
        arguments["validation_data"] = data_argument(args.validation_data)
    converters = {
        "backbone": str,
        "weights": parse_weights,
        "image_size": parse_image_size,
        "validation_split": _fraction,
        "augmentation": parse_augmentation,
        "stages": parse_stages,
        "epochs": _positive_int("--epochs"),
        "batch_size": _positive_int("--batch-size"),
        "seed": int,
        "baselines": parse_list,
        "class_weight": parse_class_weight,
        "dropout": float,
        "label_smoothing": float,
        "monitor": str,
        "path_column": str,
        "label_column": str,
    }
    for name, convert in converters.items():
        value = getattr(args, name)
        if value is not None:
            arguments[name] = convert(value)
    return arguments


def run_fit(args: argparse.Namespace) -> int:
    """`keras-transfer fit`: trains, then saves the config and metrics, exports and writes the report.

    Args:
        args: the parsed `fit` namespace.

    Returns:
        0.

    Example:
        >>> run_fit(build_parser().parse_args(["fit", "photos/", "-o", "runs/photos"]))
        0
    """
    from keras_transfer.recipes.build_and_fit import build_and_fit, build_and_fit_from_config

    output = Path(args.output_dir).expanduser().absolute()
    arguments = fit_arguments(args)
    if args.weights is not None and arguments["weights"] not in (None, "imagenet"):
        arguments["weights"] = _existing_file(arguments["weights"], "--weights")
    check_output_dir(output, overwrite=args.overwrite, resume=args.resume)
    arguments.update(output_dir=str(output), verbose=0 if args.quiet else 1)
    if args.resume:
        arguments.update(resume_argument(build_and_fit))
    if args.config:
        config = config_for_rerun(read_config(args.config), arguments, build_and_fit)
        result = build_and_fit_from_config(config, **arguments)
    else:
        if "data" not in arguments:
            raise ValueError("fit needs DATA (a folder, a CSV file or tfds:NAME) or --config FILE from an earlier run.")
        result = build_and_fit(**arguments)
    written = {"config": result.save_config(output / CONFIG_FILE)}
    written["metrics"] = write_json(output / METRICS_FILE, run_summary(result))
    if args.export:
        written["export"] = export_result(result, output / EXPORT_DIR, quiet=args.quiet)
    if args.report:
        written["report"] = report_result(result, output / REPORT_FILE, quiet=args.quiet)
    print_fit_summary(result, written, quiet=args.quiet)
    return EXIT_OK


def check_output_dir(output: Path, overwrite: bool, resume: bool) -> None:
    """Refuses to train into a folder that holds an earlier run, unless told to replace or resume it.

    Checked before training, so a mistake costs nothing.

    Args:
        output: the output folder.
        overwrite: replace an earlier run's results.
        resume: continue the earlier run.

    Raises:
        FileExistsError: `output` holds an earlier run and neither flag is set.
        NotADirectoryError: `output` is a file.

    Example:
        >>> check_output_dir(Path("runs/new"), overwrite=False, resume=False)
    """
    if output.exists() and not output.is_dir():
        raise NotADirectoryError(f"--output-dir {output} is a file: give a folder.")
    earlier = [name for name in (CONFIG_FILE, EXPORT_DIR, REPORT_FILE) if (output / name).exists()]
    if earlier and not (overwrite or resume):
        raise FileExistsError(
            f"{output} already holds a run ({', '.join(earlier)}): pass --overwrite to replace it, --resume to "
            "continue it, or choose another --output-dir."
        )


def resume_argument(build_and_fit) -> dict[str, bool]:
    """`{"resume": True}` when `build_and_fit` can resume.

    Args:
        build_and_fit: the training function.

    Returns:
        The keyword argument to add.

    Raises:
        ValueError: this version of `build_and_fit` has no `resume` parameter.

    Example:
        >>> resume_argument(keras_transfer.build_and_fit)
        {'resume': True}
    """
    if "resume" not in inspect.signature(build_and_fit).parameters:
        raise ValueError("--resume is not supported by this version of keras_transfer: rerun without it.")
    return {"resume": True}


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """Reads a config saved by `FitResult.save_config`: JSON, or YAML for .yaml/.yml.

    Args:
        path: the file.

    Returns:
        The config dict.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a JSON/YAML mapping.

    Example:
        >>> read_config("runs/photos/config.json")["backbone"]
        'efficientnetv2b0'
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"No config file at {path}: give the config.json an earlier `fit` wrote.")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            config = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ValueError(f"{path} is not valid YAML: {error}") from None
    else:
        try:
            config = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path} must hold a mapping of settings, not {type(config).__name__}.")
    return config


def config_for_rerun(config: dict[str, Any], overrides: dict[str, Any], build_and_fit) -> dict[str, Any]:
    """Prepares a saved config for `build_and_fit_from_config` with command-line overrides.

    Settings this `build_and_fit` does not take are dropped (with a note on
    stderr). `--epochs` without `--stages` sets the epochs of each of the
    config's stages; `--weights` that switches between pretrained and from
    scratch goes back to the default plan for that case. `overrides` is
    updated in place for these two.

    Args:
        config: the saved config.
        overrides: the command line's `build_and_fit` arguments.
        build_and_fit: the training function (its signature decides what is kept).

    Returns:
        The config to rerun.

    Raises:
        ValueError: the config's data cannot be reloaded and no DATA was given.

    Example:
        >>> config_for_rerun({"data": "photos", "stages": [{"name": "head", "epochs": 5}]}, {"epochs": 1}, fit)
        {'data': 'photos', 'stages': [{'name': 'head', 'epochs': 5}]}
    """
    accepted = set(inspect.signature(build_and_fit).parameters)
    unknown = sorted(set(config) - accepted - set(RECORD_ONLY_KEYS))
    if unknown:
        print(f"note: ignoring config setting(s) this version does not know: {', '.join(unknown)}", file=sys.stderr)
    kept = {key: value for key, value in config.items() if key in accepted}
    for key, flag in (("data", "DATA"), ("validation_data", "--validation-data")):
        value = kept.get(key)
        if key not in overrides and isinstance(value, str) and value.startswith("<"):
            raise ValueError(f"The config's {key} was {value}, which cannot be reloaded: give {flag}.")
    if "stages" not in overrides:
        if "weights" in overrides and (overrides["weights"] is None) != (kept.get("weights") is None):
            overrides["stages"] = "default"
        elif "epochs" in overrides and isinstance(kept.get("stages"), list):
            overrides["stages"] = [{**stage, "epochs": overrides["epochs"]} for stage in kept["stages"]]
    return kept


def run_summary(result) -> dict[str, Any]:
    """What `metrics.json` holds: validation metrics, baselines, the kept model, warnings, timings.

    Args:
        result: a `FitResult`.

    Returns:
        A JSON-able dict.

    Example:
        >>> run_summary(result)["metrics"]["accuracy"]
        0.98
    """
    return {
        "class_names": list(result.class_names),
        "metrics": result.metrics,
        "baselines": result.baselines,
        "kept": result.kept,
        "kept_stage": result.kept_stage,
        "stages": [{key: stage.get(key) for key in ("name", "epochs_run", "best_epoch", "best_value")}
                   for stage in result.history],
        "warnings": list(result.warnings),
        "timings": result.timings,
    }


def export_result(result, directory: Path, quiet: bool = False) -> Path:
    """Exports a `FitResult`'s model with its config and metrics (replacing an earlier export there).

    Args:
        result: the `FitResult`.
        directory: the export folder.
        quiet: print nothing.

    Returns:
        The export folder.

    Example:
        >>> export_result(result, Path("runs/photos/export"))
        PosixPath('runs/photos/export')
    """
    from keras_transfer.serving.export import export

    _status(f"Exporting to {directory} ...", quiet)
    export(result.model, directory, class_names=result.class_names, multi_label=result.multi_label,
           config=result.config, metrics=result.metrics, overwrite=True)
    return directory


def report_result(result, path: Path, quiet: bool = False) -> Path:
    """Evaluates a `FitResult` on its validation data (else its training data) and writes the HTML report.

    Args:
        result: the `FitResult`.
        path: the .html file.
        quiet: no progress bar.

    Returns:
        The report's path.

    Example:
        >>> report_result(result, Path("runs/photos/report.html"))
        PosixPath('runs/photos/report.html')
    """
    from keras_transfer.evaluation.evaluate import evaluate
    from keras_transfer.evaluation.report import write_report

    warnings = list(result.warnings)
    spec, role = result.validation_spec, "validation"
    if spec is None:
        spec, role = result.train_spec, "training"
        warnings.append("No validation data was held out: the metrics below are on the training data, "
                        "so they overstate how well the model generalises.")
    batch_size = int(result.config.get("batch_size") or EVALUATION_BATCH_SIZE)
    dataset = evaluation_dataset(spec, result.image_size, batch_size, f"Evaluating ({role})", quiet)
    evaluation = evaluate(result, dataset)
    _status(f"Writing the report to {path} ...", quiet)
    return write_report(path, evaluation=evaluation, history=result.history, config=result.config,
                        data_summary=result.data_summary, baselines=result.baselines, warnings=warnings,
                        title=f"Transfer learning report: {result.backbone.name} ({role} data)")


def print_fit_summary(result, written: dict[str, Path], quiet: bool = False) -> None:
    """Prints the stages, validation metrics, the kept model, warnings (when quiet) and the files written.

    Args:
        result: the `FitResult`.
        written: what was written, by kind.
        quiet: training printed nothing, so print the warnings here.

    Example:
        >>> print_fit_summary(result, {"config": Path("runs/photos/config.json")})
    """
    print(result.summary())
    if result.kept != "fine_tuned":
        print(f"  kept: the {result.kept} model (it scored better than the fine-tuned one)")
    if quiet:
        for line in result.warnings:
            print(f"WARNING: {line}")
    for kind, path in written.items():
        print(f"  {kind}: {path}")


# --------------------------------------------------------------------------- evaluate


def _add_evaluate_parser(commands) -> None:
    evaluate = _subparser(
        commands, "evaluate", "score an export folder or a .keras model on labelled data",
        "Prints accuracy, top-k accuracy, per-class precision/recall/F1, log-loss and calibration error of a "
        "model (an export folder written by `fit`/`export`, or a .keras file) on DATA.",
    )
    evaluate.set_defaults(handler=run_evaluate)
    evaluate.add_argument("model", metavar="EXPORT_OR_KERAS_MODEL", help="an export folder or a .keras file")
    evaluate.add_argument("data", metavar="DATA", help="a folder with a sub-folder per class, a CSV or tfds:NAME:SPLIT")
    evaluate.add_argument("--report", metavar="FILE", help="also write the HTML report to FILE")
    evaluate.add_argument("--json", metavar="FILE", help="also write every metric as JSON to FILE")
    evaluate.add_argument("--labels", metavar="FILE",
                          help="class names, one per line, for a .keras file (default: the data's class names)")
    evaluate.add_argument("--image-size", metavar="SIZE", help="input size for a .keras model without a fixed one")
    evaluate.add_argument("--batch-size", type=int, default=EVALUATION_BATCH_SIZE, metavar="N",
                          help="images per model call (default: %(default)s)")
    evaluate.add_argument("--path-column", help="CSV column of the image paths (default: found by name)")
    evaluate.add_argument("--label-column", help="CSV column of the labels (default: found by name)")
    evaluate.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def run_evaluate(args: argparse.Namespace) -> int:
    """`keras-transfer evaluate`: prints the metrics table; writes the report / JSON when asked.

    Args:
        args: the parsed `evaluate` namespace.

    Returns:
        0.

    Example:
        >>> run_evaluate(build_parser().parse_args(["evaluate", "runs/photos/export", "test/"]))
        0
    """
    from keras_transfer.data.sources import load_data
    from keras_transfer.evaluation.evaluate import evaluate

    loaded = load_classifier(args.model, labels=args.labels)
    image_size = parse_image_size(args.image_size) if args.image_size else model_image_size(loaded.model)
    spec, _ = load_data(data_argument(args.data), validation_split=0, class_names=loaded.class_names,
                        path_column=args.path_column, label_column=args.label_column)
    if loaded.class_names is None:
        loaded.class_names = list(spec.class_names)
    dataset = evaluation_dataset(spec, image_size, _positive_int("--batch-size")(args.batch_size), "Evaluating",
                                 args.quiet)
    evaluation = evaluate(loaded, dataset)
    print(evaluation)
    confused = evaluation.most_confused(5) if not evaluation.multi_label else []
    if confused:
        print("  most confused: " + "; ".join(
            f"{pair['true']} -> {pair['predicted']} ({pair['count']})" for pair in confused))
    if args.json:
        print(f"  metrics: {write_json(Path(args.json), evaluation.to_dict())}")
    if args.report:
        from keras_transfer.evaluation.report import write_report

        path = write_report(args.report, evaluation=evaluation, config=loaded.config or None,
                            title=f"Evaluation of {Path(args.model).name} on {Path(args.data).name}")
        print(f"  report: {path}")
    return EXIT_OK


def load_classifier(path: str | os.PathLike, labels: str | os.PathLike | None = None) -> SimpleNamespace:
    """Loads a classifier to evaluate: an export folder (its `model.keras` and metadata) or a .keras file.

    Args:
        path: an export folder written by `keras_transfer.export`, or a `.keras` file.
        labels: a labels file (one class per line); for an export folder, it
            replaces the export's own class names.

    Returns:
        A namespace with `model`, `class_names` (None when unknown),
        `multi_label` (None when unknown) and `config` (the training config,
        or {}), which `evaluate()` takes like a `FitResult`.

    Raises:
        FileNotFoundError: nothing at `path`.
        ValueError: a folder that is not an export, or a file that is not a .keras model.

    Example:
        >>> load_classifier("runs/photos/export").class_names
        ['cat', 'dog']
    """
    import keras

    from keras_transfer.serving.export import KERAS_FILE
    from keras_transfer.serving.inference import METADATA_FILE

    source = Path(path).expanduser()
    if not source.exists():
        raise FileNotFoundError(f"No model at {source}: give an export folder or a .keras file.")
    metadata: dict[str, Any] = {}
    if source.is_dir():
        if not (source / METADATA_FILE).is_file() or not (source / KERAS_FILE).is_file():
            raise ValueError(f"{source} is not a keras_transfer export folder (it needs {METADATA_FILE} and "
                             f"{KERAS_FILE}): give the folder `fit` or `export` wrote, or a .keras file.")
        metadata = json.loads((source / METADATA_FILE).read_text(encoding="utf-8"))
        model_file = source / KERAS_FILE
    elif source.suffix.lower() == ".keras":
        model_file = source
    else:
        raise ValueError(f"{source} is neither an export folder nor a .keras model file.")
    model = keras.saving.load_model(model_file, compile=False)
    names = read_labels(labels) if labels else metadata.get("class_names")
    return SimpleNamespace(model=model, class_names=list(names) if names else None,
                           multi_label=metadata.get("multi_label", model_multi_label(model)),
                           config=metadata.get("training_config") or {})


def model_image_size(model) -> tuple[int, int]:
    """(height, width) of a model's fixed image input.

    Args:
        model: a Keras image classifier.

    Returns:
        The input size.

    Raises:
        ValueError: the model takes any size (pass `--image-size`).

    Example:
        >>> model_image_size(keras_transfer.build_model("vgg16", 3, weights=None, image_size=32))
        (32, 32)
    """
    shape = model.input_shape[0] if isinstance(model.input_shape, list) else model.input_shape
    if len(shape) != 4 or shape[1] is None or shape[2] is None:
        raise ValueError(f"The model's input shape is {shape}, without a fixed image size: pass --image-size.")
    return int(shape[1]), int(shape[2])


def model_multi_label(model) -> bool | None:
    """True for a model ending in several sigmoid units, False for softmax or one sigmoid, None when unknown.

    Args:
        model: a Keras classifier.

    Returns:
        Whether the model is multi-label, or None.

    Example:
        >>> model_multi_label(keras_transfer.build_model("vgg16", 3, weights=None, image_size=32))
        False
    """
    last = model.layers[-1] if getattr(model, "layers", None) else None
    activation = getattr(getattr(last, "activation", None), "__name__", None)
    units = model.output_shape[-1] if isinstance(model.output_shape, tuple) else None
    if activation == "softmax" or (activation == "sigmoid" and units == 1):
        return False
    if activation == "sigmoid" and units:
        return True
    return None


def evaluation_dataset(spec, image_size: tuple[int, int], batch_size: int, description: str, quiet: bool = False):
    """A one-pass `tf.data.Dataset` of `(pixels, labels)` batches for `evaluate()`, with a progress bar.

    Labels are class indices (multi-hot rows for multi-label), in the spec's order.

    Args:
        spec: the data (`DataSpec`).
        image_size: (height, width) the images are resized to.
        batch_size: images per batch.
        description: the progress bar's label.
        quiet: no progress bar.

    Returns:
        The dataset.

    Example:
        >>> evaluate(model, evaluation_dataset(spec, (224, 224), 32, "Evaluating"))
    """
    import tensorflow as tf

    from keras_transfer.data.pipeline import pixels_dataset

    batches = pixels_dataset(spec, tuple(image_size)).batch(batch_size).prefetch(tf.data.AUTOTUNE)
    total = math.ceil(len(spec) / batch_size)

    def generate() -> Iterator:
        yield from progress(batches, total=total, description=description, unit="batch", quiet=quiet)

    return tf.data.Dataset.from_generator(generate, output_signature=batches.element_spec)


# --------------------------------------------------------------------------- export


def _add_export_parser(commands) -> None:
    export = _subparser(
        commands, "export", "export a .keras model to a servable folder (SavedModel, TFLite, ONNX)",
        "Writes OUT: a SavedModel whose signatures take encoded images or pixels, the .keras model, labels.txt, "
        "keras_transfer.json and, when asked, TFLite files and ONNX. OUT is written atomically.",
    )
    export.set_defaults(handler=run_export)
    export.add_argument("model", metavar="MODEL.keras", help="a trained classifier (pixels 0-255 in)")
    export.add_argument("out", metavar="OUT", help="the export folder to create")
    export.add_argument("--labels", required=True, metavar="labels.txt",
                        help="class names, one per line, in output order")
    export.add_argument("--tflite", metavar="LIST",
                        help="comma list of TFLite variants: float32, float16, dynamic_int8, int8 (or all)")
    export.add_argument("--representative-data", metavar="DATA",
                        help="training images (folder, CSV, tfds:) to calibrate int8 TFLite")
    export.add_argument("--validation-data", metavar="DATA",
                        help="labelled images to score the TFLite/ONNX files on against the Keras model")
    export.add_argument("--multi-label", action=argparse.BooleanOptionalAction, default=None,
                        help="the model has independent sigmoid outputs (default: read from the model)")
    export.add_argument("--top-k", type=int, default=5, metavar="K",
                        help="classes in the signatures' top-k outputs (default: %(default)s)")
    export.add_argument("--config", metavar="FILE", help="a training config.json to store in keras_transfer.json")
    export.add_argument("--onnx", action="store_true", help="also write model.onnx (needs keras-transfer[onnx])")
    export.add_argument("--overwrite", action="store_true", help="replace an earlier export at OUT")


def run_export(args: argparse.Namespace) -> int:
    """`keras-transfer export`: writes the export folder and lists what it holds.

    Args:
        args: the parsed `export` namespace.

    Returns:
        0.

    Example:
        >>> run_export(build_parser().parse_args(["export", "model.keras", "out", "--labels", "labels.txt"]))
        0
    """
    from keras_transfer.serving.export import export

    source = Path(args.model).expanduser()
    if source.is_dir() or source.suffix.lower() != ".keras":
        raise ValueError(f"{source} is not a .keras model file: export takes the file model.save() wrote.")
    target = Path(args.out).expanduser()
    if target.exists() and not args.overwrite and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(f"{target} already exists: pass --overwrite to replace an earlier export there, "
                              "or choose another OUT.")
    loaded = load_classifier(source, labels=args.labels)
    size = model_image_size(loaded.model)
    multi_label = args.multi_label if args.multi_label is not None else bool(loaded.multi_label)
    variants = parse_list(args.tflite) if args.tflite else ()
    if "all" in variants:
        variants = True
    representative = _image_batches(args.representative_data, size, loaded.class_names, multi_label)
    validation = _image_batches(args.validation_data, size, loaded.class_names, multi_label)
    print(f"Exporting {source.name} ({len(loaded.class_names)} classes, {size[0]}x{size[1]}) to {args.out} ...")
    result = export(loaded.model, args.out, class_names=loaded.class_names, multi_label=multi_label,
                    top_k=args.top_k, config=read_config(args.config) if args.config else None,
                    overwrite=args.overwrite, tflite=variants, representative_data=representative,
                    validation_data=validation, onnx=args.onnx)
    print(f"  {result.directory}  ({_megabytes(result.total_bytes)} in {len(result.files)} files)")
    for name, tflite in result.tflite.items():
        scores = "" if tflite.accuracy is None else (
            f", accuracy {tflite.accuracy:.4f}, agrees with Keras on {tflite.agreement:.1%}")
        print(f"  tflite {name}: {tflite.path.name} {_megabytes(tflite.size_bytes)}, "
              f"{tflite.input_dtype} input{scores}")
    if result.onnx is not None:
        print(f"  onnx: {result.onnx}")
    return EXIT_OK


def _image_batches(data: str | None, size: tuple[int, int], class_names: Sequence[str], multi_label: bool):
    """(pixels, labels) batches of a folder/CSV/tfds source, in the model's class order; None for None."""
    if data is None:
        return None
    from keras_transfer.data.pipeline import pixels_dataset
    from keras_transfer.data.sources import load_data

    spec, _ = load_data(data_argument(data), validation_split=0, class_names=class_names)
    if spec.multi_label != multi_label:
        raise ValueError(f"{data} has {'multi' if spec.multi_label else 'single'}-label labels but the model is "
                         f"{'multi' if multi_label else 'single'}-label.")
    return pixels_dataset(spec, size).batch(64)


def read_labels(path: str | os.PathLike) -> list[str]:
    """Class names from a text file, one per line (blank lines and surrounding spaces ignored).

    Args:
        path: the labels file.

    Returns:
        The class names, in file order.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file lists no class.

    Example:
        >>> read_labels("export/labels.txt")
        ['circle', 'square', 'triangle']
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"No labels file at {path}: give a text file with one class name per line.")
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not names:
        raise ValueError(f"{path} lists no class names: write one class name per line, in the model's output order.")
    return names


# --------------------------------------------------------------------------- predict


def _add_predict_parser(commands) -> None:
    predict = _subparser(
        commands, "predict", "classify image files and folders with an export folder",
        "Classifies each image file given, and every image in each folder given (recursively), with the "
        "export's SavedModel. Prints one line per image, or writes a CSV with --csv.",
    )
    predict.set_defaults(handler=run_predict)
    predict.add_argument("export", metavar="EXPORT_DIR", help="an export folder written by `fit` or `export`")
    predict.add_argument("inputs", nargs="+", metavar="INPUTS", help="image files and/or folders of images")
    predict.add_argument("--top-k", type=int, default=1, metavar="K",
                         help="classes listed per image (default: %(default)s)")
    predict.add_argument("--csv", metavar="OUT", help="write the predictions to this CSV file instead of printing them")
    predict.add_argument("--batch-size", type=int, default=64, metavar="N",
                         help="images per model call (default: %(default)s)")
    predict.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def run_predict(args: argparse.Namespace) -> int:
    """`keras-transfer predict`: classifies files and folders; prints or writes CSV.

    Files that cannot be decoded are skipped with a note on stderr; it is an
    error only when none can be.

    Args:
        args: the parsed `predict` namespace.

    Returns:
        0.

    Example:
        >>> run_predict(build_parser().parse_args(["predict", "runs/photos/export", "new/", "--csv", "out.csv"]))
        0
    """
    from keras_transfer.serving.inference import load

    predictor = load(args.export)
    top_k = args.top_k
    if not 1 <= top_k <= len(predictor.class_names):
        raise ValueError(f"--top-k must be from 1 to {len(predictor.class_names)} (the number of classes), "
                         f"got {top_k}.")
    files = collect_images(args.inputs)
    results, skipped = predict_files(predictor, files, top_k, _positive_int("--batch-size")(args.batch_size),
                                     quiet=args.quiet)
    for path, reason in skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    if not results:
        raise ValueError(f"None of the {len(files)} input images could be classified.")
    if args.csv:
        path = write_predictions_csv(args.csv, results, top_k, predictor.multi_label)
        print(f"{len(results)} predictions written to {path}" + (f" ({len(skipped)} skipped)" if skipped else ""))
    else:
        for row in results:
            print(format_prediction(row))
    return EXIT_OK


def collect_images(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """Expands folders into their image files (recursive, sorted); keeps files as given.

    Args:
        inputs: image files and folders.

    Returns:
        The image paths, folders' images in sorted order at the folder's place.

    Raises:
        FileNotFoundError: an input that does not exist.
        ValueError: a folder without images.

    Example:
        >>> collect_images(["a.jpg", "more/"])
        [PosixPath('a.jpg'), PosixPath('more/b.png'), PosixPath('more/c.png')]
    """
    from keras_transfer.serving.inference import image_files

    files: list[Path] = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            files += image_files(path, recursive=True)
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"No such image file or folder: {path}.")
    return files


def predict_files(predictor, files: Sequence[Path], top_k: int, batch_size: int = 64,
                  quiet: bool = False) -> tuple[list[dict], list[tuple[Path, str]]]:
    """Runs a `Predictor` over files in batches, with a progress bar; undecodable files are skipped.

    Args:
        predictor: from `keras_transfer.inference.load`.
        files: the image files.
        top_k: classes per result.
        batch_size: images per model call.
        quiet: no progress bar.

    Returns:
        `(results, skipped)`: the predictor's result dicts in file order, and
        `(path, reason)` for each file left out.

    Example:
        >>> results, skipped = predict_files(load("export"), [Path("a.png")], top_k=2)
    """
    results: list[dict] = []
    skipped: list[tuple[Path, str]] = []
    chunks = [list(files[start:start + batch_size]) for start in range(0, len(files), batch_size)]
    with progress_bar(len(files), "Predicting", unit="image", quiet=quiet or len(files) <= batch_size) as bar:
        for chunk in chunks:
            try:
                results += predictor.predict(chunk, top_k=top_k)
            except ValueError:  # an undecodable file: find it, keep the others
                for path in chunk:
                    try:
                        results += predictor.predict([path], top_k=top_k)
                    except ValueError as error:
                        skipped.append((path, str(error)))
            bar.update(len(chunk))
    return results, skipped


def format_prediction(row: dict) -> str:
    """One printed line: input, top class and probability, the other top-k classes, multi-label labels.

    Args:
        row: a result dict of `Predictor.predict`.

    Returns:
        The line.

    Example:
        >>> format_prediction({"input": "a.png", "class_name": "cat", "probability": 0.9,
        ...                    "top_k": [{"class_name": "cat", "probability": 0.9}]})
        'a.png\\tcat\\t0.9000'
    """
    line = f"{row['input']}\t{row['class_name']}\t{row['probability']:.4f}"
    others = row["top_k"][1:]
    if others:
        line += "\t" + ", ".join(f"{entry['class_name']} {entry['probability']:.4f}" for entry in others)
    if "labels" in row:
        line += "\tlabels: " + ("|".join(row["labels"]) or "-")
    return line


def write_predictions_csv(path: str | os.PathLike, results: Sequence[dict], top_k: int, multi_label: bool) -> Path:
    """Writes predictions as CSV: `input, class_name, probability`, then `class_i, probability_i` for i in 2..k.

    Multi-label predictions add a `labels` column (labels at or above the
    threshold, joined with `|`).

    Args:
        path: the CSV file (folders are created).
        results: `Predictor.predict` result dicts.
        top_k: how many classes each result lists.
        multi_label: add the `labels` column.

    Returns:
        The path written.

    Example:
        >>> write_predictions_csv("out.csv", predictor.predict(["a.png"], top_k=2), 2, False)
        PosixPath('out.csv')
    """
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ["input", "class_name", "probability"]
    for rank in range(2, top_k + 1):
        header += [f"class_{rank}", f"probability_{rank}"]
    if multi_label:
        header.append("labels")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in results:
            values = [row["input"], row["class_name"], f"{row['probability']:.6f}"]
            for entry in row["top_k"][1:top_k]:
                values += [entry["class_name"], f"{entry['probability']:.6f}"]
            if multi_label:
                values.append("|".join(row.get("labels", [])))
            writer.writerow(values)
    return path


# --------------------------------------------------------------------------- demo


def _add_demo_parser(commands) -> None:
    demo = _subparser(
        commands, "demo", "run the Fashion-MNIST transfer-learning demo",
        "Runs keras_transfer.demo: fine-tuning against training from scratch on Fashion-MNIST, over several "
        "seeds. Arguments after `--` are passed to the demo as they are.",
    )
    demo.set_defaults(handler=run_demo)
    demo.add_argument("--seeds", type=int, metavar="N", help="how many seeds to run (default: the demo's)")
    demo.add_argument("--smoke", action="store_true", help="a tiny, fast run that checks everything works")
    demo.add_argument("extra", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run_demo(args: argparse.Namespace) -> int:
    """`keras-transfer demo`: calls `keras_transfer.demo.main(argv)`.

    Args:
        args: the parsed `demo` namespace.

    Returns:
        The demo's exit status (0 when it returns None).

    Raises:
        ValueError: the demo module is not installed.

    Example:
        >>> run_demo(build_parser().parse_args(["demo", "--smoke"]))
        0
    """
    import importlib

    try:
        demo = importlib.import_module("keras_transfer.demo.transfer_demo")
    except ImportError as error:
        raise ValueError(f"The demo is not available in this installation ({error}).") from None
    argv = demo_argv(args.seeds, args.smoke, args.extra)
    status = demo.main(argv)
    return int(status or 0)


def demo_argv(seeds: int | None, smoke: bool, extra: Sequence[str] = ()) -> list[str]:
    """The arguments passed on to `keras_transfer.demo.main`.

    Args:
        seeds: `--seeds N`, or None to leave it out.
        smoke: add `--smoke`.
        extra: further arguments (a leading `--` is dropped).

    Returns:
        The argument list.

    Example:
        >>> demo_argv(3, True, ["--", "--out", "x"])
        ['--seeds', '3', '--smoke', '--out', 'x']
    """
    argv = [] if seeds is None else ["--seeds", str(_positive_int("--seeds")(seeds))]
    if smoke:
        argv.append("--smoke")
    rest = list(extra)
    if rest and rest[0] == "--":
        rest = rest[1:]
    return argv + rest


# --------------------------------------------------------------------------- option values


def data_argument(text: str) -> str:
    """A data source for `build_and_fit`/`load_data`: `tfds:` names as they are, paths made absolute.

    Absolute paths keep a saved config valid from any working directory.

    Args:
        text: a folder, a CSV file or `tfds:NAME[:SPLIT]`.

    Returns:
        The source string.

    Example:
        >>> data_argument("tfds:tf_flowers")
        'tfds:tf_flowers'
    """
    if text.startswith("tfds:"):
        return text
    return str(Path(text).expanduser().absolute())


def parse_weights(text: str) -> str | None:
    """`--weights`: `imagenet`, `none` (from scratch) or a weights file.

    Args:
        text: the option value.

    Returns:
        `"imagenet"`, None or the path.

    Example:
        >>> parse_weights("none") is None
        True
    """
    lowered = text.strip().lower()
    if lowered in ("none", "scratch", "random", ""):
        return None
    if lowered == "imagenet":
        return "imagenet"
    return str(Path(text).expanduser().absolute())


def parse_image_size(text: str) -> int | tuple[int, int]:
    """`--image-size`: `224`, `224x160` or `224,160` (height, width).

    Args:
        text: the option value.

    Returns:
        An int or a (height, width) tuple.

    Raises:
        ValueError: anything else.

    Example:
        >>> parse_image_size("224x160")
        (224, 160)
    """
    parts = [part for part in text.lower().replace(",", "x").split("x")]
    try:
        sizes = [int(part) for part in parts]
    except ValueError:
        sizes = []
    if len(sizes) not in (1, 2) or min(sizes) < 1:
        raise ValueError(f"--image-size must be a positive size like 224 or 224x160, got {text!r}.")
    return sizes[0] if len(sizes) == 1 else (sizes[0], sizes[1])


def parse_augmentation(text: str) -> str | dict | None:
    """`--augmentation`: `default`, `none`, a JSON object of options, or a .json file holding one.

    Args:
        text: the option value.

    Returns:
        `"default"`, None or the options dict.

    Raises:
        ValueError: not one of these.

    Example:
        >>> parse_augmentation('{"horizontal_flip": true}')
        {'horizontal_flip': True}
    """
    lowered = text.strip().lower()
    if lowered == "default":
        return "default"
    if lowered in ("none", "off", "false"):
        return None
    options = _json_value(text, "--augmentation")
    if not isinstance(options, dict):
        raise ValueError(f'--augmentation must be "default", "none" or a JSON object of options, got {text!r}.')
    return options


def parse_stages(text: str) -> str | list:
    """`--stages`: `default`, a JSON list (or object) of stages, or a JSON/YAML file holding one.

    Args:
        text: the option value.

    Returns:
        `"default"` or a list of stage dicts.

    Raises:
        ValueError: not one of these.

    Example:
        >>> parse_stages('[{"name": "head", "epochs": 2}]')
        [{'name': 'head', 'epochs': 2}]
    """
    if text.strip().lower() == "default":
        return "default"
    path = Path(text).expanduser()
    if path.suffix.lower() in (".yaml", ".yml") and path.is_file():
        import yaml

        stages = yaml.safe_load(path.read_text(encoding="utf-8"))
    else:
        stages = _json_value(text, "--stages")
    if isinstance(stages, dict):
        stages = [stages]
    if not isinstance(stages, list) or not all(isinstance(stage, dict) for stage in stages):
        raise ValueError(f"--stages must be a JSON list of stage objects (or a file holding one), got {text!r}.")
    return stages


def parse_class_weight(text: str) -> str | dict[int, float] | None:
    """`--class-weight`: `balanced`, `none` or a JSON object `{"class index": weight}`.

    Args:
        text: the option value.

    Returns:
        `"balanced"`, None or `{index: weight}`.

    Raises:
        ValueError: not one of these.

    Example:
        >>> parse_class_weight('{"0": 1, "1": 3.5}')
        {0: 1.0, 1: 3.5}
    """
    lowered = text.strip().lower()
    if lowered == "balanced":
        return "balanced"
    if lowered == "none":
        return None
    weights = _json_value(text, "--class-weight")
    if not isinstance(weights, dict):
        raise ValueError(f'--class-weight must be "balanced", "none" or a JSON object, got {text!r}.')
    try:
        return {int(key): float(value) for key, value in weights.items()}
    except (TypeError, ValueError):
        raise ValueError(f'--class-weight keys must be class indices and values numbers, e.g. {{"0": 1, "1": 3}}; '
                         f"got {text!r}.") from None


def parse_list(text: str) -> list[str]:
    """A comma-separated option value as a list (spaces and empty items dropped).

    Args:
        text: e.g. `"linear_probe, scratch"`.

    Returns:
        The items.

    Example:
        >>> parse_list("float32, int8")
        ['float32', 'int8']
    """
    return [item.strip() for item in text.split(",") if item.strip()]


def _json_value(text: str, option: str) -> Any:
    """A JSON value given inline or as the path of a .json file."""
    path = Path(text).expanduser()
    if path.suffix.lower() == ".json" and path.is_file():
        text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{option} is not valid JSON ({error.msg}): {text!r}.") from None


def _fraction(value: float) -> float:
    if not 0 <= value < 1:
        raise ValueError(f"--validation-split must be in [0, 1), got {value}.")
    return value


def _positive_int(option: str):
    def check(value: int) -> int:
        if int(value) < 1:
            raise ValueError(f"{option} must be at least 1, got {value}.")
        return int(value)

    return check


def _existing_file(path: str, option: str) -> str:
    if not Path(path).exists():
        raise FileNotFoundError(f"{option} {path} does not exist: give imagenet, none or a weights file.")
    return path


# --------------------------------------------------------------------------- output helpers


def write_json(path: Path, value: Any) -> Path:
    """Writes `value` as indented JSON (numpy scalars and arrays converted; NaN becomes null).

    Args:
        path: the file (folders are created).
        value: a JSON-able value, possibly holding numpy values.

    Returns:
        The path.

    Example:
        >>> write_json(Path("metrics.json"), {"accuracy": np.float32(0.9)})
        PosixPath('metrics.json')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_jsonable(value), indent=2), encoding="utf-8")
    return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def progress(items: Iterable, total: int, description: str, unit: str = "it", quiet: bool = False) -> Iterator:
    """Iterates `items` with a tqdm progress bar on stderr (none when quiet).

    Args:
        items: what to iterate.
        total: how many items there are.
        description: the bar's label.
        unit: the unit shown.
        quiet: no bar.

    Returns:
        An iterator over `items`.

    Example:
        >>> for batch in progress(dataset, total=10, description="Evaluating"):
        ...     pass
    """
    from tqdm import tqdm

    return iter(tqdm(items, total=total, desc=description, unit=unit, disable=quiet, file=sys.stderr,
                     leave=False, dynamic_ncols=True))


def progress_bar(total: int, description: str, unit: str = "it", quiet: bool = False):
    """A tqdm bar to `update()` by hand, on stderr (disabled when quiet); use it as a context manager.

    Args:
        total: the total count.
        description: the bar's label.
        unit: the unit shown.
        quiet: no bar.

    Returns:
        The tqdm bar.

    Example:
        >>> with progress_bar(100, "Predicting", unit="image") as bar:
        ...     bar.update(64)
    """
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit=unit, disable=quiet, file=sys.stderr, leave=False,
                dynamic_ncols=True)


def _status(message: str, quiet: bool) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


if __name__ == "__main__":
    sys.exit(main())
