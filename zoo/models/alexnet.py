"""AlexNet family: the single-tower ImageNet AlexNet and a small-input variant."""

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

KRIZHEVSKY_2012 = "Krizhevsky et al. 2012, ImageNet Classification with Deep Convolutional Neural Networks"


def _alexnet(input_shape, num_classes, *, name, stem, widths, fc_units, dropout, pool_padding):
    """conv1 (stem) - pool - conv2 - pool - conv3 - conv4 - conv5 - pool - [dropout, fc] x2 - logits."""
    inputs = model_input(input_shape)
    x = preprocess(inputs)
    kernel, stride, pad = stem
    if pad:
        x = layers.ZeroPadding2D(pad, name="conv1_pad")(x)
    x = layers.Conv2D(widths[0], kernel, strides=stride, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(3, strides=2, padding=pool_padding, name="pool1")(x)
    x = layers.Conv2D(widths[1], 5, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(3, strides=2, padding=pool_padding, name="pool2")(x)
    x = layers.Conv2D(widths[2], 3, padding="same", activation="relu", name="conv3")(x)
    x = layers.Conv2D(widths[3], 3, padding="same", activation="relu", name="conv4")(x)
    x = layers.Conv2D(widths[4], 3, padding="same", activation="relu", name="conv5")(x)
    x = layers.MaxPooling2D(3, strides=2, padding=pool_padding, name="pool5")(x)
    x = layers.Flatten(name="flatten")(x)
    for i in (1, 2):
        x = layers.Dropout(dropout, name=f"dropout{i}")(x)
        x = layers.Dense(fc_units, activation="relu", name=f"fc{i}")(x)
    return keras.Model(inputs, logits_layer(x, num_classes), name=name)


@register_model(
    "alexnet",
    family="alexnet",
    paper=KRIZHEVSKY_2012,
    input_shape=(224, 224, 3),
    num_classes=1000,
    small_input=False,
    last_conv="conv5",
)
def alexnet(input_shape, num_classes, dropout: float | None = None):
    """AlexNet, single tower (torchvision layout): convs 64-192-384-256-256, FC 4096-4096, dropout 0.5.

    The paper's two GPU towers are merged into one and local response normalisation is dropped
    (as in torchvision and Krizhevsky 2014, "One weird trick"). At 224x224 the last pooling gives
    6x6x256 into FC 4096: 61,100,840 params with 1000 classes. Other input sizes (>= 63 px) change
    only the size of the first FC layer. ``dropout`` (default 0.5) precedes both FC layers.
    """
    check_spatial(input_shape, 63, "alexnet")
    rate = resolve_dropout(dropout, 0.5, "alexnet")
    return _alexnet(
        input_shape, num_classes, name="alexnet", stem=(11, 4, 2), widths=(64, 192, 384, 256, 256),
        fc_units=4096, dropout=rate, pool_padding="valid",
    )


@register_model(
    "alexnet_small",
    family="alexnet",
    paper=KRIZHEVSKY_2012 + " (small-input adaptation)",
    input_shape=(28, 28, 1),
    num_classes=10,
    small_input=True,
    last_conv="conv5",
    recipes=fashion_mnist_recipe(epochs=10, optimizer="adam", lr=0.001, schedule="cosine", warmup_epochs=1.0),
)
def alexnet_small(input_shape, num_classes, dropout: float | None = None):
    """AlexNet for 28-64 px images: 5x5/1 stem, half the conv widths (32-96-192-128-128), FC 512-512.

    The 11x11/4 stem would shrink a 28x28 image to 5x5 before any pooling, so the stem is a 5x5
    stride-1 conv and the poolings pad ('same': 28 -> 14 -> 7 -> 4). Widths are halved and the FC
    layers narrowed to 512 so an epoch of Fashion-MNIST takes minutes on a CPU; the five-conv,
    three-pool, two-FC-with-dropout layout is AlexNet's. ``dropout`` defaults to 0.5.
    """
    check_spatial(input_shape, 8, "alexnet_small")
    rate = resolve_dropout(dropout, 0.5, "alexnet_small")
    return _alexnet(
        input_shape, num_classes, name="alexnet_small", stem=(5, 1, 2), widths=(32, 96, 192, 128, 128),
        fc_units=512, dropout=rate, pool_padding="same",
    )
