"""Loops: train (epoch- and iteration-based), validation and test loops, and their configs.

:mod:`.base` — the train-loop base; :mod:`.epoch_based`, :mod:`.iter_based`, :mod:`.evaluation` — one loop
and its config each; :mod:`.choices` — the train-loop union; :mod:`.intervals` — interval arithmetic.

Public names are in :mod:`typedengine`; this package re-exports nothing.
"""
