"""`keras-transfer distill`: registered, refuses a missing teacher in one line, prints the comparison table."""

from keras_transfer.cli.distill import comparison_table
from keras_transfer.cli.main import SUBCOMMANDS, main


def test_distill_is_a_subcommand_and_a_missing_teacher_is_a_one_line_error(tmp_path, capsys):
    assert "distill" in SUBCOMMANDS
    (tmp_path / "data" / "a").mkdir(parents=True)
    code = main(["distill", str(tmp_path / "no_teacher"), str(tmp_path / "data"), "-o", str(tmp_path / "run"),
                 "--quiet"])
    assert code == 2
    error = capsys.readouterr().err
    assert "error: No teacher at" in error and "Traceback" not in error


def test_the_comparison_table_shows_teacher_student_and_ratios():
    table = comparison_table({
        "teacher": {"accuracy": 0.9, "parameters": 3_200_000, "latency_ms_batch_1": 10.0,
                    "latency_ms_batch_32": 100.0, "tflite_bytes": 12_800_000},
        "student": {"accuracy": 0.85, "parameters": 950_000, "latency_ms_batch_1": 3.0, "latency_ms_batch_32": 30.0,
                    "tflite_bytes": 3_800_000},
        "ratios": {"latency_batch_1": 0.3, "latency_batch_32": 0.3}})
    lines = table.splitlines()
    assert lines[1].split()[:3] == ["teacher", "0.9", "3.2e+06"]
    assert lines[2].split()[:2] == ["student", "0.85"]
    assert lines[3] == "student / teacher: latency_batch_1 0.30x, latency_batch_32 0.30x"
