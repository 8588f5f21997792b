"""Integrated Gradients (Sundararajan et al. 2017): gradients along the path from a black image,
times (image - black); the attributions add up to f(image) - f(black) (completeness)."""

from zoo import checks
from zoo.explain.registry import ExplainMethod, Explanation, Setting, register

DEFAULT_STEPS = 50  # Sundararajan et al.: 20-300 steps; 50 keeps the completeness gap ~1 %


def check_steps(steps) -> int:
    return checks.positive_int(steps, "steps", note=f" (Integrated Gradients uses {DEFAULT_STEPS})")


STEPS = Setting("steps", DEFAULT_STEPS, check_steps, "Integrated Gradients: steps from the black baseline.", int)


def integrated_gradients(explainer, images, targets) -> Explanation:
    from zoo.explain.saliency import attribution_heatmap

    steps = explainer.settings["steps"]
    attributions, gap = explainer.engine.integrated_gradients(images, targets, steps=steps)
    return Explanation("integrated-gradients", attribution_heatmap(attributions), attributions,
                       {"steps": steps, "baseline": "black", "completeness_gap": gap})


register(ExplainMethod(
    "integrated-gradients", "Integrated Gradients", integrated_gradients, order=30,
    aliases=("ig", "integrated_gradients"), settings=(STEPS,),
    describe=lambda info: (f" ({info['steps']} steps, black baseline, completeness gap "
                           f"{sum(info['completeness_gap']) / max(len(info['completeness_gap']), 1):.1%})"),
    summary="path-integrated gradients from a black image, summing to f(x) - f(black) (Sundararajan et al. 2017)"))
