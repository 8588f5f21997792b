"""Integrated Gradients (Sundararajan et al. 2017): gradients along the path from a black image,
times (image - black); the attributions add up to f(image) - f(black) (completeness).

The path integral is a midpoint sum, so the attributions miss completeness by a gap that depends
on the model: a few steps suffice for a smooth small net, a deep ReLU net needs hundreds. The
method therefore starts at ``steps`` and doubles them for the images whose relative gap
|sum(attr) - (f(x) - f(black))| / |f(x) - f(black)| is above ``tolerance``, up to ``max_steps``;
the steps each image got, and whether the cap stopped any, are reported (its ``report`` hook)."""

import numpy as np

from zoo import checks
from zoo.explain.registry import ExplainMethod, Explanation, Setting, register

DEFAULT_STEPS = 50  # Sundararajan et al.: 20-300 steps; the start, raised where the gap needs it
DEFAULT_TOLERANCE = 0.01  # a relative completeness gap of 1 % per image: the paper's "within 5 %" with room
DEFAULT_MAX_STEPS = 1600  # the cap: 32 x the start; the shipped resnet20 needs up to this (docs/explain.md)


def check_steps(steps) -> int:
    return checks.positive_int(steps, "steps", note=f" (Integrated Gradients starts at {DEFAULT_STEPS})")


def check_tolerance(tolerance) -> float:
    return checks.non_negative(tolerance, "tolerance")


def check_max_steps(max_steps) -> int:
    return checks.positive_int(max_steps, "max_steps", note=f" (Integrated Gradients' cap is {DEFAULT_MAX_STEPS})")


STEPS = Setting("steps", DEFAULT_STEPS, check_steps, "Integrated Gradients: steps from the black baseline "
                "(the start: doubled while the completeness gap is above the tolerance).", int)
TOLERANCE = Setting("tolerance", DEFAULT_TOLERANCE, check_tolerance,
                    "Integrated Gradients: completeness gap (relative, per image) it raises the steps to reach.", float)
MAX_STEPS = Setting("max_steps", DEFAULT_MAX_STEPS, check_max_steps,
                    "Integrated Gradients: the most steps it raises to (the same as --steps: fixed steps).", int)


def integrated_gradients(explainer, images, targets, settings) -> Explanation:
    from zoo.explain.saliency import attribution_heatmap

    steps, tolerance = settings["steps"], settings["tolerance"]
    cap = max(settings["max_steps"], steps)
    targets = np.asarray(targets).reshape(-1)
    attributions, gap = explainer.engine.integrated_gradients(images, targets, steps=steps)
    used = np.full(len(gap), steps)
    todo = np.flatnonzero(gap > tolerance)
    while len(todo) and steps < cap:  # only the images still above the tolerance get more steps
        steps = min(2 * steps, cap)
        attributions[todo], gap[todo] = explainer.engine.integrated_gradients(
            np.asarray(images)[todo], targets[todo], steps=steps)
        used[todo] = steps
        todo = todo[gap[todo] > tolerance]
    return Explanation("integrated-gradients", attribution_heatmap(attributions), attributions,
                       {"steps": int(used.max()) if len(used) else settings["steps"], "steps_per_image": used,
                        "start_steps": settings["steps"], "tolerance": tolerance, "max_steps": cap,
                        "capped": int(len(todo)), "baseline": "black", "completeness_gap": gap})


def describe(info) -> str:
    gap = info["completeness_gap"]
    used = info["steps_per_image"]
    steps = f"{used.min()}-{used.max()}" if len(used) and used.min() != used.max() else f"{info['steps']}"
    return f" ({steps} steps, black baseline, completeness gap {gap.mean() if len(gap) else 0.0:.1%})"


def report(info):
    """explain.json's entry (the gap as mean, max and per image) and the printed lines."""
    gap, used = np.asarray(info["completeness_gap"], "float64"), np.asarray(info["steps_per_image"])
    out = {k: v for k, v in info.items() if k not in ("completeness_gap", "steps_per_image")}
    out.update(completeness_gap_mean=float(gap.mean()) if len(gap) else 0.0,
               completeness_gap_max=float(gap.max()) if len(gap) else 0.0,
               completeness_gap=[float(g) for g in gap], steps_per_image=[int(s) for s in used])
    lines = [f"completeness gap |sum(attr) - (f(x) - f(black))| / |f(x) - f(black)| mean "
             f"{out['completeness_gap_mean']:.2%}, max {out['completeness_gap_max']:.2%} "
             f"({info['start_steps']} to {info['steps']} steps, tolerance {info['tolerance']:.2%})"]
    if info["capped"]:
        lines.append(f"{info['capped']} image(s) still above the tolerance at the cap of {info['max_steps']} steps "
                     "(raise it with --set integrated-gradients.max_steps=N)")
    return out, lines


register(ExplainMethod(
    "integrated-gradients", "Integrated Gradients", integrated_gradients, order=30,
    aliases=("ig", "integrated_gradients"), settings=(STEPS, TOLERANCE, MAX_STEPS), describe=describe, report=report,
    summary="path-integrated gradients from a black image, summing to f(x) - f(black) (Sundararajan et al. 2017)"))
