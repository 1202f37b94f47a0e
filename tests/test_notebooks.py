"""The notebooks run top to bottom (smoke settings, offline) and are stored clean: valid, no outputs.

Each notebook executes in a fresh kernel that runs this interpreter (`sys.executable`), through a kernelspec
written to a temporary JUPYTER_PATH, with `KERAS_TRANSFER_NOTEBOOK_SMOKE=1`. A failing cell fails the test with
the cell's source and traceback.
"""

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = [
    "01_quickstart.ipynb",
    "02_fine_tuning_strategies.ipynb",
    "03_export_and_serving.ipynb",
    "04_imagedatagenerator_migration.ipynb",
    "05_text_classification.ipynb",
    "06_few_shot.ipynb",
]
KERNEL_NAME = "keras-transfer-test"
CELL_TIMEOUT = 300  # seconds, per cell
SMOKE_VARIABLE = "KERAS_TRANSFER_NOTEBOOK_SMOKE"


@pytest.fixture(scope="session")
def jupyter_path(tmp_path_factory):
    """A folder holding a kernelspec that starts an IPython kernel with this test run's Python."""
    root = tmp_path_factory.mktemp("jupyter")
    spec_dir = root / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "keras_transfer tests",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return root


def test_every_notebook_is_listed():
    assert sorted(path.name for path in NOTEBOOK_DIR.glob("*.ipynb")) == sorted(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_valid_explained_and_stored_without_outputs(name):
    notebook = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    nbformat.validate(notebook)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds[0] == "markdown" and notebook.cells[0].source.startswith("# "), "start with a title"
    assert kinds.count("markdown") >= 4 and kinds.count("code") >= 4
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"outputs left in:\n{cell.source[:200]}"
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert SMOKE_VARIABLE in "".join(cell.source for cell in notebook.cells)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom_with_smoke_settings(name, jupyter_path, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))
    monkeypatch.setenv(SMOKE_VARIABLE, "1")
    monkeypatch.setenv("KERAS_TRANSFER_NOTEBOOK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    client = NotebookClient(notebook, kernel_name=KERNEL_NAME, timeout=CELL_TIMEOUT, allow_errors=False,
                            resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail(f"{name} failed in a cell:\n{error}", pytrace=False)
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.outputs if output.output_type == "error"]
    assert not errors
    work = tmp_path / "work" / name.removesuffix(".ipynb")
    assert work.is_dir() and any(work.iterdir()), "the notebook writes its files under KERAS_TRANSFER_NOTEBOOK_DIR"
    assert not list(tmp_path.glob("*.keras")), "no stray files in the working directory"
