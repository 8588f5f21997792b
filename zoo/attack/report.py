"""Robustness evaluation: accuracy under attack versus eps, a noise baseline, red flags, transfer.

``evaluate_robustness`` attacks one model with one or more methods at several eps and returns a
JSON-ready report plus the adversarial images; ``red_flags`` reads a report and names the
patterns that usually mean gradient masking or a broken attack rather than a robust model;
``transfer_matrix`` evaluates examples crafted on one model against others.

Definitions used in the report (eps in pixel levels out of 255):

* robust accuracy: fraction of the examples still classified as their true label after the attack;
* attack success rate: untargeted, the fraction of the examples classified correctly when clean
  that the attack makes wrong; targeted, the fraction of examples whose true class is not the
  target that end up classified as the target;
* noise baseline: each pixel moved by +eps or -eps with probability 1/2 (random sign noise, the
  same L-inf and L2 size as an FGSM perturbation), clipped to [0, 255].
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from zoo.attack import methods as M
from zoo.attack.registry import ATTACKS, strongest
from zoo import checks
from zoo.errors import InvalidArgumentError
from zoo.evaluation import predict_logits

LEAST_LIKELY = "least-likely"
NOISE_DESCRIPTION = (
    "random sign noise: every pixel moved by +eps or -eps with probability 1/2, clipped to [0, 255] "
    "(same L-inf norm as FGSM, about the same L2)"
)


@dataclass
class RobustnessRun:
    """A report (JSON-ready dict) and the arrays behind it."""

    report: dict
    images: np.ndarray  # clean inputs
    labels: np.ndarray  # true labels
    clean_logits: np.ndarray
    attack_labels: np.ndarray  # labels the attack used (true, predicted or targets)
    adversarial: dict = field(default_factory=dict)  # (method, eps) -> (images, logits)


def resolve_target(target, class_names) -> int | str | None:
    """None, LEAST_LIKELY, or a class index from a class name or an index given as text."""
    if target is None:
        return None
    text = str(target).strip()
    if text.lower() in (LEAST_LIKELY, "least_likely", "ll"):
        return LEAST_LIKELY
    return checks.class_index(text, class_names, keywords=(LEAST_LIKELY,))


def perturbation_norms(adv: np.ndarray, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-example (L-inf, L2) norms of ``adv - images`` in pixel units."""
    delta = (adv.astype("float64") - images).reshape(len(images), -1)
    if delta.size == 0:
        return np.zeros(len(images)), np.zeros(len(images))
    return np.abs(delta).max(axis=1), np.sqrt((delta**2).sum(axis=1))


def _per_class_accuracy(labels, predictions, class_names) -> dict:
    out = {}
    for i, name in enumerate(class_names):
        mask = labels == i
        out[name] = float(np.mean(predictions[mask] == i)) if mask.any() else None
    return out


def sign_noise(images: np.ndarray, eps: float, rng: np.random.Generator) -> np.ndarray:
    """The noise baseline: +-eps on every pixel with probability 1/2, clipped to [0, 255]."""
    signs = rng.integers(0, 2, size=images.shape, dtype=np.int8).astype("float32") * 2 - 1
    return np.clip(images + eps * signs, 0.0, M.PIXEL_MAX).astype("float32")


