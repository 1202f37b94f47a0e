"""`keras-transfer search DATA --directory DIR`: hyper-parameter search over the recipe, within a time budget.

Writes into `DIR/recipe/`: KerasTuner's project (a second call with the same folder resumes it), `best_config.json`
(rerun with `keras-transfer fit --config DIR/recipe/best_config.json --output-dir RUN`), `best_trial.json`,
`results.csv` and `search.png`.
"""

from __future__ import annotations

import argparse

from keras_transfer.cli.options import data_argument, declare_options, json_value, parse_image_size, parse_weights
from keras_transfer.cli.output import status

HELP = "search the recipe's hyper-parameters (KerasTuner: hyperband, bayesian or random) within a time budget"
DESCRIPTION = ("Each trial is one build_and_fit config: learning rates per stage, blocks to unfreeze, a last stage on "
               "every block, dropout, label smoothing and augmentation by default (--space changes it); the first "
               "trial is the default recipe; trials with the same backbone and size "
               "share one feature extraction; the budget is checked before each trial and the best config so far "
               "is written after each. Prints the best trial and the results table.")
RESULTS_FILE = "results.csv"
PLOT_FILE = "search.png"

OPTIONS = (
    (("data",), dict(metavar="DATA", help="labelled images: a folder with a sub-folder per class, a CSV or "
                                          "tfds:NAME")),
    (("--directory", "-d"), dict(required=True, metavar="DIR", help="the search's folder (resumed when it exists)")),
    (("--backbone",), dict(default="mobilenet", help="registry name of the backbone (default %(default)s)")),
    (("--weights",), dict(default="imagenet", help="imagenet, none or a weights file (default %(default)s)")),
    (("--image-size",), dict(metavar="SIZE", help="input size (default: the backbone's)")),
    (("--epochs",), dict(type=int, default=5, metavar="N", help="the most epochs per stage (Hyperband's largest "
                                                                 "budget; default %(default)s)")),
    (("--tuner",), dict(choices=("hyperband", "bayesian", "random"), default="hyperband",
                        help="the KerasTuner oracle (default %(default)s)")),
    (("--max-trials",), dict(type=int, metavar="N", help="the most trials (needed by bayesian and random)")),
    (("--budget",), dict(type=float, metavar="SECONDS", help="wall seconds the search may spend")),
    (("--space",), dict(metavar="JSON", help='changes to the default space, e.g. \'{"dropout": [0.0, 0.3], '
                                             '"head_learning_rate": {"low": 1e-4, "high": 1e-2}, "augmentation": '
                                             'null}\' (lists are choices, {"low","high"} ranges, null not searched)')),
    (("--objective",), dict(default="val_accuracy", help="the validation metric (default %(default)s)")),
    (("--overwrite",), dict(action="store_true", help="start afresh instead of resuming the folder")),
    (("--seed",), dict(type=int, default=0, help="seeds the split, the weights and the oracle")),
    (("--quiet", "-q"), dict(action="store_true", help="print only the summary")),
)

add_arguments = declare_options(OPTIONS)


def run(args: argparse.Namespace) -> int:
    """`keras-transfer search`: runs (or resumes) the search, prints the best trial, writes the table and plot.

    Args:
        args: the parsed `search` namespace.

    Returns:
        0.

    Example:
        >>> run(build_parser().parse_args(["search", "photos/", "-d", "searches/photos", "--budget", "600"]))
        0
    """
    from keras_transfer.tuning import search

    options = {"image_size": parse_image_size(args.image_size)} if args.image_size else {}
    space = json_value(args.space, "--space") if args.space else None
    if space is not None and not isinstance(space, dict):
        raise ValueError(f"--space must be a JSON object of parameter names, got {args.space!r}.")
    result = search(data_argument(args.data), space, budget_s=args.budget, max_trials=args.max_trials,
                    tuner=args.tuner, directory=args.directory, objective=args.objective, overwrite=args.overwrite,
                    verbose=0 if args.quiet else 1, backbone=args.backbone, weights=parse_weights(args.weights),
                    epochs=args.epochs, seed=args.seed, **options)
    result.table.to_csv(result.project_dir / RESULTS_FILE, index=False)
    result.plot(result.project_dir / PLOT_FILE)
    print(result.summary())
    status(f"results: {result.project_dir / RESULTS_FILE}, plot: {result.project_dir / PLOT_FILE}", args.quiet)
    if result.best_config_path is not None:
        status(f"rerun the best: keras-transfer fit --config {result.best_config_path} --output-dir RUN", args.quiet)
    return 0
