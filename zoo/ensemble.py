"""Ensembles: hard max-voting and probability averaging, their report, and one saveable model.

Voting rule (the same in numpy and in the Keras layer, so a saved ensemble predicts exactly what
the report measured): each member votes for its argmax class; the class with most votes wins and
ties are broken by the members' summed probabilities (then by the lower class index). The layer's
scores are ``log((votes + 0.5 * mean_prob) / (M + 0.5))``: a proper log-distribution whose argmax
is the vote, finite everywhere, and differentiable through the tie-break term, so saliency and FGSM
still get a (small) gradient from a hard-voting ensemble.
"""

from __future__ import annotations

import re

import math
from itertools import combinations

import keras
import numpy as np

from zoo.errors import InvalidArgumentError, ModelFileError
from zoo.layers import LOG_FLOOR, METHODS, TIE_WEIGHT, EnsembleVote, MatchInput, check_method  # noqa: F401

# ---------------------------------------------------------------------------------------------
# Voting on arrays
# ---------------------------------------------------------------------------------------------


def softmax(logits, axis: int = -1) -> np.ndarray:
    z = np.asarray(logits, dtype="float64")
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def vote_counts(probs) -> np.ndarray:
    """(M, N, K) member probabilities -> (N, K) number of members whose argmax is each class."""
    probs = np.asarray(probs)
    k = probs.shape[-1]
    return np.eye(k, dtype="int64")[probs.argmax(axis=-1)].sum(axis=0)


def vote_scores(probs) -> np.ndarray:
    """(M, N, K) -> (N, K) vote shares with the probability tie-break; rows sum to 1."""
    probs = np.asarray(probs, dtype="float64")
    m = probs.shape[0]
    return (vote_counts(probs) + TIE_WEIGHT * probs.mean(axis=0)) / (m + TIE_WEIGHT)


def hard_vote(probs) -> np.ndarray:
    """(M, N, K) member probabilities -> (N,) max-voting predictions (ties: summed probabilities)."""
    return vote_scores(probs).argmax(axis=-1)


def soft_vote(probs) -> np.ndarray:
    """(M, N, K) -> (N,) argmax of the averaged probabilities."""
    return np.asarray(probs).mean(axis=0).argmax(axis=-1)


def ensemble_logits(member_logits, method: str = "vote", weights=None) -> np.ndarray:
    """(M, N, K) member logits -> (N, K) the ensemble's logits-like scores (log of shares).

    ``weights`` (M counts, from ``select_members``) repeats members: a member with weight 2
    votes twice; weight 0 leaves it out.
    """
    check_method(method)
    member_logits = np.asarray(member_logits)
    if weights is not None:
        member_logits = np.repeat(member_logits, np.asarray(weights, dtype="int64"), axis=0)
    probs = softmax(member_logits)
    scores = vote_scores(probs) if method == "vote" else probs.mean(axis=0)
    return np.log(np.maximum(scores, LOG_FLOOR))


def select_members(member_logits, labels, method: str = "vote", *, rounds: int | None = None) -> np.ndarray:
    """Ensemble selection (Caruana et al. 2004): member counts chosen greedily on held-out data.

    Start from the best single member; each round adds (with replacement) the member whose addition
    gives the highest accuracy of the ``method`` vote on ``labels``; after ``rounds`` rounds (default
    2M) the bag with the best accuracy seen is returned (the earliest on ties, so the smallest).
    Only ever call it on validation data: selecting on the test set would report a selected score.
    """
    check_method(method)
    member_logits = np.asarray(member_logits)
    labels = np.asarray(labels).reshape(-1)
    m = member_logits.shape[0]
    rounds = 2 * m if rounds is None else int(rounds)

    def accuracy(counts):
        return float((ensemble_logits(member_logits, method, counts).argmax(1) == labels).mean())

    counts = np.zeros(m, dtype="int64")
    singles = [accuracy(np.eye(m, dtype="int64")[i]) for i in range(m)]
    counts[int(np.argmax(singles))] = 1
    best, best_counts = max(singles), counts.copy()
    for _ in range(rounds - 1):
        trials = [accuracy(counts + np.eye(m, dtype="int64")[i]) for i in range(m)]
        counts = counts + np.eye(m, dtype="int64")[int(np.argmax(trials))]
        if max(trials) > best:
            best, best_counts = max(trials), counts.copy()
    return best_counts


