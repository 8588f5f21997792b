"""One file per attack; each registers itself with ``zoo.attack.registry.register``.

To add an attack: a new file here with its settings rule and its ``Attack`` record (and, if it is
not an iterated signed-gradient step, its tensor function in ``zoo.attack.methods``), plus tests.
"""
