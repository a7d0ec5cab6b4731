"""Visualisation backends: local files, TensorBoard, MLflow, W&B — one module each, config beside backend;
:mod:`.choices` holds their union. Public names are in :mod:`typedengine`; this package re-exports nothing.
"""
