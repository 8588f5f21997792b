"""Transfer learning: reuse a trained model (a run, a .keras file or ImageNet) for new classes.

Modes (the lectures' menu):
- ``feature-extract``: freeze the whole base, train a new head (softmax classifier on features).
- ``svm``: freeze the base, train a linear head with the multiclass hinge loss + L2 (a linear SVM
  on the penultimate features, Weston-Watkins / cs231n form).
- ``finetune``: train everything (or only the top ``--unfreeze N`` weight layers) at 0.1x the LR.
- ``auto``: the 2x2 rule: small/large new dataset x similar/different distribution.

Batch-norm layers are always frozen (``trainable=False``); in Keras 3 a frozen BN layer also runs
in inference mode, so its moving statistics, learnt on the large source dataset, are kept (the
Keras transfer-learning guide's advice; with a few labelled images they would be wrecked).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import keras

from zoo.errors import InvalidArgumentError, UnknownNameError, close_matches_hint
from zoo.surgery import earlier_feature_layer, replace_head, set_trainable
from zoo.training.imagenet import IMAGENET_MODELS, imagenet_model
from zoo.training.svm import MulticlassHinge
from zoo.training.transfer_rule import choose_mode, count_examples, transfer_distance

MODES = ("auto", "finetune", "feature-extract", "svm")
FINETUNE_LR_FACTOR = 0.1  # pretrained weights are close to a good solution: small steps keep them
SVM_L2 = 5e-4  # L2 on the SVM head's weights (the "R(W)" of the cs231n SVM loss)
_DEFAULT_LR = {"sgd": 0.01, "momentum": 0.01, "nesterov": 0.01, "adagrad": 0.01, "rmsprop": 1e-3, "adam": 1e-3}


@dataclass
class TransferSetup:
    """What the trainer needs: the model to fit, its loss and LR, and a line for the user."""

    model: keras.Model
    loss: object = None  # None -> the trainer's default (sparse CE from logits)
    learning_rate: float | None = None  # None -> keep the config's
    message: str = ""
    mode: str = ""  # the mode actually used (auto resolved)
    details: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------


def load_source(source, model_name: str | None = None, *, download: bool = False):
    """(model, info) for a run directory, a .keras file or ``imagenet`` (needs ``model_name``;
    ``download`` lets Keras fetch a missing weight file)."""
    from zoo.run import Run

    if str(source).strip().lower() == "imagenet":
        if not model_name:
            raise InvalidArgumentError(
                "--from imagenet needs a model name (one of " + ", ".join(IMAGENET_MODELS) + ")."
            )
        return imagenet_model(model_name, download=download), {"kind": "imagenet", "name": f"ImageNet {model_name}", "config": {}}
    run = Run.open(source)
    return run.load_model(), {"kind": "run", "name": str(source), "config": run.config}


# ---------------------------------------------------------------------------------------------
# The trainer's entry point
# ---------------------------------------------------------------------------------------------


def _base_learning_rate(config) -> float:
    lr = getattr(config, "lr", None)
    if lr is None:
        lr = getattr(config, "learning_rate", None)
    if lr is not None:
        return float(lr)
    return _DEFAULT_LR.get(str(getattr(config, "optimizer", "adam") or "adam").lower(), 1e-3)


def prepare_transfer(config, data, input_shape, num_classes) -> TransferSetup:
    """Load ``config.transfer_from``, put a ``num_classes`` head on it and freeze per ``config.transfer``."""
    source = getattr(config, "transfer_from", None)
    if not source:
        raise InvalidArgumentError("prepare_transfer needs config.transfer_from (a run, a .keras file or 'imagenet').")
    mode = str(getattr(config, "transfer", None) or "auto").lower().replace("_", "-")
    if mode == "feature-extraction":
        mode = "feature-extract"
    if mode not in MODES:
        raise UnknownNameError(f"Unknown transfer mode {mode!r}." + close_matches_hint(mode, MODES))
    unfreeze = getattr(config, "unfreeze", None)
    if unfreeze is not None and mode in ("feature-extract", "svm"):
        raise InvalidArgumentError(
            f"--unfreeze {unfreeze} only applies to --transfer finetune (or auto); {mode} keeps the base frozen."
        )
    seed = getattr(config, "seed", None)
    model, info = load_source(source, getattr(config, "model", None), download=bool(getattr(config, "download", False)))
    trained_as = (info.get("config") or {}).get("model")
    wanted = getattr(config, "model", None)
    if trained_as and wanted and trained_as != wanted:
        raise InvalidArgumentError(
            f"{source} holds a {trained_as}, not a {wanted}: transfer keeps the source's architecture. "
            f"Run `zoo train {trained_as} --from {source} ...`."
        )
    reason = ""
    features_from = None
    if mode == "auto":
        per_class = count_examples(data) / max(1, int(num_classes))
        distance = transfer_distance(model, info, data) if info["kind"] == "run" else None
        mode, auto_unfreeze, reason = choose_mode(per_class, distance)
        if unfreeze is None:
            unfreeze = auto_unfreeze
        if mode == "feature-extract":
            features_from = earlier_feature_layer(model)
        if mode != "finetune":
            unfreeze = None
    new = replace_head(
        model, int(num_classes), input_shape=input_shape, features_from=features_from,
        l2=SVM_L2 if mode == "svm" else None, seed=seed,
    )
    trainable = set_trainable(new, mode, unfreeze)
    loss = MulticlassHinge() if mode == "svm" else None
    lr = _base_learning_rate(config) * FINETUNE_LR_FACTOR if mode == "finetune" else None
    where = f"features of {features_from!r}" if features_from else "penultimate features"
    if mode == "finetune":
        what = (f"fine-tuning {'all' if unfreeze is None else f'the top {unfreeze}'} weight layers "
                f"({len(trainable)} unfrozen + new head) at learning rate {lr:g} "
                f"({FINETUNE_LR_FACTOR:g}x); batch-norm layers keep the source statistics")
    elif mode == "svm":
        what = f"frozen base, linear SVM head (multiclass hinge, L2 {SVM_L2:g}) on the {where}"
    else:
        what = f"frozen base, new softmax head on the {where}"
    message = f"Transfer from {info['name']}: {mode} with a new {num_classes}-class head; {what}."
    if reason:
        message += f" Auto chose {mode}: {reason}."
    return TransferSetup(
        model=new, loss=loss, learning_rate=lr, message=message, mode=mode,
        details={"source": info["name"], "unfreeze": unfreeze, "features_from": features_from,
                 "trainable_layers": trainable, "reason": reason},
    )


