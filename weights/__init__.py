"""Trained weights shipped with the package; read through importlib.resources (see manifest.json)."""
