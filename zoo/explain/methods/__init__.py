"""One file per explain method; each registers itself with ``zoo.explain.registry.register``.

To add a method: a new file here with its compute function and its ``ExplainMethod`` record, and
its tests. The registry imports every module of this package.
"""
