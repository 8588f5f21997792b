"""zoo: a Keras 3 / TensorFlow model zoo for computer vision, from the command line or from Python.

    import zoo
    x, y, names = zoo.load_data("fashion_mnist", "test", n=256)      # pixels in [0, 255], labels, names
    model = zoo.create_model("simplenet", pretrained=True)           # a plain keras.Model, trained
    zoo.evaluate(model, x, y)["accuracy"]
    zoo.plots.heatmaps(zoo.explain(model, x[:8], "gradcam"))          # a matplotlib Figure
    adv = zoo.attack(model, x, y, "pgd", eps=8)                       # adv.adversarial, adv.robust_accuracy
    new = zoo.create_model("simplenet", pretrained=True, num_classes=3, freeze=True)  # independent copy, new head

Every entry point has a docstring with an example (``help(zoo.train)``); docs/python.md walks
through a whole lab. Importing this package is cheap (no TensorFlow); the functions import it
when called.
"""

import importlib as _importlib
import sys as _sys
import types as _types

from zoo.errors import ZooError
from zoo.version import __version__

# name -> module that defines it (PEP 562: loaded on first use, listed by dir() and tab completion)
_API = {
    "load_data": "zoo.api", "create_model": "zoo.api", "load_model": "zoo.api", "save_model": "zoo.api",
    "model_info": "zoo.api", "train": "zoo.api", "evaluate": "zoo.api", "predict": "zoo.api",
    "explain": "zoo.api", "attack": "zoo.api", "ensemble": "zoo.api", "export": "zoo.api",
}
_MODULES = ("plots",)  # subpackages offered as attributes: zoo.plots.heatmaps(...)
__all__ = ["ZooError", "__version__", "list_models", *_API, *_MODULES]


def list_models(pattern: str | None = None, pretrained: bool = False) -> list[str]:
    """Registered model names (``pattern``: a glob or substring); ``pretrained=True``: only shipped ones.

    >>> import zoo
    >>> zoo.list_models(pretrained=True)[:2]
    ['alexnet_small', 'googlenet_small']
    """
    from zoo.registry import list_models as specs

    return [s.name for s in specs(pattern) if not pretrained or s.weights_shipped]


# Five entry points share their name with the zoo module that implements them (zoo/explain/,
# zoo/attack/, zoo/export.py, zoo/predict.py, zoo/ensemble.py). Importing such a module makes it
# the package's attribute, so that module becomes callable: ``zoo.explain(model, x)`` runs the API
# function and ``zoo.explain.Explainer`` is still the module's. Nothing is imported early for it.
_CALLABLE = ("attack", "ensemble", "explain", "export", "predict")


class _CallableModule(_types.ModuleType):
    """A zoo module that is also the API function of the same name (see ``_CALLABLE``)."""

    def __call__(self, *args, **kwargs):
        return getattr(_importlib.import_module("zoo.api"), self.__name__.rpartition(".")[2])(*args, **kwargs)

    def __dir__(self):
        own = self.__dict__.get("__dir__")
        if callable(own):
            return own()
        public = {k for k in self.__dict__ if not k.startswith("_")}
        return sorted(public | set(self.__dict__.get("__all__", ())))


def _make_callable(module):
    if type(module) is _types.ModuleType:
        import inspect

        fn = getattr(_importlib.import_module("zoo.api"), module.__name__.rpartition(".")[2])
        module.__class__ = _CallableModule
        module.__signature__ = inspect.signature(fn)
        module.__doc__ = f"{fn.__doc__}\n    Module {module.__name__}: {module.__doc__ or ''}"
    return module


class _Package(_types.ModuleType):
    def __setattr__(self, name, value):
        if name in _CALLABLE and isinstance(value, _types.ModuleType):
            _make_callable(value)
        super().__setattr__(name, value)


def __getattr__(name):
    if name in _CALLABLE:
        value = _make_callable(_importlib.import_module(f"zoo.{name}"))
    elif name in _API:
        value = getattr(_importlib.import_module(_API[name]), name)
    elif name in _MODULES:
        value = _importlib.import_module(f"zoo.{name}")
    else:
        raise AttributeError(f"module 'zoo' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)


_sys.modules[__name__].__class__ = _Package
