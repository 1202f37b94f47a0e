"""`keras-transfer demo`: the demo's own options, passed to `run_demo` without a second parser."""

import sys

from keras_transfer.cli.main import build_parser, main


class _FakeResult:
    def table(self):
        return "TABLE"


def test_demo_passes_its_options_to_run_demo(monkeypatch, assert_user_error, capsys):
    parsed = build_parser().parse_args(["demo", "--seeds", "2", "--smoke", "--out", "x", "--labels-per-class", "5"])
    assert (parsed.seeds, parsed.smoke, parsed.output_dir, parsed.labels_per_class) == ([0, 1], True, "x", 5)
    calls = []
    monkeypatch.setattr("keras_transfer.demo.transfer_demo.run_demo",
                        lambda **arguments: calls.append(arguments) or _FakeResult())
    assert main(["demo", "--seeds", "2", "--smoke"]) == 0
    assert main(["demo", "--quiet", "--no-export"]) == 0
    assert capsys.readouterr().out.strip() == "TABLE"
    assert [(call["seeds"], call["smoke"], call["export"], call["verbose"]) for call in calls] == [
        ([0, 1], True, True, 1), ([0], None, False, 0)]
    assert_user_error(main(["demo", "--seeds", "0"]), capsys, "--seeds needs at least one seed")
    assert len(calls) == 2


def test_demo_missing_is_a_user_error(monkeypatch, assert_user_error, capsys):
    monkeypatch.setitem(sys.modules, "keras_transfer.demo.transfer_demo", None)
    assert_user_error(main(["demo", "--smoke"]), capsys, "The demo is not available")
