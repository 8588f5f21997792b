"""TrainConfig: every option of ``zoo train``, with defaults that say why they are what they are.

``None`` means "the model's own default" (see ``FAMILY_DEFAULTS``); ``resolve`` fills those in and
checks every value, so the resolved config written to ``config.json`` is complete and a bad value
fails before anything is loaded or written.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields, replace

from zoo.errors import InvalidArgumentError, UnknownNameError, close_matches_hint

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adam", "adamw")
SCHEDULES = ("none", "step", "exponential", "cosine", "plateau")
PRECISIONS = ("auto", "fp32", "mixed_float16", "mixed_bfloat16")
JIT_MODES = ("auto", "on", "off")
STRATEGIES = ("auto", "default", "mirrored", "multiworker")
DECAY_PER = ("epoch", "step")
ADVERSARIAL = ("fgsm", "pgd")
TRANSFER_MODES = ("auto", "finetune", "feature-extract", "svm")

# Per-family defaults, used where the user leaves an option at None.
# LeNet-like and the small-input AlexNet/VGG/Inception variants: Adam at 1e-3 converges in a few
# CPU epochs without tuning, which is what a classroom run needs. ResNet follows He et al. 2016
# (CIFAR recipe: SGD momentum 0.9, lr 0.1, weight decay 1e-4, batch 128); a cosine schedule with a
# 1-epoch warmup stands in for the paper's hand-placed steps, because our epoch counts vary.
_GENERIC = {"epochs": 10, "batch_size": 128, "optimizer": "adam", "lr": 1e-3, "weight_decay": 0.0,
            "schedule": "none", "warmup_epochs": 0.0}
FAMILY_DEFAULTS = {
    "lenet": {**_GENERIC, "epochs": 12},
    "alexnet": dict(_GENERIC),
    "vgg": dict(_GENERIC),
    "inception": dict(_GENERIC),
    "resnet": {"epochs": 30, "batch_size": 128, "optimizer": "momentum", "lr": 0.1,
               "weight_decay": 1e-4, "schedule": "cosine", "warmup_epochs": 1.0},
}


@dataclass
class TrainConfig:
    model: str
    # Data -------------------------------------------------------------------------------------
    dataset: str = "fashion_mnist"  # the embedded default: trains offline, in minutes, on a CPU
    data_dir: str | None = None  # where the source looks for files (None: its usual places)
    download: bool = False  # offline first: never touch the network unless asked
    val_split: float = 0.1  # 10% of train held out: enough to see overfitting, little lost
    limit: int | None = None  # cap examples per split: quick experiments and tests
    input_shape: tuple[int, int, int] | None = None  # None: the model's (H, W) with the data's channels
    augment: str = "none"  # augmentation is opt-in: a plain run stays comparable to the papers
    # Optimisation -----------------------------------------------------------------------------
    epochs: int | None = None
    batch_size: int | None = None  # 128: the common CIFAR/MNIST batch, fits any laptop's memory
    optimizer: str | None = None
    lr: float | None = None
    momentum: float = 0.9  # the classic value for momentum/nesterov SGD (and RMSProp's rho)
    weight_decay: float | None = None  # L2 on kernels; decoupled (AdamW) for adamw
    dropout: float | None = None  # None: the model's (paper's) own rate
    label_smoothing: float = 0.0  # off by default: plain cross-entropy, as in the papers
    # Learning-rate schedule -------------------------------------------------------------------
    schedule: str | None = None
    step_size: int | None = None  # step: epochs between decays; None = a third of the epochs
    gamma: float = 0.1  # step/plateau: multiply the LR by this (a 10x drop, as in ResNet/VGG)
    decay_rate: float = 0.1  # exponential: k in lr0 * exp(-k t), t in epochs (e^-0.1 ~ 10%/epoch)
    decay_per: str | None = None  # None: epoch for step/exponential (the textbook form), step for cosine
    warmup_epochs: float | None = None  # cosine: linear warmup from 0 (big-LR SGD needs it)
    min_lr: float = 0.0  # cosine floor / plateau floor
    plateau_patience: int = 2  # plateau: epochs without val_loss improvement before a cut
    early_stopping: int | None = None  # patience in epochs on val_loss; None: train all epochs
    # Reproducibility, hardware -----------------------------------------------------------------
    seed: int = 0  # every run is seeded: two runs differ only by op non-determinism
    deterministic: bool = False  # op determinism costs speed, so only on request
    precision: str = "auto"  # auto: mixed bf16/fp16 where the hardware runs it natively, else fp32
    jit: str = "auto"  # auto: XLA on GPU; off on CPU (it made LeNet 2x slower on a 2-core CPU)
    device: str | None = None  # None: TF's choice (GPU if any); "cpu", "gpu", "gpu:1"
    strategy: str = "auto"  # auto: mirrored for >1 GPU, multiworker when TF_CONFIG names workers
    steps_per_execution: int | None = None  # None: several steps per call, less per-step Python
    # Adversarial training (zoo.attack.mix_adversarial) -------------------------------------------
    adversarial: str | None = None
    adv_eps: float = 8.0  # pixels in 0..255: the usual 8/255 L-inf budget
    adv_ratio: float = 0.5  # half clean, half adversarial, as in Goodfellow et al. 2015
    # Transfer learning (zoo.training.transfer) ------------------------------------------------
    transfer_from: str | None = None
    transfer: str | None = None  # None: finetune when transfer_from is given
    unfreeze: int | None = None  # finetune: number of top layers left trainable (None: all)
    # Output -----------------------------------------------------------------------------------
    out: str | None = None  # None: runs/<model>-<dataset>
    recipe: str | None = None  # the registry recipe these options came from (zoo.registry.get_recipe)
    # Filled by the trainer: what the data turned out to be (written to config.json)
    class_names: list[str] = field(default_factory=list)
    num_classes: int | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_shape"] = list(self.input_shape) if self.input_shape else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in known}
        if kwargs.get("input_shape"):
            kwargs["input_shape"] = tuple(kwargs["input_shape"])
        return cls(**kwargs)


def recipe_config(model: str, recipe: str, **overrides) -> TrainConfig:
    """The TrainConfig of ``model``'s registry recipe, with ``overrides`` (options the user gave) on top."""
    from zoo.registry import get_recipe

    options = get_recipe(model, recipe)
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(options) - known)
    if unknown:  # a typo in a family file, caught by the registry tests
        raise InvalidArgumentError(f"Recipe {recipe!r} of {model} sets unknown options: {', '.join(unknown)}.")
    if options.get("input_shape") is not None:
        options["input_shape"] = tuple(options["input_shape"])
    return TrainConfig(model=model, **{**options, **overrides, "recipe": recipe})