def evaluate_robustness(
    model, images, labels, class_names, *, methods=("fgsm",), eps_list=(2, 4, 8, 16, 32), target=None,
    use_labels: bool = True, steps=None, step_size=None, random_start=None, batch_size: int = 256,
    seed: int = 0, keep_adversarial: bool = True,
) -> RobustnessRun:
    """Attack ``model`` on (images, labels) with every method at every eps (pixel units).

    ``target``: None (untargeted), a class index / name, or "least-likely" (per example, the class
    with the lowest clean logit). ``use_labels=False`` attacks the model's clean predictions
    instead of the true labels (no label leaking). A method whose record has a several-eps fast path
    (FGSM: the gradient does not depend on eps) runs once per batch for every eps.
    """
    methods_ = [M.check_method(m) for m in methods]
    if not methods_:
        raise InvalidArgumentError(f"Give at least one attack method ({', '.join(ATTACKS.names())}).")
    eps_values = sorted({M.check_eps(e) for e in eps_list})
    if not eps_values:
        raise InvalidArgumentError("Give at least one eps value, e.g. --eps 2,4,8.")
    for m in methods_:  # check steps / step size once, before any work
        M.resolve_settings(m, eps_values[-1], steps=steps, step_size=step_size, random_start=random_start)
    images, labels = M._check_arrays(model, images, labels)
    class_names = list(class_names)
    n = len(images)
    if n == 0:
        raise InvalidArgumentError("No examples to attack: the selected split is empty.")

    clean_logits = predict_logits(model, images, batch_size=batch_size)
    clean_pred = clean_logits.argmax(axis=1)
    target_index = resolve_target(target, class_names)
    targeted = target_index is not None
    if target_index == LEAST_LIKELY:
        attack_labels = clean_logits.argmin(axis=1).astype("int32")
    elif targeted:
        attack_labels = np.full(n, target_index, dtype="int32")
    else:
        attack_labels = (labels if use_labels else clean_pred).astype("int32")

    clean_correct = clean_pred == labels
    run = RobustnessRun({}, images, labels, clean_logits, attack_labels)
    results: dict[str, list] = {}
    for method in methods_:
        rows = []
        every_eps = None
        if ATTACKS.get(method).craft_multi is not None:  # every eps from one pass (FGSM: one gradient)
            _, every_eps = M.attack_multi(model, images, attack_labels, method, eps_values, targeted=targeted,
                                          batch_size=batch_size)
        for eps in eps_values:
            settings = M.resolve_settings(method, eps, steps=steps, step_size=step_size, random_start=random_start)
            if every_eps is not None:
                adv, logits = every_eps[eps]
            else:
                adv, logits, _ = M.attack_and_predict(
                    model, images, attack_labels, method, eps, targeted=targeted, steps=steps,
                    step_size=step_size, random_start=random_start, seed=seed, batch_size=batch_size,
                )
            pred = logits.argmax(axis=1)
            linf, l2 = perturbation_norms(adv, images)
            if targeted:
                eligible = labels != attack_labels
                success = float(np.mean(pred[eligible] == attack_labels[eligible])) if eligible.any() else None
            else:
                success = float(np.mean(pred[clean_correct] != labels[clean_correct])) if clean_correct.any() else None
            rows.append({
                "eps": eps,
                "eps_unit": eps / M.PIXEL_MAX,
                "robust_accuracy": float(np.mean(pred == labels)),
                "success_rate": success,
                "mean_linf": float(linf.mean()),
                "mean_l2": float(l2.mean()),
                "steps": settings.steps,
                "step_size": settings.step_size,
                "random_start": settings.random_start,
                "per_class_robust_accuracy": _per_class_accuracy(labels, pred, class_names),
            })
            if keep_adversarial:
                run.adversarial[(method, eps)] = (adv, logits)
        results[method] = rows

    rng = np.random.default_rng(seed + 1)
    noise_rows = []
    for eps in eps_values:
        noisy = sign_noise(images, eps, rng)
        pred = predict_logits(model, noisy, batch_size=batch_size).argmax(axis=1)
        linf, l2 = perturbation_norms(noisy, images)
        noise_rows.append({
            "eps": eps, "accuracy": float(np.mean(pred == labels)),
            "mean_linf": float(linf.mean()), "mean_l2": float(l2.mean()),
        })

    run.report = {
        "samples": n,
        "class_names": class_names,
        "eps_units": "pixel levels out of 255 (eps_unit = eps / 255)",
        "attack": {
            "methods": methods_,
            "targeted": targeted,
            "target": (LEAST_LIKELY if target_index == LEAST_LIKELY else
                       class_names[target_index] if targeted else None),
            "labels": "target" if targeted else ("true" if use_labels else "predicted"),
            "steps": steps,
            "step_size": step_size,
            "random_start": random_start,
            "seed": seed,
            "model_mode": "inference (training=False); gradients of the cross-entropy from logits",
        },
        "clean": {
            "accuracy": float(np.mean(clean_correct)),
            "per_class_accuracy": _per_class_accuracy(labels, clean_pred, class_names),
        },
        "results": results,
        "noise_baseline": {"description": NOISE_DESCRIPTION, "rows": noise_rows},
    }
    run.report["red_flags"] = red_flags(run.report)
    return run


