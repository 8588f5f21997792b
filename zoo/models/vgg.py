"""VGG family (Simonyan & Zisserman 2014): VGG-11/13/16/19, their batch-norm versions, a small VGG."""

from __future__ import annotations

import keras
from keras import layers

from zoo.models.common import (
    check_spatial,
    fashion_mnist_recipe,
    logits_layer,
    model_input,
    preprocess,
    resolve_dropout,
)
from zoo.registry import register_model

SIMONYAN_2014 = "Simonyan & Zisserman 2014, Very Deep Convolutional Networks for Large-Scale Image Recognition"
IOFFE_2015 = "Ioffe & Szegedy 2015 (batch norm)"

# Convs per block (the paper's configurations A, B, D, E); block widths 64-128-256-512-512.
DEPTHS = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
WIDTHS = (64, 128, 256, 512, 512)


def _conv_stack(x, depths, widths, batch_norm: bool, pool_padding: str = "valid"):
    """VGG blocks: ``n`` 3x3 convs (+ BN) + ReLU, then 2x2 max pooling; layers ``block{b}_conv{i}``."""
    for b, (n, width) in enumerate(zip(depths, widths), start=1):
        for i in range(1, n + 1):
            conv = f"block{b}_conv{i}"
            # torchvision's VGG-BN keeps the conv bias (the published counts include it)
            x = layers.Conv2D(width, 3, padding="same", name=conv)(x)
            if batch_norm:
                x = layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name=f"{conv}_bn")(x)
            x = layers.ReLU(name=f"{conv}_relu")(x)
        x = layers.MaxPooling2D(2, padding=pool_padding, name=f"block{b}_pool")(x)
    return x


def _vgg(input_shape, num_classes, depth: int, batch_norm: bool, dropout):
    name = f"vgg{depth}" + ("_bn" if batch_norm else "")
    check_spatial(input_shape, 32, name)
    rate = resolve_dropout(dropout, 0.5, name)
    inputs = model_input(input_shape)
    x = _conv_stack(preprocess(inputs), DEPTHS[depth], WIDTHS, batch_norm)
    x = layers.Flatten(name="flatten")(x)
    for i in (1, 2):
        x = layers.Dense(4096, activation="relu", name=f"fc{i}")(x)
        x = layers.Dropout(rate, name=f"dropout{i}")(x)
    return keras.Model(inputs, logits_layer(x, num_classes), name=name)


def _register(depth: int, batch_norm: bool):
    name = f"vgg{depth}" + ("_bn" if batch_norm else "")

    def build(input_shape, num_classes, dropout: float | None = None):
        return _vgg(input_shape, num_classes, depth, batch_norm, dropout)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = (
        f"VGG-{depth}{' with batch norm after every conv' if batch_norm else ''}: {sum(DEPTHS[depth])} 3x3 "
        "convs in five blocks (64-128-256-512-512), FC 4096-4096 with dropout 0.5, logits.\n\n"
        "At 224x224 the last pooling gives 7x7x512 into FC 4096 (torchvision's layout; other inputs "
        ">= 32 px change only the first FC layer). ``dropout`` (default 0.5) follows both FC layers."
    )
    return register_model(
        name,
        family="vgg",
        paper=SIMONYAN_2014 + ("; " + IOFFE_2015 if batch_norm else ""),
        input_shape=(224, 224, 3),
        num_classes=1000,
        small_input=False,
        last_conv=f"block5_conv{DEPTHS[depth][-1]}",
    )(build)


vgg11 = _register(11, False)
vgg13 = _register(13, False)
vgg16 = _register(16, False)
vgg19 = _register(19, False)
vgg11_bn = _register(11, True)
vgg13_bn = _register(13, True)
vgg16_bn = _register(16, True)
vgg19_bn = _register(19, True)


@register_model(
    "vgg_small",
    family="vgg",
    paper=SIMONYAN_2014 + " (small-input adaptation, with batch norm)",
    input_shape=(28, 28, 1),
    num_classes=10,
    small_input=True,
    last_conv="block3_conv3",
    recipes=fashion_mnist_recipe(epochs=14, optimizer="adam", lr=0.002, schedule="cosine", warmup_epochs=1.0),
)
def vgg_small(input_shape, num_classes, dropout: float | None = None, batch_norm: bool = True):
    """A VGG for 28-64 px images: three blocks of 3x3 convs (2x32, 2x64, 3x128), FC 256, logits.

    Five 2x2 poolings would reduce a 28x28 image to nothing, so only three blocks are kept
    (28 -> 14 -> 7 -> 4 with padded pooling) at half of VGG's widths and with a narrow 256-unit
    head instead of 4096-4096: 0.96M params, an epoch of Fashion-MNIST in minutes on a CPU.
    Batch norm after each conv (``batch_norm``, default on) makes it train without VGG's staged
    initialisation. ``dropout`` (default 0.5) precedes the output.
    """
    check_spatial(input_shape, 8, "vgg_small")
    rate = resolve_dropout(dropout, 0.5, "vgg_small")
    inputs = model_input(input_shape)
    x = _conv_stack(preprocess(inputs), (2, 2, 3), (32, 64, 128), bool(batch_norm), pool_padding="same")
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(256, activation="relu", name="fc1")(x)
    x = layers.Dropout(rate, name="dropout1")(x)
    return keras.Model(inputs, logits_layer(x, num_classes), name="vgg_small")
