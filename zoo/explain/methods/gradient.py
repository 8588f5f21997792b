"""Vanilla gradient (Simonyan et al. 2014): how much each pixel moves the target logit."""

from zoo.explain.registry import ExplainMethod, Explanation, register


def gradient(explainer, images, targets, settings) -> Explanation:
    from zoo.explain.saliency import to_heatmap

    g = explainer.engine.gradient(images, targets)
    return Explanation("gradient", to_heatmap(g), g)


register(ExplainMethod(
    "gradient", "Gradient", gradient, order=10, aliases=("vanilla",),
    summary="|d logit / d pixel|, max over channels (Simonyan et al. 2014)"))
