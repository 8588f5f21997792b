"""The ``zoo`` command. Each module in COMMAND_MODULES adds its commands via ``register(app)``.

Command modules import only typer and rich at the top; TensorFlow is imported inside the
commands, so ``zoo --help`` and shell completion stay fast.
"""

from __future__ import annotations

import importlib

import typer

from zoo.cli.common import quiet_tensorflow

COMMAND_MODULES = (  # each module is named after its command (`data` holds the `zoo data ...` group)
    "zoo.cli.models",
    "zoo.cli.info",
    "zoo.cli.train",
    "zoo.cli.eval",
    "zoo.cli.attack",
    "zoo.cli.ensemble",
    "zoo.cli.features",
    "zoo.cli.datasets",
    "zoo.cli.data",
    "zoo.cli.explain",
    "zoo.cli.weights",
    "zoo.cli.predict",
    "zoo.cli.runs",
    "zoo.cli.export",
)

app = typer.Typer(
    name="zoo",
    help="A Keras model zoo for computer vision: train, eval, explain, attack.",
    no_args_is_help=True,
    invoke_without_command=True,  # so `zoo --version` runs without a command
    pretty_exceptions_enable=False,
    add_completion=True,
    # Help text is plain: rich markup would swallow "[default: the model's]" as a tag.
    rich_markup_mode=None,
)


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
) -> None:
    if version:
        from zoo import __version__

        typer.echo(f"zoo {__version__}")
        raise typer.Exit()
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit()
    from zoo.backend import check_configured
    from zoo.errors import ZooError

    try:
        check_configured()
    except ZooError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None


quiet_tensorflow()
for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def main() -> None:
    quiet_tensorflow()
    app()


if __name__ == "__main__":
    main()
