"""ResNet family (He et al. 2016): ImageNet ResNet-18/34/50/101/152 and CIFAR ResNet-20/32/44/56/110."""

from __future__ import annotations

import keras
from keras import layers, ops

from zoo.models.common import check_spatial, fashion_mnist_recipe, logits_layer, model_input, preprocess
from zoo.registry import register_model

HE_2016 = "He et al. 2016, Deep Residual Learning for Image Recognition"


def _conv_bn(x, filters, kernel_size, strides, name, relu=True):
    # Convs without bias: the BN that follows has its own shift (beta).
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def basic_block(x, filters: int, strides: int, name: str, shortcut: str = "B"):
    """Two 3x3 convs; the identity shortcut is projected (B) or zero-padded (A) when shapes change."""
    y = _conv_bn(x, filters, 3, strides, f"{name}_1")
    y = _conv_bn(y, filters, 3, 1, f"{name}_2", relu=False)
    return _merge(x, y, filters, strides, name, shortcut)


def bottleneck_block(x, filters: int, strides: int, name: str, shortcut: str = "B"):
    """1x1 reduce, 3x3 (strided, as torchvision's "v1.5"), 1x1 expand to 4x ``filters``."""
    y = _conv_bn(x, filters, 1, 1, f"{name}_1")
    y = _conv_bn(y, filters, 3, strides, f"{name}_2")
    y = _conv_bn(y, filters * 4, 1, 1, f"{name}_3", relu=False)
    return _merge(x, y, filters * 4, strides, name, shortcut)


def _merge(x, y, filters, strides, name, shortcut):
    if strides != 1 or x.shape[-1] != filters:
        if shortcut == "A":
            x = zero_pad_shortcut(x, filters, strides, name=f"{name}_0")
        else:
            x = _conv_bn(x, filters, 1, strides, f"{name}_0", relu=False)
    y = layers.Add(name=f"{name}_add")([x, y])
    return layers.ReLU(name=f"{name}_out")(y)


