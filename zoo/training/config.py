"""TrainConfig: every option of ``zoo train``, with defaults that say why they are what they are.

``None`` means "the model's own default" (see ``FAMILY_DEFAULTS``); ``resolve`` fills those in and
checks every value, so the resolved config written to ``config.json`` is complete and a bad value
fails before anything is loaded or written.
"""

from __future__ import annotations

import re
from dataclasses import MISSING, asdict, dataclass, field, fields, replace

from zoo import checks
from zoo.attack.registry import training_methods
from zoo.errors import PARAM, InvalidArgumentError

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adam", "adamw")
SCHEDULES = ("none", "step", "exponential", "cosine", "onecycle", "plateau")
PRECISIONS = ("auto", "fp32", "mixed_float16", "mixed_bfloat16")
JIT_MODES = ("auto", "on", "off")
STRATEGIES = ("auto", "default", "mirrored", "multiworker")
DECAY_PER = ("epoch", "step")
ADVERSARIAL = training_methods()  # the attack records with train_steps (zoo/attack/attacks/)
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
    ema: float | None = None  # weight EMA decay (0.999: ~1,000 steps of memory); None: off, as in the papers
    mixup: float = 0.0  # MixUp Beta(alpha, alpha); 0: off (timm's recipes use 0.1-0.8 for long runs)
    cutmix: float = 0.0  # CutMix Beta(alpha, alpha); 0: off; with --mixup too, each batch picks one
    # Learning-rate schedule -------------------------------------------------------------------
    schedule: str | None = None
    step_size: int | None = None  # step: epochs between decays; None = a third of the epochs
    gamma: float = 0.1  # step/plateau: multiply the LR by this (a 10x drop, as in ResNet/VGG)
    decay_rate: float = 0.1  # exponential: k in lr0 * exp(-k t), t in epochs (e^-0.1 ~ 10%/epoch)
    decay_per: str | None = None  # None: epoch for step/exponential (the textbook form), step for cosine
    warmup_epochs: float | None = None  # cosine/onecycle: linear warmup from 0 (big-LR SGD needs it); onecycle: 25% of the epochs
    min_lr: float = 0.0  # cosine floor / plateau floor
    plateau_patience: int = 2  # plateau: epochs without val_loss improvement before a cut
    early_stopping: int | None = None  # patience in epochs on val_loss; None: train all epochs
    # Reproducibility, hardware -----------------------------------------------------------------
    seed: int = 0  # every run is seeded: two runs differ only by op non-determinism
    split_seed: int | None = None  # the validation carve's seed; None: seed. Fixed, a new seed keeps the held-out images
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
    histograms: int = 0  # TensorBoard weight histograms every N epochs; 0: off (scalars only, smaller logs)
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


def defaults() -> dict:
    """TrainConfig's field defaults by name: what the CLI shows and fills in."""
    return {f.name: (f.default_factory() if f.default_factory is not MISSING else f.default) for f in fields(TrainConfig)
            if f.name != "model"}


def default_out(model: str, dataset: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset).strip("_") or "data"
    return f"runs/{model}-{slug}"


