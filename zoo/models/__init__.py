"""Model families. Importing this package registers every model in ``zoo.registry``."""

from zoo.models import alexnet, inception, lenet, resnet, vgg  # noqa: F401
