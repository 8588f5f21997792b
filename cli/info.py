"""`zoo info`: one model (paper, layers, params, FLOPs) or one run directory (what it is, how far it got)."""

from __future__ import annotations

import os
from typing import Optional

import typer

from zoo.cli.common import complete_model_names, console, friendly_errors, parse_input_shape


def register(app: typer.Typer) -> None:
    app.command("info")(info_command)


@friendly_errors
def info_command(
    model: str = typer.Argument(..., help="Model name (see `zoo models`).", autocompletion=complete_model_names),
    input_shape: Optional[str] = typer.Option(None, "--input-shape", help="H,W,C (C = 1 or 3); default: the model's own."),
    classes: Optional[int] = typer.Option(None, "--classes", min=1, help="Number of classes; default: the model's own."),
    summary: bool = typer.Option(True, "--summary/--no-summary", help="Print the layer-by-layer summary."),
) -> None:
    """One model: paper, layers, trainable and non-trainable params, FLOPs per image; or one run directory."""
    from zoo.errors import InvalidArgumentError

    if os.path.isdir(model):
        return _run_info(model)

    try:
        shape = parse_input_shape(input_shape)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"Bad --input-shape {input_shape!r}: {exc}") from None

    from zoo.catalog import model_info

    info = model_info(model, input_shape=shape, num_classes=classes)
    name, spec, counts = info["name"], info["row"], info["counts"]
    if summary:
        console.print("\n".join(info["summary"]), highlight=False, markup=False)
    shape, n_classes = tuple(counts["input_shape"]), counts["num_classes"]
    trainable, non_trainable, flops = counts["trainable_params"], counts["non_trainable_params"], counts["flops"]
    default_shape = tuple(spec["input_shape"])

    from rich.table import Table

    table = Table(show_header=False, box=None, title=f"[bold]{name}[/]", title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("Family", spec["family"])
    table.add_row("Paper", spec["paper"])
    table.add_row("About", spec["description"])
    table.add_row("Input", "x".join(map(str, shape)) + (" (default)" if shape == default_shape else f" (default {'x'.join(map(str, default_shape))})"))
    table.add_row("Classes", f"{n_classes}" + (" (default)" if n_classes == spec["num_classes"] else f" (default {spec['num_classes']})"))
    table.add_row("Trainable params", f"{trainable:,}")
    table.add_row("Non-trainable params", f"{non_trainable:,}")
    table.add_row("FLOPs / image", f"{flops:,} ({_short(flops)}; 2 FLOPs per multiply-add)")
    table.add_row("Grad-CAM layer", spec["last_conv"])
    table.add_row("Small-input variant", "yes" if spec["small_input"] else "no (ImageNet-shaped)")
    table.add_row("Weights shipped", "yes" if info["weights_shipped"] else "no")
    table.add_row("Keras backend", _backend())
    console.print(table)


def _backend() -> str:
    from zoo.backend import configured

    return f"{configured()} (set KERAS_BACKEND=tensorflow, jax or torch to choose)"


def _short(n: int) -> str:
    from zoo.catalog import human

    return human(n)


def _run_info(path: str) -> None:
    """`zoo info RUN`: what the run is (model, data, precision it trained in, state, accuracy)."""
    from rich.markup import escape
    from rich.table import Table

    from zoo.errors import DataError
    from zoo.rundir import CONFIG_FILE
    from zoo.runs import summarize_run

    r = summarize_run(path)
    if r is None:
        raise DataError(f"{path} is a folder but not a zoo run (no readable {CONFIG_FILE}); pass a model name "
                        "(`zoo models`) or a run directory.")
    table = Table(show_header=False, box=None, title=f"[bold]{escape(path)}[/]", title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("Model", escape(r.model))
    table.add_row("Dataset", escape(r.dataset))
    table.add_row("Precision", escape(r.precision or "unknown (an older run)"))
    table.add_row("Epochs", f"{r.epochs_done}/{r.epochs_planned if r.epochs_planned is not None else '?'}")
    table.add_row("State", r.state)
    table.add_row("Keras backend", _backend())
    if r.best_val_accuracy is not None:
        table.add_row("Best val accuracy", f"{r.best_val_accuracy:.2%}")
    if r.test_accuracy is not None:
        table.add_row("Test accuracy", f"{r.test_accuracy:.2%}")
    if r.learned_nothing:
        table.add_row("[red]Warning[/]", escape(r.learned_nothing))
    console.print(table)
    console.print(f"[dim]The architecture: zoo info {escape(r.model)}[/]", highlight=False)
