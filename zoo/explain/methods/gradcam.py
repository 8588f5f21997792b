"""Grad-CAM (Selvaraju et al. 2017): a conv layer's feature maps weighted by the pooled gradient of
the target logit, rectified and resized to the image. The class itself is in ``zoo.explain.gradcam``."""

from zoo.explain.registry import ExplainMethod, Explanation, Setting, register

LAYER = Setting("layer", None, None, "Grad-CAM layer (default: the registry's last conv layer).")


def gradcam(explainer, images, targets) -> Explanation:
    cam = explainer.cache.get("gradcam")
    if cam is None:
        from zoo.explain.gradcam import GradCam

        cam = explainer.cache["gradcam"] = GradCam(explainer.model, explainer.gradcam_layer, explainer.batch_size)
    return Explanation("gradcam", cam(images, targets), None, {"layer": cam.layer})


register(ExplainMethod(
    "gradcam", "Grad-CAM", gradcam, order=40, aliases=("grad-cam",), settings=(LAYER,),
    describe=lambda info: f" ({info['layer']})",
    summary="a conv layer's maps weighted by their pooled gradients (Selvaraju et al. 2017)"))
