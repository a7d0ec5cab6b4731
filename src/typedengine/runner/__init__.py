"""The runner: RunnerConfig (root of the config tree), Runner, RunState, environment, randomness,
compilation and the run plan.

``RunnerConfig`` (:mod:`.config`) is apart from ``Runner`` (:mod:`.runner`): the runner imports torch, the
root config must not. Public names are in :mod:`typedengine`; this package re-exports nothing.
"""
