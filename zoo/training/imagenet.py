"""ImageNet weights for the zoo's faithful models, mapped from keras.applications by layer order."""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
from keras import layers

from zoo.errors import InvalidArgumentError, ModelFileError, UnknownNameError, close_matches_hint
from zoo.surgery import LOGITS

# zoo name -> (keras.applications constructor, weight file Keras caches in ~/.keras/models)
IMAGENET_MODELS = {
    "vgg16": ("VGG16", "vgg16_weights_tf_dim_ordering_tf_kernels.h5"),
    "vgg19": ("VGG19", "vgg19_weights_tf_dim_ordering_tf_kernels.h5"),
}
# keras.applications also has ResNet50, but it is ResNet v1 (stride in the first 1x1 conv of a
# block, explicit 3-pixel stem padding) while the zoo's resnet50 is torchvision's v1.5 (stride in
# the 3x3 conv, "same" padding): the weights fit the shapes but compute another function.
LAYOUT_MISMATCH = {
    "resnet50": "keras.applications' ResNet50 is ResNet v1 (stride in the first 1x1 conv of each block, "
                "explicit stem padding) while the zoo's resnet50 follows torchvision's v1.5 (stride in the "
                "3x3 conv): its ImageNet weights would load but compute a different function",
}
CAFFE_MEAN_RGB = (123.68, 116.779, 103.939)  # keras.applications "caffe" mode subtracts these (as BGR)


def keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "models"


def imagenet_weights_file(name: str, *, download: bool = False) -> Path | None:
    """The cached keras.applications weight file for ``name``; None when it is missing but
    ``download`` is allowed (Keras then fetches it); else a ZooError saying how to get it."""
    if name in LAYOUT_MISMATCH:
        raise InvalidArgumentError(
            f"No ImageNet weights for {name}: {LAYOUT_MISMATCH[name]}. Use --from imagenet with "
            f"{' or '.join(IMAGENET_MODELS)}, or train {name} on your data."
        )
    if name not in IMAGENET_MODELS:
        raise UnknownNameError(
            f"No ImageNet weights for {name!r}: keras.applications covers {', '.join(IMAGENET_MODELS)} "
            "with the zoo's layout." + close_matches_hint(name, IMAGENET_MODELS)
        )
    path = keras_cache_dir() / IMAGENET_MODELS[name][1]
    if not path.is_file():
        if download:
            return None
        raise ModelFileError(
            f"ImageNet weights for {name} are not on this machine: missing {path}. Pass --download to "
            f"let Keras fetch them (needs internet), or on a machine with internet run "
            f"`python -c \"import keras; keras.applications.{IMAGENET_MODELS[name][0]}()\"`, then copy "
            f"~/.keras/models/{path.name} to {path.parent}/."
        )
    return path


def keras_application(name: str, weights="imagenet", *, download: bool = False, **kwargs):
    """The keras.applications model for a zoo name (weights from the local cache unless ``download``)."""
    if weights == "imagenet":
        path = imagenet_weights_file(name, download=download)
        if path is None:
            try:
                return getattr(keras.applications, IMAGENET_MODELS[name][0])(weights="imagenet", **kwargs)
            except Exception as exc:  # no network, a proxy, a truncated file ...
                raise ModelFileError(
                    f"Could not download the ImageNet weights for {name} ({type(exc).__name__}: "
                    f"{str(exc).strip()[:120]}). Place {IMAGENET_MODELS[name][1]} in {keras_cache_dir()}/."
                ) from None
        weights = str(path)
    elif name not in IMAGENET_MODELS:
        imagenet_weights_file(name)  # raises the unknown-name error
    ctor = getattr(keras.applications, IMAGENET_MODELS[name][0])
    return ctor(weights=weights, **kwargs)


def _weighted(model) -> list:
    keep = (layers.Conv2D, layers.Dense, layers.BatchNormalization)
    return [layer for layer in model.layers if isinstance(layer, keep) and layer.weights]


def map_keras_application(zoo_model, app_model) -> list[tuple[str, str]]:
    """Copy a keras.applications model's weights onto the zoo model, layer by layer in order.

    Conv/Dense/BN layers are paired in graph order and must agree in type and shape. The first
    conv's input channels are flipped (caffe BGR -> the zoo's RGB); a conv bias the zoo layer lacks
    (conv followed by BN) is folded into that BN's moving mean; the "standardize" layer is set so
    that rescale + standardize reproduce caffe preprocessing (x - mean, no scaling). With a
    headless ``app_model`` (include_top=False) only the trunk is mapped. Returns the pairs.
    """
    from zoo.models.common import set_standardization

    src, dst = _weighted(app_model), _weighted(zoo_model)
    dst = [layer for layer in dst if layer.name != LOGITS or any(isinstance(s, layers.Dense) for s in src)]
    if len(src) > len(dst):
        raise ModelFileError(
            f"Cannot map {app_model.name} onto {zoo_model.name}: {len(src)} weight layers vs {len(dst)}."
        )
    pairs, pending_bias, first_conv = [], None, True
    for s, d in zip(src, dst):
        if type(s) is not type(d) and not (isinstance(s, layers.Conv2D) and isinstance(d, layers.Conv2D)):
            raise ModelFileError(
                f"Layouts differ at {s.name} ({type(s).__name__}) vs {d.name} ({type(d).__name__}); "
                f"{zoo_model.name} does not match {app_model.name}."
            )
        if isinstance(s, layers.BatchNormalization):
            gamma, beta, mean, var = [w.numpy() for w in s.weights]
            if pending_bias is not None:
                mean = mean - pending_bias
                pending_bias = None
            var = var + (s.epsilon - d.epsilon)  # same normalisation despite different epsilons
            d.set_weights([gamma, beta, mean, var])
        else:
            kernel = s.kernel.numpy()
            if isinstance(s, layers.Conv2D) and first_conv:
                kernel = kernel[:, :, ::-1, :]
                first_conv = False
            if tuple(kernel.shape) != tuple(d.kernel.shape):
                raise ModelFileError(
                    f"Shapes differ at {s.name} {tuple(kernel.shape)} vs {d.name} {tuple(d.kernel.shape)}."
                )
            weights = [kernel]
            bias = s.bias.numpy() if s.use_bias else None
            if d.use_bias:
                weights.append(bias if bias is not None else np.zeros(d.bias.shape, "float32"))
            elif bias is not None:
                pending_bias = bias
            d.set_weights(weights)
        pairs.append((s.name, d.name))
    set_standardization(zoo_model, np.asarray(CAFFE_MEAN_RGB) / 255.0, (1.0 / 255.0) ** 2)
    return pairs


def imagenet_model(name: str, *, weights="imagenet", download: bool = False):
    """The zoo's faithful ``name`` (224x224x3, 1000 classes) carrying keras.applications' weights."""
    from zoo.registry import create_model

    if name not in IMAGENET_MODELS:
        imagenet_weights_file(name)
    app = keras_application(name, weights=weights, download=download)
    model = create_model(name, (224, 224, 3), 1000)
    map_keras_application(model, app)
    return model