def resolve(config: TrainConfig) -> TrainConfig:
    """A copy with every None replaced by the model's default and every value checked."""
    from zoo.registry import MODELS

    spec = MODELS.get(config.model)  # unknown model -> close matches
    fam = FAMILY_DEFAULTS.get(spec.family, _GENERIC)
    c = replace(config)
    if c.epochs is None and c.recipe:  # `--recipe R --resume` starting a new run: the recipe's epochs
        from zoo.registry import get_recipe

        c.epochs = get_recipe(c.model, c.recipe).get("epochs")
    warmup_asked = c.warmup_epochs
    for name in ("epochs", "batch_size", "optimizer", "lr", "weight_decay", "schedule", "warmup_epochs"):
        if getattr(c, name) is None:
            setattr(c, name, fam[name])
    if warmup_asked is None and c.schedule == "onecycle" and isinstance(c.epochs, int) and c.epochs > 0:
        c.warmup_epochs = round(0.25 * c.epochs, 4)  # the one-cycle shape: a quarter up, the rest down
    c.optimizer = checks.choice(c.optimizer, "optimizer", OPTIMIZERS)
    c.schedule = checks.choice(c.schedule, "schedule", SCHEDULES)
    if c.decay_per is None:
        c.decay_per = "step" if c.schedule in ("cosine", "onecycle") else "epoch"
    c.decay_per = checks.choice(c.decay_per, "decay_per", DECAY_PER, what="decay granularity")
    c.precision = checks.choice(c.precision, "precision", PRECISIONS)
    c.jit = checks.choice(c.jit, "jit", JIT_MODES, what="jit mode")
    c.strategy = checks.choice(c.strategy, "strategy", STRATEGIES)
    c.epochs = checks.positive_int(c.epochs, "epochs")
    c.batch_size = checks.positive_int(c.batch_size, "batch_size")
    c.lr = checks.positive_number(c.lr, "lr", note=" (the learning rate)")
    if c.split_seed is not None:
        c.split_seed = checks.int_between(c.split_seed, "split_seed", 0, 2**31 - 1)
    for name in ("steps_per_execution", "limit", "step_size", "early_stopping"):
        if getattr(c, name) is not None:
            setattr(c, name, checks.positive_int(getattr(c, name), name))
    c.plateau_patience = checks.positive_int(c.plateau_patience, "plateau_patience")
    if c.histograms != 0:
        c.histograms = checks.positive_int(c.histograms, "histograms", note=" (epochs between them, or 0 for none)")
    for name in ("weight_decay", "decay_rate", "warmup_epochs", "min_lr"):
        setattr(c, name, checks.non_negative(getattr(c, name), name))
    if c.min_lr >= c.lr:
        raise InvalidArgumentError(f"{PARAM} must be below the learning rate ({c.lr:g}); got {c.min_lr!r}.",
                                   param="min_lr")
    c.gamma = checks.fraction(c.gamma, "gamma", low=1e-12)
    c.momentum = checks.fraction(c.momentum, "momentum")
    c.val_split = checks.fraction(c.val_split, "val_split")
    c.label_smoothing = checks.fraction(c.label_smoothing, "label_smoothing")
    if c.ema is not None:
        c.ema = checks.fraction(c.ema, "ema", low=1e-12)  # a decay in (0, 1), e.g. 0.999
    c.mixup = checks.non_negative(c.mixup, "mixup")
    c.cutmix = checks.non_negative(c.cutmix, "cutmix")
    if c.dropout is not None:
        c.dropout = checks.fraction(c.dropout, "dropout")
    if c.adversarial is not None:
        c.adversarial = checks.choice(c.adversarial, "adversarial", ADVERSARIAL, what="adversarial method")
        c.adv_eps = checks.positive_number(c.adv_eps, "adv_eps")
        c.adv_ratio = checks.fraction(c.adv_ratio, "adv_ratio", include_one=True)
    if c.transfer is not None or c.unfreeze is not None:
        if c.transfer_from is None:
            raise InvalidArgumentError("--transfer and --unfreeze need --from RUN_OR_WEIGHTS (the model to start from).")
    if c.transfer_from is not None:
        c.transfer = checks.choice(c.transfer or "finetune", "transfer", TRANSFER_MODES, what="transfer mode")
        if c.unfreeze is not None and (isinstance(c.unfreeze, bool) or int(c.unfreeze) < 0):
            raise InvalidArgumentError(f"{PARAM} must be >= 0; got {c.unfreeze!r}.", param="unfreeze")
    if c.input_shape is not None:
        from zoo.registry import check_input_shape

        c.input_shape = check_input_shape(c.input_shape)
    if c.out is None:
        c.out = default_out(c.model, c.dataset)
    return c
