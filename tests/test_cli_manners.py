"""The CLI's own manners: --version, defaults visible in --help, a readable zoo info."""

from typer.testing import CliRunner

import zoo
from zoo.cli.main import app


def test_version_prints_the_package_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"zoo {zoo.__version__}"


def test_help_shows_every_default_that_the_text_names():
    result = CliRunner().invoke(app, ["train", "--help"], terminal_width=100)
    assert result.exit_code == 0
    for text in ("[default: the model's]", "[default: 128]", "[default: runs/MODEL-DATASET]", "--recipe"):
        assert text in result.output, text


def test_info_says_how_flops_are_counted():
    result = CliRunner().invoke(app, ["info", "simplenet", "--no-summary"], terminal_width=80)
    assert result.exit_code == 0 and "2 FLOPs per multiply-add" in result.output


def test_info_summary_fits_80_columns_with_its_param_column(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["info", "resnet20"], terminal_width=80)
    assert result.exit_code == 0 and "Param #" in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
