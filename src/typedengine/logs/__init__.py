"""Logging: message hub, log lines, console logger, progress, visualizer and its backends, curve plots.

- :mod:`.history` — ``MessageHub`` / ``History``. :mod:`.processor` — ``LogProcessorConfig``, log lines.
- :mod:`.console` — the console logger. :mod:`.progress` — progress bars.
- :mod:`.visualizer` — ``VisualizerConfig`` and the backends (:mod:`.backends`). :mod:`.plot` — ``typedengine plot``.

Public names are in :mod:`typedengine`; this package re-exports nothing.
"""
