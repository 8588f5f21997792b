"""Every figure the CLI writes. Matplotlib's object API with the Agg canvas: no pyplot state.

One module per feature (training.py, data.py, explain.py, attack.py, ensemble.py); shared helpers
live in common.py.
"""
