"""The package installs as a wheel that carries cli/ and weights/, and the CLI starts lazily."""

import os
import subprocess
import sys
import zipfile

import pytest
from kit import ROOT, run_python


@pytest.mark.slow
def test_wheel_carries_cli_and_weights(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )
    wheel = next(tmp_path.glob("zoo-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "zoo/cli/main.py" in names
    assert "zoo/weights/manifest.json" in names
    from zoo.registry import load_weights_manifest

    for entry in load_weights_manifest().values():  # every shipped file travels with the package
        assert f"zoo/weights/{entry['file']}" in names
    assert "zoo/catalog.json" in names  # what `zoo models` reads
    # every module of the source tree, subpackages included (a package missing from pyproject's list
    # would import in the checkout and fail once installed)
    sources = {f"zoo/{p.relative_to(ROOT / 'zoo').as_posix()}" for p in (ROOT / "zoo").rglob("*.py")}
    assert sources <= names, sorted(sources - names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "zoo = zoo.cli.main:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_cli_import_does_not_load_tensorflow():
    # `zoo --help` and shell completion must not pay for a TensorFlow import.
    code = "import sys, zoo.cli.main; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = run_python(code, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_cli_error_is_one_or_two_lines_without_tensorflow_noise():
    # TensorFlow prints start-up notices to fd 2 before absl logging is set up; the CLI mutes them
    # so a user's mistake reads as the error alone.
    out = subprocess.run(
        [sys.executable, "-m", "zoo.cli.main", "info", "resnet81"],
        capture_output=True, text=True, env={k: v for k, v in os.environ.items() if k != "ZOO_DEBUG"},
    )
    assert out.returncode == 2
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2, out.stderr
    assert "resnet81" in lines[0] and "resnet18" in out.stderr
    assert "Traceback" not in out.stderr
