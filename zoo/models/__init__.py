"""Model families. Importing this package registers every model in ``zoo.registry``."""

from zoo.models import lenet  # noqa: F401
