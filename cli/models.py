"""`zoo models` (the registry as a table) and `zoo info MODEL` (one model in detail)."""

from __future__ import annotations

from typing import Optional

import typer

from zoo.cli.common import console, err_console, friendly_errors, parse_input_shape


def register(app: typer.Typer) -> None:
    app.command("models")(models_command)
    app.command("info")(info_command)


@friendly_errors
def models_command(
    pattern: Optional[str] = typer.Argument(None, help="Only models whose name or family matches (glob or substring), e.g. 'resnet*' or small."),
    markdown: bool = typer.Option(False, "--markdown", help="Print a markdown table (the one in docs/models.md)."),
) -> None:
    """List the models: family, default input, params, forward FLOPs per image, shipped weights."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from zoo.errors import UnknownNameError, close_matches_hint
    from zoo.flops import catalog_order, human, markdown_table, model_stats
    from zoo.registry import list_models

    specs = sorted(list_models(pattern), key=catalog_order)
    if not specs:
        names = [s.name for s in list_models()]
        raise UnknownNameError(f"No model matches {pattern!r}." + close_matches_hint(pattern, names))

    rows = []
    # Counting builds each model's graph (weights are not allocated): about a second for all.
    with Progress(
        TextColumn("Counting params and FLOPs"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
        console=err_console, transient=True,
    ) as progress:
        task = progress.add_task("", total=len(specs))
        for spec in specs:
            progress.update(task, description=spec.name)
            rows.append((spec, model_stats(spec.name)))
            progress.advance(task)

    if markdown:
        typer.echo(markdown_table(rows), nl=False)
        return

    from rich.table import Table

    table = Table(title=f"Models ({len(rows)})", caption="FLOPs: one forward pass of one image (multiply-add = 2).")
    table.add_column("Model", style="bold", no_wrap=True)
    table.add_column("Family", no_wrap=True)
    table.add_column("Input", no_wrap=True)
    table.add_column("Params", justify="right", no_wrap=True)
    table.add_column("FLOPs", justify="right", no_wrap=True)
    table.add_column("Weights", no_wrap=True)
    for spec, stats in rows:
        table.add_row(
            spec.name,
            spec.family,
            "x".join(map(str, spec.input_shape)),
            f"{stats.trainable_params:,}",
            human(stats.flops),
            "[green]shipped[/]" if spec.weights_shipped else "-",
        )
    console.print(table)
    console.print("[dim]Details: zoo info MODEL [--input-shape H,W,C] [--classes N][/]")


@friendly_errors
def info_command(
    model: str = typer.Argument(..., help="Model name (see `zoo models`)."),
    input_shape: Optional[str] = typer.Option(None, "--input-shape", help="H,W,C (C = 1 or 3); default: the model's own."),
    classes: Optional[int] = typer.Option(None, "--classes", min=1, help="Number of classes; default: the model's own."),
    summary: bool = typer.Option(True, "--summary/--no-summary", help="Print the layer-by-layer summary."),
) -> None:
    """One model: paper, layers, trainable and non-trainable params, FLOPs per image."""
    from zoo.errors import InvalidArgumentError

    try:
        shape = parse_input_shape(input_shape)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"Bad --input-shape {input_shape!r}: {exc}") from None

    from zoo.flops import count_flops, count_params, weightless_model
    from zoo.registry import get_spec

    spec = get_spec(model)
    net = weightless_model(spec.name, input_shape=shape, num_classes=classes)
    shape = tuple(net.inputs[0].shape[1:])
    n_classes = int(net.outputs[0].shape[-1])
    if summary:
        lines: list[str] = []
        net.summary(print_fn=lambda line, **_: lines.append(line), line_length=100)
        console.print("\n".join(lines), highlight=False, markup=False)
    trainable, non_trainable = count_params(net)
    flops = count_flops(net)

    from rich.table import Table

    table = Table(show_header=False, box=None, title=f"[bold]{spec.name}[/]", title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("Family", spec.family)
    table.add_row("Paper", spec.paper)
    table.add_row("About", spec.description)
    table.add_row("Input", "x".join(map(str, shape)) + (" (default)" if shape == spec.input_shape else f" (default {'x'.join(map(str, spec.input_shape))})"))
    table.add_row("Classes", f"{n_classes}" + (" (default)" if n_classes == spec.num_classes else f" (default {spec.num_classes})"))
    table.add_row("Trainable params", f"{trainable:,}")
    table.add_row("Non-trainable params", f"{non_trainable:,}")
    table.add_row("FLOPs / image", f"{flops:,} ({_short(flops)})")
    table.add_row("Grad-CAM layer", spec.last_conv)
    table.add_row("Small-input variant", "yes" if spec.small_input else "no (ImageNet-shaped)")
    table.add_row("Weights shipped", "yes" if spec.weights_shipped else "no")
    console.print(table)


def _short(n: int) -> str:
    from zoo.flops import human

    return human(n)
