"""Inception v1 / GoogLeNet (Szegedy et al. 2014), with optional auxiliary classifiers.

Auxiliary classifiers (``aux_logits=True``): the model then has three outputs,
``[logits, aux1_logits, aux2_logits]``, all (batch, classes) logits. They exist for training only:
train with the sum of the three cross-entropies weighted ``1, 0.3, 0.3`` (the paper's
``AUX_LOSS_WEIGHT``), e.g. ``model.compile(loss=[ce, ce, ce], loss_weights=[1, 0.3, 0.3])``,
then keep the main head with ``main_head(model)`` (same layers and weights, one output) for
evaluation, saliency and attacks. Without them (the default) the model is an ordinary classifier.
"""

from __future__ import annotations

import keras
from keras import layers

from zoo.models.common import (
    LOGITS,
    check_spatial,
    conv_bn_relu,
    fashion_mnist_recipe,
    logits_layer,
    model_input,
    preprocess,
    resolve_dropout,
)
from zoo.registry import register_model

SZEGEDY_2014 = "Szegedy et al. 2014, Going Deeper with Convolutions"
AUX_LOSS_WEIGHT = 0.3

# Table 1: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj
INCEPTION = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def inception_module(x, filters, name: str):
    """Four parallel branches (1x1; 1x1->3x3; 1x1->5x5; 3x3 max-pool->1x1) concatenated."""
    f1, f3r, f3, f5r, f5, fp = filters
    b1 = conv_bn_relu(x, f1, 1, name=f"{name}_1x1")
    b3 = conv_bn_relu(x, f3r, 1, name=f"{name}_3x3_reduce")
    b3 = conv_bn_relu(b3, f3, 3, name=f"{name}_3x3")
    b5 = conv_bn_relu(x, f5r, 1, name=f"{name}_5x5_reduce")
    b5 = conv_bn_relu(b5, f5, 5, name=f"{name}_5x5")
    bp = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    bp = conv_bn_relu(bp, fp, 1, name=f"{name}_pool_proj")
    return layers.Concatenate(name=f"{name}_concat")([b1, b3, b5, bp])


def aux_classifier(x, num_classes: int, name: str, width: float = 1.0):
    """5x5/3 average pool, 1x1 conv 128, FC 1024, dropout 0.7, logits (the paper's side heads)."""
    if min(x.shape[1], x.shape[2]) >= 5:
        x = layers.AveragePooling2D(5, strides=3, name=f"{name}_pool")(x)
    else:  # small inputs: the map is already smaller than the pooling window
        x = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_pool")(x)
    x = conv_bn_relu(x, int(128 * width), 1, name=f"{name}_conv")
    x = layers.Flatten(name=f"{name}_flatten")(x)
    x = layers.Dense(int(1024 * width), activation="relu", name=f"{name}_fc")(x)
    x = layers.Dropout(0.7, name=f"{name}_dropout")(x)
    return layers.Dense(num_classes, name=f"{name}_logits")(x)