# ---------------------------------------------------------------------------------------------
# What independence predicts
# ---------------------------------------------------------------------------------------------


def wrong_count_distribution(error_rates) -> np.ndarray:
    """Poisson-binomial: P(exactly j of the M members are wrong), j = 0..M, if errors are independent."""
    dist = np.zeros(1)
    dist[0] = 1.0
    for e in error_rates:
        e = float(e)
        if not 0.0 <= e <= 1.0:
            raise InvalidArgumentError(f"Error rates must lie in [0, 1]; got {e}.")
        dist = np.concatenate([dist * (1 - e), [0.0]]) + np.concatenate([[0.0], dist * e])
    return dist


def independent_vote_error(error_rates) -> float:
    """Vote error if members erred independently and wrong members agreed on the wrong class.

    The probability that a strict majority is wrong (binomial for equal rates, Poisson-binomial
    otherwise); with an even M an exact split counts as half an error (a coin-flip tie).
    For M=3, e=0.01: 1 - (1-e)^3 - 3 (1-e)^2 e = 0.000298.
    """
    rates = list(error_rates)
    if not rates:
        raise InvalidArgumentError("An ensemble needs at least one member error rate.")
    dist = wrong_count_distribution(rates)
    m = len(rates)
    wrong = float(dist[m // 2 + 1 :].sum())
    if m % 2 == 0:
        wrong += 0.5 * float(dist[m // 2])
    return wrong


def binomial_vote_error(m: int, e: float) -> float:
    """Closed form for M members with the same error rate e (a check of the recursion above)."""
    total = sum(math.comb(m, j) * e**j * (1 - e) ** (m - j) for j in range(m // 2 + 1, m + 1))
    if m % 2 == 0:
        total += 0.5 * math.comb(m, m // 2) * e ** (m // 2) * (1 - e) ** (m // 2)
    return total


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


def pairwise_stats(predictions, labels) -> list[dict]:
    """Disagreement (fraction of inputs where two members predict differently) and the
    correlation of their error indicators (phi coefficient; 0 = independent errors)."""
    preds = np.asarray(predictions)
    labels = np.asarray(labels)
    errors = preds != labels[None, :]
    out = []
    for i, j in combinations(range(preds.shape[0]), 2):
        ei, ej = errors[i].astype("float64"), errors[j].astype("float64")
        si, sj = ei.std(), ej.std()
        corr = float(((ei - ei.mean()) * (ej - ej.mean())).mean() / (si * sj)) if si > 0 and sj > 0 else float("nan")
        out.append(
            {
                "members": [i, j],
                "disagreement": float((preds[i] != preds[j]).mean()),
                "error_correlation": corr,
                "both_wrong": float((errors[i] & errors[j]).mean()),
            }
        )
    return out


def paired_comparison(predictions, reference, labels) -> dict:
    """McNemar's comparison of two classifiers on the same images: ``fixed``, the images these
    predictions get right and the reference's get wrong; ``broken``, the reverse; ``net`` = fixed -
    broken (the accuracy gain in images); ``z`` = net / sqrt(fixed + broken). Only the images where the
    two differ carry information, so a gain with |z| < 2 is within the test set's noise."""
    labels = np.asarray(labels).reshape(-1)
    right = np.asarray(predictions).reshape(-1) == labels
    reference_right = np.asarray(reference).reshape(-1) == labels
    fixed, broken = int((right & ~reference_right).sum()), int((~right & reference_right).sum())
    differ = fixed + broken
    return {"fixed": fixed, "broken": broken, "net": fixed - broken,
            "z": (fixed - broken) / math.sqrt(differ) if differ else 0.0}


def ensemble_report(labels, member_logits, member_names, method: str = "vote", class_names=None) -> dict:
    """Members' accuracies, the ensemble's (vote and soft), diversity and the independence prediction."""
    check_method(method)
    labels = np.asarray(labels).astype("int64").reshape(-1)
    member_logits = np.asarray(member_logits)
    if member_logits.ndim != 3 or member_logits.shape[1] != labels.shape[0]:
        raise InvalidArgumentError(
            f"Expected member logits of shape (members, {labels.shape[0]}, classes); got {member_logits.shape}."
        )
    probs = softmax(member_logits)
    preds = probs.argmax(axis=-1)
    accs = (preds == labels[None, :]).mean(axis=1)
    errs = 1.0 - accs
    vote_pred = hard_vote(probs)
    soft_pred = soft_vote(probs)
    vote_acc = float((vote_pred == labels).mean())
    soft_acc = float((soft_pred == labels).mean())
    chosen = vote_acc if method == "vote" else soft_acc
    best = int(np.argmax(accs))
    all_wrong = float((preds != labels[None, :]).all(axis=0).mean())
    predicted_vote_error = independent_vote_error(errs)
    return {
        "method": method,
        "num_examples": int(labels.shape[0]),
        "num_members": int(member_logits.shape[0]),
        "class_names": list(class_names) if class_names is not None else None,
        "members": [
            {"name": str(n), "accuracy": float(a), "error": float(1 - a)} for n, a in zip(member_names, accs)
        ],
        "best_member": {"name": str(member_names[best]), "accuracy": float(accs[best])},
        "accuracy": chosen,
        "vote_accuracy": vote_acc,
        "soft_accuracy": soft_acc,
        "gain_over_best_member": chosen - float(accs[best]),
        "vs_best_member": paired_comparison(vote_pred if method == "vote" else soft_pred, preds[best], labels),
        "vote_error_measured": 1.0 - vote_acc,
        "vote_error_if_independent": predicted_vote_error,
        "all_members_wrong": all_wrong,
        "mean_disagreement": float(np.mean([p["disagreement"] for p in pairwise_stats(preds, labels)]))
        if member_logits.shape[0] > 1
        else 0.0,
        "pairs": pairwise_stats(preds, labels),
    }


# ---------------------------------------------------------------------------------------------
# One saveable Keras model: members as sub-models + a voting layer (zoo.layers.EnsembleVote)
# ---------------------------------------------------------------------------------------------


def _model_input_shape(model, name: str) -> tuple[int, int, int]:
    shape = tuple(model.inputs[0].shape) if len(model.inputs) == 1 else ()
    if len(shape) != 4 or any(v is None for v in shape[1:]):
        raise ModelFileError(f"Member {name} needs a fixed image input (batch, H, W, C); it has {shape}.")
    return tuple(int(v) for v in shape[1:])


def _num_classes(model, name: str) -> int:
    shape = tuple(model.outputs[0].shape) if len(model.outputs) == 1 else ()
    if len(shape) != 2 or not shape[1]:
        raise ModelFileError(f"Member {name} is not a classifier with one (batch, classes) output; it has {shape}.")
    return int(shape[1])


def check_members(models, names) -> int:
    """The common number of classes, or a clear error listing each member's."""
    if len(models) < 2:
        raise InvalidArgumentError(f"An ensemble needs at least 2 members; got {len(models)}.")
    counts = [_num_classes(m, n) for m, n in zip(models, names)]
    if len(set(counts)) > 1:
        listing = ", ".join(f"{n}: {k}" for n, k in zip(names, counts))
        raise InvalidArgumentError(
            f"Ensemble members must predict the same classes; their class counts differ ({listing}). "
            "Combine models trained on the same dataset."
        )
    return counts[0]


def build_ensemble_model(models, method: str = "vote", *, input_shape=None, names=None, name: str = "ensemble",
                         weights=None):
    """A Functional model: image -> [resize/convert per member] -> members -> EnsembleVote.

    ``input_shape`` defaults to the first member's; every member whose input differs gets a
    ``MatchInput`` layer in front of it. Members are renamed ``member{i}_{name}`` to keep the
    saved file's layer names unique (two runs of the same architecture share a model name).
    """
    check_method(method)
    names = list(names) if names is not None else [m.name for m in models]
    check_members(models, names)
    shapes = [_model_input_shape(m, n) for m, n in zip(models, names)]
    input_shape = tuple(int(v) for v in (input_shape or shapes[0]))
    image = keras.Input(shape=input_shape, dtype="float32", name="image")
    outputs = []
    for i, (model, shape) in enumerate(zip(models, shapes)):
        model.name = f"member{i}_{re.sub(r'^member[0-9]+_', '', model.name)}"  # renumbered when rebuilt from a subset
        x = image
        if shape != input_shape:
            x = MatchInput(*shape, name=f"match_input{i}")(x)
        outputs.append(model(x))
    scores = EnsembleVote(method, weights=weights, name="vote")(outputs)
    return keras.Model(image, scores, name=name)


def ensemble_members(model) -> list:
    """The member sub-models of a model built by ``build_ensemble_model``."""
    return [layer for layer in model.layers if isinstance(layer, keras.Model)]


# ---------------------------------------------------------------------------------------------
# Loading members and evaluating them together
# ---------------------------------------------------------------------------------------------


def member_names_for(paths) -> list[str]:
    """Short unique names: the run directory's name, the .keras file's stem or the shipped name as
    given (``resnet20.seed1``, whose dot is no file suffix), suffixed when repeated."""
    from pathlib import Path

    from zoo.rundir import MODEL_FILE

    names = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            base = p.name
        elif p.name == MODEL_FILE:
            base = p.parent.name
        else:
            base = p.stem if p.suffix == ".keras" else p.name
        name, i = base, 2
        while name in names:
            name, i = f"{base}#{i}", i + 1
        names.append(name)
    return names


def load_ensemble(paths, method: str | None = "vote", *, input_shape=None):
    """(ensemble model, member names, class names, method) from two or more runs / .keras files,
    or from one model written by ``zoo ensemble`` (its members and voting method are reused;
    ``method`` None keeps the saved one)."""
    from zoo.run import load_classifier

    paths = [str(p) for p in paths]
    if not paths:
        raise InvalidArgumentError("Pass at least two runs or .keras files to ensemble.")
    loaded = [load_classifier(p) for p in paths]  # ModelFileError names a missing path
    if len(loaded) == 1:
        model, class_names = loaded[0]
        members = ensemble_members(model)
        if len(members) < 2:
            raise InvalidArgumentError(
                f"An ensemble needs at least 2 members; got only {paths[0]}. Pass more runs, or a "
                "model written by `zoo ensemble`."
            )
        saved = _saved_method(model)
        method = check_method(method or saved)
        if method != saved or input_shape is not None:
            model = build_ensemble_model(members, method, input_shape=input_shape)
        return model, [m.name for m in members], class_names, method
    method = check_method(method or "vote")
    models = [m for m, _ in loaded]
    names = member_names_for(paths)
    model = build_ensemble_model(models, method, input_shape=input_shape, names=names)
    # class names from the first member that has real ones (a run's config.json)
    class_names = next((c for _, c in loaded if c != [str(i) for i in range(len(c))]), loaded[0][1])
    return model, names, class_names, method


def _saved_method(model) -> str | None:
    votes = [layer for layer in model.layers if isinstance(layer, EnsembleVote)]
    return votes[0].method if votes else None


def members_logits_model(ensemble_model):
    """image -> list of the members' logits, inside the ensemble graph (one forward pass for all)."""
    vote = next(layer for layer in ensemble_model.layers if isinstance(layer, EnsembleVote))
    return keras.Model(ensemble_model.inputs[0], list(vote.input), name="members_logits")


def _members_step(ensemble_model):
    """images -> stacked member logits [M, B, K] (compiled and cached by compiled_predict)."""
    import tensorflow as tf

    inner = members_logits_model(ensemble_model)

    def step(images):
        return tf.stack([tf.cast(z, tf.float32) for z in inner(images, training=False)], axis=0)

    return step


def predict_members(ensemble_model, ds_batched, *, tta: str = "none"):
    """(member logits [M, N, K], labels [N]) over a batched (images, labels) dataset; ``tta``
    averages each member's logits over test-time views (zoo/tta.py)."""
    from zoo.evaluation import compiled_predict

    step = compiled_predict(ensemble_model, key="members", build=_members_step, tta=tta)
    logits, labels = [], []
    for images, y in ds_batched:
        logits.append(step(images).numpy())
        labels.append(np.asarray(y).reshape(-1))
    if not logits:
        raise InvalidArgumentError("The evaluation split is empty; pick another --split or a larger --limit.")
    return np.concatenate(logits, axis=1), np.concatenate(labels).astype("int64")