def red_flags(report: dict) -> list[str]:
    """Warnings for results that look like gradient masking or a broken attack.

    An attack that moves no pixel at eps > 0 means zero input gradients.
    Untargeted attacks are judged by accuracy (it must not rise with eps, an attack stronger in the
    registry's order must not leave more of it than a single-step one (FGSM), random noise must not hurt more than the attack); targeted ones by their
    success rate (hitting the target, not accuracy, is their goal). A difference counts when it
    is larger than one example and half a percentage point (random starts and ties move results by
    single examples).
    """
    n = max(1, int(report.get("samples", 1)))
    tol = max(0.005, 1.0 / n)
    flags = []
    results = report["results"]
    for method, rows in results.items():
        stuck = [r["eps"] for r in rows if r["eps"] > 0 and r.get("mean_linf") == 0.0]
        if stuck:
            flags.append(
                f"{method}: the attack did not move any pixel at eps {', '.join(f'{e:g}' for e in stuck)}: "
                "the loss gradient with respect to the input is zero (a non-differentiable or saturated model)."
            )
    targeted = bool(report.get("attack", {}).get("targeted"))
    if targeted:
        for method, rows in results.items():
            rates = [(r["eps"], r["success_rate"]) for r in rows if r.get("success_rate") is not None]
            for (e0, s0), (e1, s1) in zip(rates, rates[1:]):
                if s1 < s0 - tol:
                    flags.append(
                        f"{method}: targeted success falls with eps ({s0:.1%} at eps {e0:g} -> {s1:.1%} at eps "
                        f"{e1:g}); a larger budget should never hurt: suspect gradient masking or too few steps."
                    )
        _compare_with_fgsm(results, "success_rate", lambda it, fg: it < fg - tol, "success", flags)
        return flags
    clean = report["clean"]["accuracy"]
    noise = {row["eps"]: row["accuracy"] for row in report.get("noise_baseline", {}).get("rows", [])}
    for method, rows in results.items():
        accs = [(0.0, clean)] + [(r["eps"], r["robust_accuracy"]) for r in rows]
        for (e0, a0), (e1, a1) in zip(accs, accs[1:]):
            if a1 > a0 + tol:
                flags.append(
                    f"{method}: accuracy rises with eps ({a0:.1%} at eps {e0:g} -> {a1:.1%} at eps {e1:g}); "
                    "a stronger attack should never help the model: suspect gradient masking or too few steps."
                )
        for r in rows:
            if r["eps"] in noise and noise[r["eps"]] < r["robust_accuracy"] - tol:
                flags.append(
                    f"{method}: random sign noise hurts more than the attack at eps {r['eps']:g} "
                    f"({noise[r['eps']]:.1%} vs {r['robust_accuracy']:.1%} accuracy): the gradients do not "
                    "point uphill (gradient masking, a saturated or non-differentiable model?)."
                )
    _compare_with_fgsm(results, "robust_accuracy", lambda it, fg: it > fg + tol, "accuracy", flags)
    return flags


def _compare_with_fgsm(results, key, weaker, what, flags) -> None:
    """Flag eps where an attack is weaker by ``key`` than a single-step one (FGSM) it should beat
    (stronger in the registry's order)."""
    registry = ATTACKS.records()
    for base in (m for m in results if registry[m].single_step):
        baseline = {r["eps"]: r[key] for r in results[base] if r.get(key) is not None}
        for method in (m for m in results if registry[m].strength > registry[base].strength):
            for r in results[method]:
                value = r.get(key)
                if value is not None and r["eps"] in baseline and weaker(value, baseline[r["eps"]]):
                    flags.append(
                        f"{method} is weaker than {base} at eps {r['eps']:g} ({value:.1%} vs "
                        f"{baseline[r['eps']]:.1%} {what}): an iterative attack should be at least as strong; "
                        "suspect gradient masking, or raise --steps / --step-size."
                    )


def transfer_matrix(run: RobustnessRun, source_name: str, targets, *, batch_size: int = 256) -> dict:
    """Accuracy of each model on the examples crafted on the source model.

    ``targets`` is a list of (name, model). Returns, per method, a matrix with one row per model
    (the source first: its white-box accuracy) and one column per eps (eps 0 = clean images).
    """
    shape = tuple(run.images.shape[1:])
    classes = run.clean_logits.shape[1]
    checked = []
    for name, model in targets:
        in_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
        if in_shape != shape:
            raise InvalidArgumentError(
                f"--eval-on {name} takes inputs of shape {in_shape}, but the examples were crafted at {shape}; "
                "transfer needs models trained on the same image size."
            )
        k = int(model.outputs[0].shape[-1])
        if k != classes:
            raise InvalidArgumentError(
                f"--eval-on {name} has {k} classes, the attacked model {classes}; transfer needs the same classes."
            )
        checked.append((name, model))
    out = {}
    methods_ = sorted({m for m, _ in run.adversarial}, key=list(M.METHODS).index)
    for method in methods_:
        eps_values = sorted(e for m, e in run.adversarial if m == method)
        matrix = [[float(np.mean(run.clean_logits.argmax(1) == run.labels))]
                  + [float(np.mean(run.adversarial[(method, e)][1].argmax(1) == run.labels)) for e in eps_values]]
        for _, model in checked:
            row = [float(np.mean(predict_logits(model, run.images, batch_size=batch_size).argmax(1) == run.labels))]
            for e in eps_values:
                pred = predict_logits(model, run.adversarial[(method, e)][0], batch_size=batch_size).argmax(1)
                row.append(float(np.mean(pred == run.labels)))
            matrix.append(row)
        out[method] = {
            "models": [source_name] + [name for name, _ in checked],
            "eps": [0.0] + eps_values,
            "accuracy": matrix,
            "note": "rows: models evaluated; first row is the source model (white-box); eps 0 = clean",
        }
    return out
