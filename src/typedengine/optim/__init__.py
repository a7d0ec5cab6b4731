"""Optimization: optimizer configs, optim wrappers (default, AMP, dict), gradient clipping, paramwise rules,
LR auto-scaling, config checks, and the parameter schedulers (:mod:`.schedulers`).

Public names are in :mod:`typedengine`; this package re-exports nothing.
"""
