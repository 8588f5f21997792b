"""zoo: a Keras 3 / TensorFlow model zoo for computer vision.

Importing this package is cheap (no TensorFlow); submodules import it when they need it.
"""

from zoo.errors import ZooError

__version__ = "0.1.0"
__all__ = ["ZooError", "__version__"]
