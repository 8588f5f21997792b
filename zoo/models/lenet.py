"""LeNet family: LeNet-5 (LeCun et al. 1998) and SimpleNet, the zoo's fast default model."""

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

LECUN_1998 = "LeCun et al. 1998, Gradient-Based Learning Applied to Document Recognition"


@register_model(
    "lenet5",
    family="lenet",
    paper=LECUN_1998,
    input_shape=(28, 28, 1),
    num_classes=10,
    small_input=True,
    last_conv="conv2",
    # Mirroring and 1-pixel shifts: with 2-pixel shifts its 62K parameters underfit (30 epochs: train
    # 90.3%, test 89.75%); with mirroring alone they overfit (40 epochs: train 97.3%, test 89.94%).
    recipes=fashion_mnist_recipe(epochs=40, optimizer="adam", lr=0.002, schedule="cosine", augment="flip,crop=1"),
)
def lenet5(input_shape, num_classes, dropout: float | None = None):
    """LeNet-5: conv 6@5x5, avg-pool, conv 16@5x5, avg-pool, FC 120, FC 84, logits (tanh).

    As in the paper, inputs smaller than 32x32 are zero-padded to 32x32 (28x28 digits sat centred
    in a 32x32 field), so a 28x28 image gives 5x5x16 features into FC 120. C3 is fully connected
    (the paper's partial connection table cut 1998's compute and broke symmetry; full
    connectivity is today's convention), the subsampling layers are plain
    average pooling (no trainable coefficient) and the RBF output is a Dense layer: 61,706 params
    at 28x28x1 with 10 classes. ``dropout`` (default 0, as in the paper) goes before the output.
    """
    check_spatial(input_shape, 1, "lenet5")
    rate = resolve_dropout(dropout, 0.0, "lenet5")
    inputs = model_input(input_shape)
    x = preprocess(inputs)
    h, w = int(input_shape[0]), int(input_shape[1])
    if h < 32 or w < 32:
        pad_h, pad_w = max(0, 32 - h), max(0, 32 - w)
        x = layers.ZeroPadding2D(((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2)), name="pad")(x)
    x = layers.Conv2D(6, 5, activation="tanh", name="conv1")(x)
    x = layers.AveragePooling2D(2, name="pool1")(x)
    x = layers.Conv2D(16, 5, activation="tanh", name="conv2")(x)
    x = layers.AveragePooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(120, activation="tanh", name="fc1")(x)
    x = layers.Dense(84, activation="tanh", name="fc2")(x)
    if rate:
        x = layers.Dropout(rate, name="dropout")(x)
    return keras.Model(inputs, logits_layer(x, num_classes), name="lenet5")


@register_model(
    "simplenet",
    family="lenet",
    paper=LECUN_1998 + " (ReLU/max-pool variant, as Caffe's MNIST example)",
    input_shape=(28, 28, 1),
    num_classes=10,
    small_input=True,
    last_conv="conv2",
    recipes=fashion_mnist_recipe(epochs=40, optimizer="adam", lr=0.002, schedule="cosine"),
)
def simplenet(input_shape, num_classes, dropout: float | None = None):
    """SimpleNet: conv 20@5x5, max-pool, conv 50@5x5, max-pool, FC 256, dropout, logits (ReLU).

    The zoo's default model: a modern LeNet (ReLU, max pooling, 'valid' convs) that reaches about
    90% on Fashion-MNIST in a couple of CPU minutes. 233,196 params at 28x28x1 with 10 classes.
    ``dropout`` (default 0.25) regularises the wide FC layer; it needs inputs of at least 16x16.
    """
    check_spatial(input_shape, 16, "simplenet")
    rate = resolve_dropout(dropout, 0.25, "simplenet")
    inputs = model_input(input_shape)
    x = preprocess(inputs)
    x = layers.Conv2D(20, 5, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(50, 5, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(256, activation="relu", name="fc1")(x)
    if rate:
        x = layers.Dropout(rate, name="dropout")(x)
    return keras.Model(inputs, logits_layer(x, num_classes), name="simplenet")