def default_out(model: str, dataset: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset).strip("_") or "data"
    return f"runs/{model}-{slug}"


def _choice(value, choices, what: str, option: str) -> str:
    v = str(value).lower().replace("_", "-") if what != "precision" else str(value).lower()
    norm = {c.replace("_", "-") if what != "precision" else c: c for c in choices}
    if v in norm:
        return norm[v]
    raise UnknownNameError(f"Unknown {what} {value!r} for {option}." + close_matches_hint(str(value), choices))


def _positive(value, what: str, integer: bool):
    bad = isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0
    if integer and not bad and int(value) != value:
        bad = True
    if bad:
        raise InvalidArgumentError(f"{what} must be a positive {'integer' if integer else 'number'}; got {value!r}.")
    return int(value) if integer else float(value)


def _fraction(value, what: str, *, upper_open: bool = True, lower: float = 0.0):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and lower <= value and (
        value < 1 if upper_open else value <= 1)
    if not ok:
        raise InvalidArgumentError(
            f"{what} must be in [{lower:g}, 1{')' if upper_open else ']'}; got {value!r}.")
    return float(value)


def resolve(config: TrainConfig) -> TrainConfig:
    """A copy with every None replaced by the model's default and every value checked."""
    from zoo.registry import get_spec

    spec = get_spec(config.model)  # unknown model -> close matches
    fam = FAMILY_DEFAULTS.get(spec.family, _GENERIC)
    c = replace(config)
    if c.epochs is None and c.recipe:  # `--recipe R --resume` starting a new run: the recipe's epochs
        from zoo.registry import get_recipe

        c.epochs = get_recipe(c.model, c.recipe).get("epochs")
    for name in ("epochs", "batch_size", "optimizer", "lr", "weight_decay", "schedule", "warmup_epochs"):
        if getattr(c, name) is None:
            setattr(c, name, fam[name])
    c.optimizer = _choice(c.optimizer, OPTIMIZERS, "optimizer", "--optimizer")
    c.schedule = _choice(c.schedule, SCHEDULES, "schedule", "--schedule")
    if c.decay_per is None:
        c.decay_per = "step" if c.schedule == "cosine" else "epoch"
    c.decay_per = _choice(c.decay_per, DECAY_PER, "decay granularity", "--decay-per")
    c.precision = _choice(c.precision, PRECISIONS, "precision", "--precision")
    c.jit = _choice(c.jit, JIT_MODES, "jit mode", "--jit")
    c.strategy = _choice(c.strategy, STRATEGIES, "strategy", "--strategy")
    c.epochs = _positive(c.epochs, "--epochs", True)
    c.batch_size = _positive(c.batch_size, "--batch-size", True)
    c.lr = _positive(c.lr, "--lr (learning rate)", False)
    if c.steps_per_execution is not None:
        c.steps_per_execution = _positive(c.steps_per_execution, "--steps-per-execution", True)
    if c.limit is not None:
        c.limit = _positive(c.limit, "--limit", True)
    if c.step_size is not None:
        c.step_size = _positive(c.step_size, "--step-size", True)
    c.plateau_patience = _positive(c.plateau_patience, "--plateau-patience", True)
    if c.early_stopping is not None:
        c.early_stopping = _positive(c.early_stopping, "--early-stopping (patience)", True)
    if not isinstance(c.weight_decay, (int, float)) or c.weight_decay < 0:
        raise InvalidArgumentError(f"--weight-decay must be >= 0; got {c.weight_decay!r}.")
    if not isinstance(c.decay_rate, (int, float)) or c.decay_rate < 0:
        raise InvalidArgumentError(f"--decay-rate must be >= 0; got {c.decay_rate!r}.")
    if not isinstance(c.warmup_epochs, (int, float)) or c.warmup_epochs < 0:
        raise InvalidArgumentError(f"--warmup-epochs must be >= 0; got {c.warmup_epochs!r}.")
    if not isinstance(c.min_lr, (int, float)) or c.min_lr < 0 or c.min_lr >= c.lr:
        raise InvalidArgumentError(f"--min-lr must be >= 0 and below --lr ({c.lr:g}); got {c.min_lr!r}.")
    c.gamma = _fraction(c.gamma, "--gamma", lower=1e-12)
    c.momentum = _fraction(c.momentum, "--momentum")
    c.val_split = _fraction(c.val_split, "--val-split")
    c.label_smoothing = _fraction(c.label_smoothing, "--label-smoothing")
    if c.dropout is not None:
        c.dropout = _fraction(c.dropout, "--dropout")
    if c.adversarial is not None:
        c.adversarial = _choice(c.adversarial, ADVERSARIAL, "adversarial method", "--adversarial")
        c.adv_eps = _positive(c.adv_eps, "--adv-eps", False)
        c.adv_ratio = _fraction(c.adv_ratio, "--adv-ratio", upper_open=False, lower=0.0)
    if c.transfer is not None or c.unfreeze is not None:
        if c.transfer_from is None:
            raise InvalidArgumentError("--transfer and --unfreeze need --from RUN_OR_WEIGHTS (the model to start from).")
    if c.transfer_from is not None:
        c.transfer = _choice(c.transfer or "finetune", TRANSFER_MODES, "transfer mode", "--transfer")
        if c.unfreeze is not None and (isinstance(c.unfreeze, bool) or int(c.unfreeze) < 0):
            raise InvalidArgumentError(f"--unfreeze must be >= 0; got {c.unfreeze!r}.")
    if c.input_shape is not None:
        from zoo.registry import check_input_shape

        c.input_shape = check_input_shape(c.input_shape)
    if c.out is None:
        c.out = default_out(c.model, c.dataset)
    return c