def zero_pad_shortcut(x, filters: int, strides: int, name: str):
    """Option A shortcut of He et al. 2016: subsample by ``strides``, zero-pad the extra channels.

    Parameter-free, so the CIFAR ResNets keep the paper's parameter counts. Built from Keras's own
    layers only (a 1x1 max-pool with a stride is ``x[:, ::s, ::s]``; channels are padded as the
    third axis of a 3D zero padding), so plain ``keras.saving.load_model`` reads the saved models
    without importing zoo.
    """
    x = layers.MaxPooling2D(1, strides=strides, name=f"{name}_subsample")(x)
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    extra = filters - c
    x = layers.Reshape((h, w, c, 1), name=f"{name}_expand")(x)
    x = layers.ZeroPadding3D(((0, 0), (0, 0), (extra // 2, extra - extra // 2)), name=f"{name}_zeros")(x)
    return layers.Reshape((h, w, filters), name=f"{name}_pad")(x)


@keras.saving.register_keras_serializable(package="zoo")
class ZeroPadShortcut(layers.Layer):
    """The option A shortcut as one custom layer, as models saved before zoo 0.2 hold it.

    Kept registered only so those run directories still load; new models use ``zero_pad_shortcut``.
    """

    def __init__(self, filters: int, strides: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.strides = int(strides)

    def call(self, x):
        x = x[:, :: self.strides, :: self.strides, :]
        extra = self.filters - x.shape[-1]
        return ops.pad(x, [[0, 0], [0, 0], [0, 0], [extra // 2, extra - extra // 2]])

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        s = self.strides
        return (b, None if h is None else -(-h // s), None if w is None else -(-w // s), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "strides": self.strides}


# ------------------------------------------------------------------ ImageNet ResNets (Table 1)

IMAGENET = {
    18: (basic_block, (2, 2, 2, 2)),
    34: (basic_block, (3, 4, 6, 3)),
    50: (bottleneck_block, (3, 4, 6, 3)),
    101: (bottleneck_block, (3, 4, 23, 3)),
    152: (bottleneck_block, (3, 8, 36, 3)),
}


def _imagenet_resnet(input_shape, num_classes, depth: int):
    name = f"resnet{depth}"
    check_spatial(input_shape, 32, name)
    block, counts = IMAGENET[depth]
    inputs = model_input(input_shape)
    x = preprocess(inputs)
    x = _conv_bn(x, 64, 7, 2, "conv1")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    for stage, (n, filters) in enumerate(zip(counts, (64, 128, 256, 512)), start=2):
        for b in range(1, n + 1):
            x = block(x, filters, 2 if (b == 1 and stage > 2) else 1, f"conv{stage}_block{b}")
    x = layers.GlobalAveragePooling2D(name="avgpool")(x)
    return keras.Model(inputs, logits_layer(x, num_classes), name=name)


def _register_imagenet(depth: int):
    block, counts = IMAGENET[depth]
    kind = "basic (two 3x3 convs)" if block is basic_block else "bottleneck (1x1-3x3-1x1)"

    def build(input_shape, num_classes):
        return _imagenet_resnet(input_shape, num_classes, depth)

    build.__name__ = build.__qualname__ = f"resnet{depth}"
    build.__doc__ = (
        f"ResNet-{depth}: 7x7/2 stem, max-pool, {'-'.join(map(str, counts))} {kind} blocks at 64-128-256-512 "
        "filters, global average pool, logits.\n\n"
        "Convs have no bias and are followed by BN; shortcuts that change shape are 1x1 projections "
        "(option B); strides sit in the 3x3 convs (torchvision). The paper has no dropout."
    )
    return register_model(
        f"resnet{depth}",
        family="resnet",
        paper=HE_2016,
        input_shape=(224, 224, 3),
        num_classes=1000,
        small_input=False,
        last_conv=f"conv5_block{counts[-1]}_out",
    )(build)


resnet18 = _register_imagenet(18)
resnet34 = _register_imagenet(34)
resnet50 = _register_imagenet(50)
resnet101 = _register_imagenet(101)
resnet152 = _register_imagenet(152)


# ------------------------------------------------------------------ CIFAR ResNets (Section 4.2)


def _cifar_resnet(input_shape, num_classes, depth: int):
    n = (depth - 2) // 6
    name = f"resnet{depth}"
    check_spatial(input_shape, 4, name)
    inputs = model_input(input_shape)
    x = preprocess(inputs)
    x = _conv_bn(x, 16, 3, 1, "conv1")
    for stage, filters in enumerate((16, 32, 64), start=2):
        for b in range(1, n + 1):
            x = basic_block(x, filters, 2 if (b == 1 and stage > 2) else 1, f"conv{stage}_block{b}", shortcut="A")
    x = layers.GlobalAveragePooling2D(name="avgpool")(x)
    return keras.Model(inputs, logits_layer(x, num_classes), name=name)


def _register_cifar(depth: int, recipes: dict | None = None):
    n = (depth - 2) // 6

    def build(input_shape, num_classes):
        return _cifar_resnet(input_shape, num_classes, depth)

    build.__name__ = build.__qualname__ = f"resnet{depth}"
    build.__doc__ = (
        f"CIFAR ResNet-{depth} (6n+2, n={n}): 3x3 conv (16), three stages of {n} basic blocks at 16-32-64 "
        "filters, global average pool, logits.\n\n"
        "The small-input ResNet of the paper (Section 4.2), unchanged: it was designed for 32x32 images "
        "and works as is on 28x28 ones (feature maps 28 -> 14 -> 7). Shortcuts use option A "
        "(identity; subsample and zero-pad channels where the shape changes), so it has no projection "
        "weights."
    )
    return register_model(
        f"resnet{depth}",
        family="resnet",
        paper=HE_2016 + " (CIFAR-10 models, Sec. 4.2)",
        input_shape=(32, 32, 3),
        num_classes=10,
        small_input=True,
        last_conv=f"conv4_block{n}_out",
        recipes=recipes or {},
    )(build)


# SGD with Nesterov momentum and L2, the paper's optimizer, on a cosine schedule short enough for
# 75 minutes of 2 CPU cores (about 285 s an epoch at 28x28)
# 28 epochs fit 75 minutes on 2 cores only in bf16 (125-150 s an epoch on an AVX512_BF16 CPU), hence
# precision "auto"; an AVX2-only CPU trains the same recipe in float32, about 3x slower.
resnet20 = _register_cifar(20, recipes=fashion_mnist_recipe(epochs=28, optimizer="nesterov", lr=0.1, weight_decay=5e-4,
                                                            schedule="cosine", warmup_epochs=1.0, label_smoothing=0.1,
                                                            precision="auto"))
resnet32 = _register_cifar(32)
resnet44 = _register_cifar(44)
resnet56 = _register_cifar(56)
resnet110 = _register_cifar(110)
