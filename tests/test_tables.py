"""Tables fit: through a pipe every column is whole; in a narrow terminal the least important
columns fold, then go, and the names stay. The training ETA does not wrap at 24 hours."""

from __future__ import annotations

import io

import pytest
from kit import invoke
from rich.console import Console
from rich.table import Table

import zoo.cli.common as common
from zoo.pretrained import pretrained_names


def _cli(*argv) -> str:
    result = invoke(*argv)  # stdout is not a terminal here, as in a pipe
    assert result.exit_code == 0, result.output
    return result.output


def test_weights_through_a_pipe_keeps_every_column_whole():
    text = _cli("weights")
    assert "…" not in text
    header = next(line for line in text.splitlines() if "Model" in line)
    for column in ("Model", "Test acc", "Top-5", "Size", "Trained", "Recipe"):
        assert column in header
    assert "--recipe fashion_mnist" in text and " MB " in text


def test_models_and_datasets_through_a_pipe_clip_nothing():
    models = _cli("models")
    assert "…" not in models and "googlenet_small" in models and "FLOPs" in models
    datasets = _cli("datasets")
    assert "…" not in datasets and "Found at / how to get it" in datasets


def test_pipe_width_ignores_a_narrow_columns_setting():
    table = Table()
    for name in ("Model", "Test accuracy", "Top-5 accuracy", "Size on disk", "Training time"):
        table.add_column(name, no_wrap=True)
    table.add_row("googlenet_small", "92.53%", "99.94%", "6.7 MB", "60 min")
    buffer = io.StringIO()
    common.print_table(table, out=Console(file=buffer, width=40))  # COLUMNS=40, not a terminal
    text = buffer.getvalue()
    assert "…" not in text and "Test accuracy" in text and "Training time" in text and "googlenet_small" in text


def _narrow(width: int, *argv) -> str:
    out = io.StringIO()
    narrow = Console(file=out, width=width, force_terminal=True, color_system=None)
    import zoo.cli.weights as weights_cli

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(common, "console", narrow)
        mp.setattr(weights_cli, "console", narrow)
        result = invoke(*argv)
    assert result.exit_code == 0, result.output
    return out.getvalue()


@pytest.mark.parametrize("width", [72, 60, 45])
def test_narrow_terminal_keeps_the_important_columns(width):
    text = _narrow(width, "weights")
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines), text
    assert "…" not in text
    header = next(line for line in lines if "Model" in line)
    assert "Test acc" in header  # the most important columns stay
    for name in pretrained_names():  # every shipped model's name
        assert name in text
    if width <= 60:
        assert "Top-5" not in header and "Not shown in" in text and "--json" in text  # said, not silently cut
    if width == 72:
        assert "Recipe" in header and "fashion_mnist" in text  # folded onto a second line, not dropped


def test_fold_before_drop_in_rich_terms():
    table = Table()
    table.add_column("Name", no_wrap=True)
    table.add_column("Score", justify="right", no_wrap=True)
    table.add_column("Notes", no_wrap=True)
    table.add_row("a-long-model-name", "99.1%", "trained with the long recipe")
    out = io.StringIO()
    common.print_table(table, drop=("Notes",), out=Console(file=out, width=48, force_terminal=True,
                                                             color_system=None))
    text = out.getvalue()
    assert "Notes" in text and "recipe" in text and "Not shown" not in text  # folded, kept
    assert all(len(line) <= 48 for line in text.splitlines())


@pytest.mark.parametrize("seconds, text", [
    (0, "00:00:00"), (59.4, "00:00:59"), (3723, "01:02:03"), (86399, "23:59:59"),
    (86400, "1d 00:00:00"), (93784, "1d 02:03:04"), (10 * 86400 + 5, "10d 00:00:05"),
    (None, "-:--:--"), (float("inf"), "-:--:--"), (float("nan"), "-:--:--"),
])
def test_eta_does_not_wrap_at_24_hours(seconds, text):
    from zoo.training.callbacks import format_duration

    assert format_duration(seconds) == text
