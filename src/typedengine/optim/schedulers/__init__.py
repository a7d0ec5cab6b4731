"""Parameter schedulers: MMEngine's 10 schedule kinds, one config each, for lr, momentum or any key.

:mod:`.base` — the chainable scheduler base and the shared config fields (``param``, window, unit);
:mod:`.linear`, :mod:`.step`, :mod:`.simple`, :mod:`.cosine`, :mod:`.one_cycle`, :mod:`.plateau` — the
kinds, config beside scheduler; :mod:`.choices` — the union and ``build_param_schedulers``.

Public names are in :mod:`typedengine`; this package re-exports nothing.
"""
