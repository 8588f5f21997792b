"""`zoo train`: parse options, call zoo.training, print with rich."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Optional

import typer

from rich.markup import escape

from zoo.cli.common import complete_model_names, console, err_console, friendly_errors, parse_input_shape
from zoo.rundir import LOGS_DIR, MODEL_FILE
from zoo.training import config as C

# Every default of `zoo train` is TrainConfig's (zoo/training/config.py says why each is what it is).
D = C.defaults()


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)


def _install_sigterm() -> None:
    # SIGTERM (a killed job, a scheduler) behaves like Ctrl-C: the last finished epoch stays resumable.
    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. a test runner)
        pass


# Options that are not training settings, so a recipe neither sets them nor counts them as given.
_NOT_CONFIG = {"ctx", "resume", "overwrite", "quiet", "json_output", "recipe", "strict"}


@friendly_errors
def train_command(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Model name from `zoo models` (e.g. simplenet, lenet5, resnet20).",
                               autocompletion=complete_model_names),
    recipe: Optional[str] = typer.Option(
        None, "--recipe", help="Start from the model's training recipe (e.g. fashion_mnist: the shipped "
        "weights' settings, see `zoo weights`); options given on the command line override it."),
    dataset: str = typer.Option(D["dataset"], "--dataset", "-d",
                                help="fashion_mnist, mnist, tfds:NAME, folder:PATH or npz:PATH."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Where the dataset files are."),
    download: bool = typer.Option(D["download"], "--download", help="Allow downloading the dataset (TFDS)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", "-e", help="Epochs [default: the model's]."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", "-b", help="Batch size [default: 128]."),
    optimizer: Optional[str] = typer.Option(
        None, "--optimizer", help=", ".join(C.OPTIMIZERS) + " [default: the model's]."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Initial learning rate [default: the model's]."),
    momentum: float = typer.Option(D["momentum"], "--momentum", help="Momentum (momentum/nesterov) or rho (rmsprop)."),
    weight_decay: Optional[float] = typer.Option(
        None, "--weight-decay", help="L2 on kernels (decoupled for adamw) [default: the model's]."),
    dropout: Optional[float] = typer.Option(None, "--dropout", help="Override the model's dropout rate."),
    label_smoothing: float = typer.Option(D["label_smoothing"], "--label-smoothing", help="Label smoothing in [0, 1)."),
    ema: Optional[float] = typer.Option(D["ema"], "--ema", metavar="DECAY",
                                        help="Average the weights with this decay (0.999 is common); validation, the "
                                        f"best checkpoint, the test metrics and {MODEL_FILE} use the average."),
    mixup: float = typer.Option(D["mixup"], "--mixup", metavar="ALPHA", help="MixUp with Beta(ALPHA, ALPHA) "
                                "mixing weights (0: off; 0.2 is common). The training accuracy column then "
                                "counts the larger of the two mixed labels."),
    cutmix: float = typer.Option(D["cutmix"], "--cutmix", metavar="ALPHA", help="CutMix with Beta(ALPHA, ALPHA) "
                                 "box areas (0: off; 1.0 is common). With --mixup too, each batch uses one of them."),
    val_split: float = typer.Option(D["val_split"], "--val-split", help="Fraction of train held out for validation."),
    seed: int = typer.Option(D["seed"], "--seed", help="Seed for weights, shuffling, augmentation, dropout."),
    split_seed: Optional[int] = typer.Option(None, "--split-seed", metavar="SEED",
                                             help="Seed of the validation carve [default: --seed]. Keep it (0 for "
                                                  "the shipped weights) when a new --seed trains an ensemble member, "
                                                  "so --select scores every member on images none trained on."),
    deterministic: bool = typer.Option(D["deterministic"], "--deterministic", help="Deterministic ops (same seed -> same weights)."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use at most this many examples per split."),
    augment: str = typer.Option(D["augment"], "--augment", help="Preset (none, light, ...) or a list (flip,crop:4)."),
    input_shape: Optional[str] = typer.Option(None, "--input-shape", help="H,W,C [default: the model's H,W]."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run directory [default: runs/MODEL-DATASET]."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out (or skip it when finished)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out directory."),
    early_stopping: Optional[int] = typer.Option(
        None, "--early-stopping", metavar="PATIENCE", help="Stop after PATIENCE epochs without val_loss progress."),
    schedule: Optional[str] = typer.Option(
        None, "--schedule", help="LR decay: none, step, exponential, cosine, onecycle (linear warmup then linear decay to --min-lr), plateau [default: the model's]."),
    step_size: Optional[int] = typer.Option(None, "--step-size", help="step: epochs between decays [epochs/3]."),
    gamma: float = typer.Option(D["gamma"], "--gamma", help="step/plateau: LR multiplier at each decay."),
    decay_rate: float = typer.Option(D["decay_rate"], "--decay-rate", help="exponential: k in lr0*exp(-k t), t in epochs."),
    decay_per: Optional[str] = typer.Option(
        None, "--decay-per", help="epoch or step [default: epoch; step for cosine]."),
    warmup_epochs: Optional[float] = typer.Option(None, "--warmup-epochs", help="cosine: linear warmup epochs."),
    min_lr: float = typer.Option(D["min_lr"], "--min-lr", help="cosine/plateau: lowest LR."),
    plateau_patience: int = typer.Option(D["plateau_patience"], "--plateau-patience", help="plateau: epochs without progress per cut."),
    precision: str = typer.Option(D["precision"], "--precision",
                                  help="auto (bf16/fp16 where the hardware runs it natively, else fp32), fp32, "
                                       "mixed_float16, mixed_bfloat16."),
    jit: str = typer.Option(D["jit"], "--jit", help="XLA: auto (on for GPU, off for CPU), on, off."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, gpu or gpu:N [default: TF's choice]."),
    strategy: str = typer.Option(D["strategy"], "--strategy", help="auto, default, mirrored, multiworker (TF_CONFIG)."),
    steps_per_execution: Optional[int] = typer.Option(
        None, "--steps-per-execution", help="Train steps per compiled call [default: 16]."),
    adversarial: Optional[str] = typer.Option(None, "--adversarial", help="Adversarial training: fgsm or pgd."),
    adv_eps: float = typer.Option(D["adv_eps"], "--adv-eps", help="Adversarial budget in pixels (0..255)."),
    adv_ratio: float = typer.Option(D["adv_ratio"], "--adv-ratio", help="Fraction of each batch replaced."),
    transfer_from: Optional[str] = typer.Option(None, "--from", help="Transfer learning from a run dir or weights."),
    transfer: Optional[str] = typer.Option(
        None, "--transfer", help="auto, finetune, feature-extract, svm [default: finetune with --from]."),
    unfreeze: Optional[int] = typer.Option(None, "--unfreeze", help="finetune: top layers left trainable."),
    histograms: int = typer.Option(D["histograms"], "--histograms", metavar="N", help="TensorBoard: weight histograms every N epochs (0: scalars only)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object (metrics, run dir) only."),
    strict: bool = typer.Option(False, "--strict", help="Exit non-zero (3) when the run learned nothing "
                                "(accuracy within noise of chance, or an exploded loss); without it a note says so."),
) -> None:
    """Train MODEL and write a run directory (model.keras, config.json, history.csv, curves, metrics)."""
    from zoo.training import TrainConfig
    from zoo.training.config import recipe_config
    from zoo.training.trainer import train

    options = {k: v for k, v in locals().items() if k in ctx.params and k not in _NOT_CONFIG}
    options.update(data_dir=str(data_dir) if data_dir else None, input_shape=parse_input_shape(input_shape),
                   out=str(out) if out else None)
    if recipe is None:
        config = TrainConfig(**options)
    else:  # the recipe fills in every option the user did not type
        # By name: typer vendors its own click, so the ParameterSource enum has no stable import.
        given = {k: v for k, v in options.items()
                 if k != "model" and getattr(ctx.get_parameter_source(k), "name", "DEFAULT") != "DEFAULT"}
        config = recipe_config(model, recipe, **given)
        if resume and "epochs" not in given:
            config.epochs = None  # on resume the recipe's epochs are no request to change the run's
    from zoo.progress import SILENT, ConsoleProgress

    # notes dim on the console with the epoch bar; with --json, notes only, on stderr
    progress = SILENT if quiet else ConsoleProgress(err_console, live=False) if json_output else ConsoleProgress(console)
    _install_sigterm()
    result = train(config, resume=resume, overwrite=overwrite, progress=progress)
    if json_output:
        typer.echo(json.dumps({**result.summary(), "metrics": _short_metrics(result.metrics)}))
    elif not quiet:
        _print_summary(result)
    if strict and result.metrics.get("learned_nothing"):
        err_console.print(f"[bold red]Error:[/] the run learned nothing (the warning above says why); --strict makes "
                          f"that an error. The run is kept in {escape(str(result.run_dir))}.", highlight=False,
                          soft_wrap=True)
        raise typer.Exit(3)


def _short_metrics(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k not in ("confusion_matrix",)}


def _print_summary(result) -> None:
    from rich.table import Table

    m = result.metrics
    s = result.summary()
    table = Table(title=escape(f"{result.config.model} on {result.config.dataset}"), show_header=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")  # long paths wrap instead of being cut
    table.add_row("run directory", escape(str(result.run_dir)))
    if result.skipped:
        table.add_row("status", "already finished (nothing to do)")
    table.add_row("epochs", str(s["epochs"]) + (" (stopped early)" if result.stopped_early else ""))
    if s.get("val_accuracy") is not None and m.get("split") != "val":  # else the next row says it
        table.add_row("val accuracy", f"{float(s['val_accuracy']):.2%}")
    if m.get("accuracy") is not None:
        table.add_row(f"{m.get('split', 'test')} accuracy", f"{m['accuracy']:.2%}")
    if m.get("top5") is not None:
        table.add_row("top-5 accuracy", f"{m['top5']:.2%}")
    if not result.skipped:
        table.add_row("time", f"{result.seconds:.1f} s")
    if (result.run_dir / LOGS_DIR).is_dir():  # written where TensorBoard is installed
        table.add_row("TensorBoard", escape(f"tensorboard --logdir {result.run_dir / LOGS_DIR}"))
    if m.get("learned_nothing"):
        table.add_row("[bold red]warning[/]", "[red]learned nothing[/]: " + escape(m["learned_nothing"].split("learned nothing: ", 1)[-1]))
    console.print(table)
