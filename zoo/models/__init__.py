"""Model families. Importing this package registers every model in ``zoo.registry``."""

from zoo.models import alexnet, lenet, vgg  # noqa: F401
