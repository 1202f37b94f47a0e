"""`keras-transfer search`: flags become search() arguments; the table, plot and rerun line are written."""

import pandas as pd

from keras_transfer.cli.main import main
from keras_transfer.tuning import SearchResult


def test_search_command_passes_its_options_and_writes_the_table_and_plot(tmp_path, monkeypatch, capsys):
    import keras_transfer.tuning

    project = tmp_path / "searches" / "recipe"
    project.mkdir(parents=True)
    calls = []

    def fake_search(data, space, **options):
        calls.append((data, space, options))
        table = pd.DataFrame({"trial_id": ["0", "1"], "score": [0.9, 0.7], "seconds": [3.0, 2.0],
                              "started_s": [0.0, 3.0]})
        return SearchResult(best_config=None, best_config_path=project / "best_config.json", best_score=0.9,
                            best_trial={"trial_id": "0", "values": {"dropout": 0.3}}, objective="val_accuracy",
                            table=table, stopped="budget", trials_run=["0", "1"], project_dir=project)

    monkeypatch.setattr(keras_transfer.tuning, "search", fake_search)
    code = main(["search", str(tmp_path / "photos"), "-d", str(tmp_path / "searches"), "--backbone", "mobilenet",
                 "--weights", "none", "--image-size", "48", "--tuner", "random", "--max-trials", "2", "--budget",
                 "600", "--space", '{"dropout": [0.0, 0.3], "head_learning_rate": {"low": 1e-4, "high": 1e-2}}'])
    assert code == 0
    data, space, options = calls[0]
    assert data == str(tmp_path / "photos")
    assert space == {"dropout": [0.0, 0.3], "head_learning_rate": {"low": 1e-4, "high": 1e-2}}
    assert (options["tuner"], options["max_trials"], options["budget_s"], options["weights"],
            options["image_size"]) == ("random", 2, 600.0, None, 48)
    assert pd.read_csv(project / "results.csv")["score"].tolist() == [0.9, 0.7]
    assert (project / "search.png").stat().st_size > 0
    out = capsys.readouterr()
    assert "best val_accuracy 0.9000 (trial 0): dropout=0.3" in out.out
    assert "keras-transfer fit --config" in out.err


def test_search_command_refuses_a_space_that_is_not_an_object(tmp_path, capsys):
    assert main(["search", str(tmp_path), "-d", str(tmp_path / "s"), "--space", "[1, 2]"]) == 2
    assert "--space must be a JSON object" in capsys.readouterr().err
