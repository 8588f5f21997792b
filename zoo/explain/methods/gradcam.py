"""Grad-CAM (Selvaraju et al. 2017): a conv layer's feature maps weighted by the pooled gradient of
the target logit, rectified and resized to the image. The class itself is in ``zoo.explain.gradcam``.

What it needs from the model (a layer with a 4-D output: its ``layer`` setting, else the registry's
last conv layer) is its ``prepare`` hook, so a bad ``--layer`` fails before any map is computed.
"""

from zoo.explain.registry import ExplainMethod, Explanation, Setting, register

LAYER = Setting("layer", None, None, "Grad-CAM layer (default: the registry's last conv layer).")


def prepare(explainer, settings) -> str:
    from zoo.explain.gradcam import resolve_layer

    layer = explainer.cache.get("gradcam_layer")
    if layer is None:
        layer = explainer.cache["gradcam_layer"] = resolve_layer(explainer.model, settings["layer"],
                                                                 explainer.registry_last_conv)
    return layer


def gradcam(explainer, images, targets, settings) -> Explanation:
    cam = explainer.cache.get("gradcam")
    if cam is None:
        from zoo.explain.gradcam import GradCam

        cam = explainer.cache["gradcam"] = GradCam(explainer.model, prepare(explainer, settings), explainer.batch_size)
    return Explanation("gradcam", cam(images, targets), None, {"layer": cam.layer})


register(ExplainMethod(
    "gradcam", "Grad-CAM", gradcam, order=40, aliases=("grad-cam",), settings=(LAYER,),
    describe=lambda info: f" ({info['layer']})", prepare=prepare,
    report=lambda info: (info, [f"layer {info['layer']}"]),
    summary="a conv layer's maps weighted by their pooled gradients (Selvaraju et al. 2017)"))
