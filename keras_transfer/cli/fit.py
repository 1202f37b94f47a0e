"""`keras-transfer fit DATA --output-dir RUN`: train with `build_and_fit`, save the config and metrics, export, report.

`keras-transfer fit --config RUN/config.json --output-dir RUN2` reruns a saved run; options given override it.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from keras_transfer.cli.fit_options import add_config_options, config_arguments
from keras_transfer.cli.options import existing_weights_file
from keras_transfer.cli.output import print_fit_summary, status
from keras_transfer.distributed.chief_only import is_chief
from keras_transfer.serialization import read_settings, write_json

# Keys a saved config holds for the record only (not `build_and_fit` arguments).
RECORD_ONLY_KEYS = ("keras_transfer_version", "multi_label")
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
REPORT_FILE = "report.html"
EXPORT_DIR = "export"
HELP = "train a classifier (staged fine-tuning), then export it and write a report"
DESCRIPTION = ("Train a classifier on DATA with build_and_fit(). Writes OUTPUT/config.json (rerun it with --config), "
               "OUTPUT/metrics.json, the servable export in OUTPUT/export and the HTML report OUTPUT/report.html. "
               "Options left out keep build_and_fit's defaults, or the config's values with --config.")


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Declares DATA and one flag per `FitConfig` option (generated), then the command's own flags.

    `fit_arguments` reads the options back as `build_and_fit` keyword arguments.

    Args:
        parser: the `fit` subcommand's parser.

    Returns:
        `parser`, with the options added.

    Example:
        >>> fit_arguments(add_arguments(argparse.ArgumentParser()).parse_args(["photos", "-o", "run"]))
        {'data': '/abs/path/photos'}
    """
    add_config_options(parser)
    parser.add_argument("--output-dir", "-o", required=True, metavar="OUTPUT",
                        help="where config.json, metrics.json, the export and the report go")
    parser.add_argument("--config", metavar="FILE", help="a config.json/.yaml saved by an earlier run: rerun it")
    parser.add_argument("--export", action=argparse.BooleanOptionalAction, default=True,
                        help="export the model to OUTPUT/export (default: yes)")
    parser.add_argument("--report", action=argparse.BooleanOptionalAction, default=True,
                        help="write OUTPUT/report.html (default: yes)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run from OUTPUT's checkpoints")
    parser.add_argument("--overwrite", action="store_true", help="replace the results of an earlier run in OUTPUT")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="train as N worker processes on this machine (MultiWorkerMirroredStrategy, TF_CONFIG "
                             "and free ports set for each), restarting them all with --resume if one fails")
    parser.add_argument("--max-restarts", type=int, default=2, metavar="N",
                        help="with --workers: how many times the job is restarted after a failure")
    return parser


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
    return config_arguments(args)


def run(args: argparse.Namespace) -> int:
    """`keras-transfer fit`: trains, then saves the config and metrics, exports and writes the report.

    Args:
        args: the parsed `fit` namespace.

    Returns:
        0, once config.json, metrics.json and (unless turned off) the export and report are written.

    Example:
        >>> run(build_parser().parse_args(["fit", "photos/", "-o", "runs/photos"]))
        0
    """
    from keras_transfer.recipes.build_and_fit import build_and_fit, build_and_fit_from_config

    output = Path(args.output_dir).expanduser().absolute()
    if args.workers:
        return run_workers(args, output)
    arguments = fit_arguments(args)
    if args.weights is not None and arguments["weights"] not in (None, "imagenet"):
        arguments["weights"] = existing_weights_file(arguments["weights"])
    check_output_dir(output, overwrite=args.overwrite, resume=args.resume)
    arguments.update(output_dir=str(output), verbose=0 if args.quiet else 1)
    if args.resume:
        arguments.update(resume_argument(build_and_fit))
    if args.config:
        config = config_for_rerun(read_settings(args.config, "config"), arguments, build_and_fit)
        result = build_and_fit_from_config(config, **arguments)
    else:
        if "data" not in arguments:
            raise ValueError("fit needs DATA (a folder, a CSV file or tfds:NAME) or --config FILE from an earlier run.")
        result = build_and_fit(**arguments)
    if not is_chief():  # a multi-worker run: the chief writes the results
        return 0
    written = {"config": result.save_config(output / CONFIG_FILE),
               "metrics": write_json(output / METRICS_FILE, run_summary(result))}
    if args.export:
        status(f"Exporting to {output / EXPORT_DIR} ...", args.quiet)
        result.export(output / EXPORT_DIR, report=False, overwrite=True)
        written["export"] = output / EXPORT_DIR
    if args.report:
        status(f"Writing the report to {output / REPORT_FILE} ...", args.quiet)
        written["report"] = result.report(output / REPORT_FILE)
    print_fit_summary(result, written, quiet=args.quiet)
    return 0


def run_workers(args: argparse.Namespace, output: Path) -> int:
    """`fit --workers N`: the same command as N local worker processes, supervised (see `distributed.launch`).

    Returns:
        0 when every worker of the last attempt finished; 1 otherwise (the workers' logs are in OUTPUT/logs).
    """
    from keras_transfer.distributed.launch import supervise

    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}.")
    check_output_dir(output, overwrite=args.overwrite, resume=args.resume)
    argv, skip = [], False
    for item in args.argv:  # the command line without --workers/--max-restarts
        if skip:
            skip = False
            continue
        if item in ("--workers", "--max-restarts"):
            skip = True
            continue
        if not item.startswith(("--workers=", "--max-restarts=")):
            argv.append(item)
    argv += ["--distribute", "multi_worker"]

    def command(index: int, attempt: int) -> list[str]:
        again = ["--resume"] if attempt and "--resume" not in argv else []
        return [sys.executable, "-m", "keras_transfer.cli", *argv, *again]

    outcome = supervise(command, args.workers, output / "logs", restarts=args.max_restarts)
    for line in outcome.failures:
        print(f"note: {line}", file=sys.stderr)
    status(f"{args.workers} workers, {outcome.attempts} attempt(s): exit statuses {outcome.returncodes}; logs in "
           f"{output / 'logs'}", args.quiet)
    return 0 if outcome.succeeded else 1


def check_output_dir(output: Path, overwrite: bool, resume: bool) -> None:
    """Refuses to train into a folder that holds an earlier run, unless told to replace or resume it.

    Checked before training, so a mistake costs nothing.

    Args:
        output: the output folder.
        overwrite: replace an earlier run's results.
        resume: continue the earlier run.

    Returns:
        None.

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


def resume_argument(build_and_fit: Callable[..., Any]) -> dict[str, bool]:
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


def config_for_rerun(config: dict[str, Any], overrides: dict[str, Any],
                     build_and_fit: Callable[..., Any]) -> dict[str, Any]:
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


def run_summary(result: Any) -> dict[str, Any]:
    """What `metrics.json` holds: validation metrics, baselines, the kept model, warnings, timings.

    Args:
        result: a `FitResult`.

    Returns:
        A dict for `keras_transfer.serialization.write_json`.

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
