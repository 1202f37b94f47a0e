"""The fit flags are generated from FitConfig: every option has a flag or a stated reason for none."""

import pytest

from keras_transfer import FitConfig
from keras_transfer.cli.fit_options import KINDS, command_line_options, config_arguments, flag, library_only_options
from keras_transfer.cli.main import build_parser


def test_every_config_option_is_a_fit_flag_or_library_only_with_a_reason():
    flags = command_line_options()
    library_only = library_only_options()
    assert set(flags) | set(library_only) == set(FitConfig.option_names())
    assert not set(flags) & set(library_only)
    assert set(library_only) == {"output_dir", "resume", "verbose", "strategy", "callbacks"}
    assert all(len(why) > 20 for why in library_only.values())
    assert set(flags.values()) <= set(KINDS)
    fit_parser = build_parser()._subparsers._group_actions[0].choices["fit"]
    spelled = {option for action in fit_parser._actions for option in action.option_strings}
    assert {flag(name) for name in flags if name != "data"} <= spelled


def test_each_kind_reads_its_values_and_names_the_flag_when_it_cannot():
    args = build_parser().parse_args([
        "fit", "-o", "out", "--feature-views", "2", "--no-feature-cache", "--cache", "none", "--head-init", "none",
        "--mixed-precision", "mixed_bfloat16", "--jit-compile", "auto", "--method", "linear_probe",
        "--method-options", '{"regularization": 0.5}', "--class-names", "a,b", "--max-pixels", "1000",
        "--strict", "--hidden-units", "64", "--steps-per-execution", "4",
    ])
    assert config_arguments(args) == {
        "feature_views": 2, "feature_cache": False, "cache": None, "head_init": None,
        "mixed_precision": "mixed_bfloat16", "jit_compile": "auto", "method": "linear_probe",
        "method_options": {"regularization": 0.5}, "class_names": ["a", "b"], "max_pixels": 1000, "strict": True,
        "hidden_units": 64, "steps_per_execution": 4,
    }
    for option, value, message in [("--epochs", "x", "--epochs must be a whole number"),
                                   ("--epochs", "0", "--epochs must be at least 1"),
                                   ("--feature-views", "-1", "--feature-views must be 0 or more"),
                                   ("--jit-compile", "maybe", "--jit-compile must be one of"),
                                   ("--method-options", "[1]", "--method-options must be a JSON object")]:
        with pytest.raises(ValueError, match=message):
            config_arguments(build_parser().parse_args(["fit", "-o", "out", option, value]))


def test_candidates_read_name_weights_pairs_and_truncated_backbones_with_their_weights():
    args = build_parser().parse_args(["fit", "-o", "out", "--candidates",
                                      "mobilenet:imagenet,vgg16:none,mobilenet:block9:imagenet,resnet50"])
    assert config_arguments(args)["candidates"] == [["mobilenet", "imagenet"], ["vgg16", None],
                                                    ["mobilenet:block9", "imagenet"], ["resnet50", "imagenet"]]
    with pytest.raises(ValueError, match="NAME:BLOCK:WEIGHTS"):
        config_arguments(build_parser().parse_args(["fit", "-o", "out", "--candidates", "a:b:c:d"]))
