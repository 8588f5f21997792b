"""SmoothGrad (Smilkov et al. 2017): the gradient averaged over noisy copies of the image, and its
squared form (the mean of g*g), which keeps only magnitudes."""

from zoo import checks
from zoo.errors import PARAM, InvalidArgumentError
from zoo.explain.registry import ExplainMethod, Explanation, Setting, register

DEFAULT_SAMPLES = 50  # Smilkov et al.: little changes beyond n = 50
DEFAULT_NOISE = 0.15  # Smilkov et al.: 10-20 % of the input range works best


def check_samples(samples) -> int:
    return checks.positive_int(samples, "samples", note=f" (SmoothGrad uses {DEFAULT_SAMPLES})")


def check_noise(noise) -> float:
    if not (checks.is_number(noise) and noise == noise and 0 <= noise < float("inf")):
        raise InvalidArgumentError(
            f"{PARAM} must be a fraction of the pixel range >= 0 (SmoothGrad uses {DEFAULT_NOISE}); got {noise!r}.",
            param="noise")
    return float(noise)


SAMPLES = Setting("samples", DEFAULT_SAMPLES, check_samples, "SmoothGrad: noisy copies per image.", int)
NOISE = Setting("noise", DEFAULT_NOISE, check_noise, "SmoothGrad: noise std as a fraction of the 0-255 range.", float)


def _smoothgrad(explainer, images, targets, settings, squared: bool) -> Explanation:
    from zoo.explain.saliency import to_heatmap

    samples, noise = settings["samples"], settings["noise"]
    g = explainer.engine.smoothgrad(images, targets, samples=samples, noise=noise, squared=squared,
                                    seed=explainer.seed)
    # the squared form is already non-negative: max over channels of mean(g^2)
    maps = g.max(axis=-1) if squared else to_heatmap(g)
    return Explanation("smoothgrad-squared" if squared else "smoothgrad", maps, g,
                       {"samples": samples, "noise": noise})


def smoothgrad(explainer, images, targets, settings) -> Explanation:
    return _smoothgrad(explainer, images, targets, settings, squared=False)


def smoothgrad_squared(explainer, images, targets, settings) -> Explanation:
    return _smoothgrad(explainer, images, targets, settings, squared=True)


register(ExplainMethod(
    "smoothgrad", "SmoothGrad", smoothgrad, order=20, aliases=("sg",), settings=(SAMPLES, NOISE),
    describe=lambda info: f" (n={info['samples']}, noise={info['noise']:g})",
    summary="the gradient averaged over noisy copies (Smilkov et al. 2017)"))
register(ExplainMethod(
    "smoothgrad-squared", "SmoothGrad²", smoothgrad_squared, order=21, in_all=False,
    aliases=("smoothgrad2", "smoothgrad_squared"), settings=(SAMPLES, NOISE),
    describe=lambda info: f" (n={info['samples']}, noise={info['noise']:g})",
    summary="the mean of the squared gradient over noisy copies: magnitudes only"))