def _googlenet(x, inputs, num_classes, *, name, width, dropout, aux_logits):
    """Inception 3a-3b, pool, 4a-4e, pool, 5a-5b, global average pool, dropout, logits."""

    def module(x, key):
        return inception_module(x, [max(1, int(f * width)) for f in INCEPTION[key]], f"inception{key}")

    aux = []
    x = module(x, "3a")
    x = module(x, "3b")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool3")(x)
    for key in ("4a", "4b", "4c", "4d", "4e"):
        x = module(x, key)
        if aux_logits and key in ("4a", "4d"):
            aux.append(aux_classifier(x, num_classes, f"aux{len(aux) + 1}", width))
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool4")(x)
    x = module(x, "5a")
    x = module(x, "5b")
    # the paper's 7x7 average pool is global at 224x224; global pooling keeps other sizes working
    x = layers.GlobalAveragePooling2D(name="avgpool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = logits_layer(x, num_classes)
    return keras.Model(inputs, [outputs, *aux] if aux_logits else outputs, name=name)


@register_model(
    "googlenet",
    family="inception",
    paper=SZEGEDY_2014,
    input_shape=(224, 224, 3),
    num_classes=1000,
    small_input=False,
    last_conv="inception5b_concat",
)
def googlenet(input_shape, num_classes, dropout: float | None = None, aux_logits: bool = False):
    """GoogLeNet (Inception v1) with Table 1's filter counts, real 5x5 branches and BN after every conv.

    Stem: conv 7x7/2 (64), max-pool, conv 1x1 (64), conv 3x3 (192), max-pool; then nine inception
    modules and global average pooling, dropout 0.4, logits. Convs have no bias (BN follows) and
    the local response normalisation of the paper is replaced by BN, as in torchvision (which,
    unlike this model, uses 3x3 convs in the "5x5" branch). 7,005,832 trainable params at
    224x224x3 with 1000 classes. ``aux_logits=True`` adds the two auxiliary classifiers after 4a
    and 4d as extra outputs (see the module docstring for how to train with them).
    """
    check_spatial(input_shape, 32, "googlenet")
    rate = resolve_dropout(dropout, 0.4, "googlenet")
    inputs = model_input(input_shape)
    x = preprocess(inputs)
    x = conv_bn_relu(x, 64, 7, strides=2, name="conv1")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    x = conv_bn_relu(x, 64, 1, name="conv2_reduce")
    x = conv_bn_relu(x, 192, 3, name="conv2")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool2")(x)
    return _googlenet(x, inputs, num_classes, name="googlenet", width=1.0, dropout=rate, aux_logits=bool(aux_logits))


@register_model(
    "googlenet_small",
    family="inception",
    paper=SZEGEDY_2014 + " (small-input adaptation)",
    input_shape=(28, 28, 1),
    num_classes=10,
    small_input=True,
    last_conv="inception5b_concat",
    # 18 epochs fit 75 minutes on 2 cores only in bf16 (about 200 s an epoch on an AVX512_BF16 CPU),
    # hence precision "auto"; an AVX2-only CPU trains the same recipe in float32 at ~750 s an epoch
    recipes=fashion_mnist_recipe(epochs=18, optimizer="adam", lr=0.002, schedule="cosine", warmup_epochs=0.5,
                                 label_smoothing=0.1, precision="auto"),
)
def googlenet_small(input_shape, num_classes, dropout: float | None = None, aux_logits: bool = False):
    """GoogLeNet for 28-64 px images: 3x3/1 stem with one pooling, all nine modules at half width.

    The 224 px stem (7x7/2 conv and two poolings, /8) would leave a 28x28 image 4x4 before the
    first module, so the stem is conv 3x3 (32), max-pool, conv 1x1 (32), conv 3x3 (96) and the
    modules see 14x14 -> 7x7 -> 4x4. Every module keeps its four branches with half of Table 1's
    filters so an epoch of Fashion-MNIST stays in CPU minutes. ``dropout`` defaults to 0.4,
    ``aux_logits`` works as in ``googlenet``.
    """
    check_spatial(input_shape, 8, "googlenet_small")
    rate = resolve_dropout(dropout, 0.4, "googlenet_small")
    inputs = model_input(input_shape)
    x = preprocess(inputs)
    x = conv_bn_relu(x, 32, 3, name="conv1")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    x = conv_bn_relu(x, 32, 1, name="conv2_reduce")
    x = conv_bn_relu(x, 96, 3, name="conv2")
    return _googlenet(
        x, inputs, num_classes, name="googlenet_small", width=0.5, dropout=rate, aux_logits=bool(aux_logits)
    )


def main_head(model):
    """The model without its auxiliary classifiers: same layers and weights, only ``logits`` out."""
    if len(model.outputs) == 1:
        return model
    return keras.Model(model.input, model.get_layer(LOGITS).output, name=model.name)
