"""zoo: a Keras 3 / TensorFlow model zoo for computer vision.

    import zoo
    zoo.list_models(pretrained=True)                   # ['lenet5', 'simplenet', ...]
    model = zoo.create_model("simplenet", pretrained=True)   # a plain keras.Model, trained
    fresh = zoo.create_model("resnet20", input_shape=(28, 28, 1), num_classes=10)

Importing this package is cheap (no TensorFlow); the functions import it when called.
"""

from zoo.errors import ZooError
from zoo.version import __version__
__all__ = ["ZooError", "__version__", "create_model", "list_models"]


def create_model(name: str, pretrained: bool = False, input_shape=None, num_classes=None, **overrides):
    """A Keras model from the registry: fresh, or with ``pretrained=True`` the shipped trained one.

    Fresh models take ``input_shape`` (H, W, C), ``num_classes`` and builder overrides such as
    ``dropout``; a pretrained one is exactly the shipped file (its sha256 checked), so only its own
    shape and class count are accepted. Either way the result is an ordinary ``keras.Model`` that
    outputs logits and takes raw pixels in [0, 255].
    """
    if pretrained:
        if overrides:
            from zoo.errors import InvalidArgumentError

            raise InvalidArgumentError(
                f"pretrained=True loads the shipped {name} as trained; it takes no {', '.join(sorted(overrides))}.")
        from zoo.run import load_pretrained

        return load_pretrained(name, input_shape=input_shape, num_classes=num_classes)
    from zoo.registry import create_model as build

    return build(name, input_shape=input_shape, num_classes=num_classes, **overrides)


def list_models(pattern: str | None = None, pretrained: bool = False) -> list[str]:
    """Registered model names (``pattern``: a glob or substring); ``pretrained=True``: only shipped ones."""
    from zoo.registry import list_models as specs

    return [s.name for s in specs(pattern) if not pretrained or s.weights_shipped]
