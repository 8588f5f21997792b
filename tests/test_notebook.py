"""docs/notebooks/lab.ipynb runs top to bottom in a real Jupyter kernel (this venv's Python), no cell failing."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from kit import ROOT

NOTEBOOK = ROOT / "docs" / "notebooks" / "lab.ipynb"
KERNEL = "zoo-test-python"


def _kernelspec(root: Path) -> None:
    """A kernelspec for this interpreter, found through JUPYTER_PATH (no user-wide registration)."""
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "zoo tests", "language": "python",
        "env": {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore::DeprecationWarning"},
    }))


def test_notebook_outputs_are_stripped_in_git():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.slow
def test_lab_notebook_runs_in_a_real_kernel(tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    _kernelspec(tmp_path / "jupyter")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name=KERNEL, allow_errors=False,
                                     resources={"metadata": {"path": str(work)}})
    client.execute()  # raises CellExecutionError (with the cell and its traceback) on any failing cell
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = sum("image/png" in o.get("data", {}) for o in outputs)
    assert figures >= 5, f"expected the lab's figures inline, got {figures}"
    text = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "look scaled to [0, 1]" in text and "epoch   1/" in text
    assert (work / "exports" / "tops.tflite").is_file() and (work / "runs" / "lab-lenet5" / "model.keras").is_file()
    if os.environ.get("ZOO_SAVE_EXECUTED_NOTEBOOK"):  # docs: keep the executed copy to take figures from
        nbformat.write(nb, os.environ["ZOO_SAVE_EXECUTED_NOTEBOOK"])
