"""The config layer: the Config base and variant tags, errors with paths, files, layering, JSON arguments,
import refs and the JSON Schema export.

- :mod:`.base` — :class:`~.base.Config`, :data:`~.base.Tag`, :data:`~.base.Variants`, ``replace``.
- :mod:`.errors` — problems named by config path. :mod:`.files` — JSON/YAML load and save.
- :mod:`.layers` — defaults < ``--config FILE`` < ``TYPEDENGINE_...`` variables. :mod:`.flags` — command-line
  checks before tyro parses. :mod:`.json_args` — fields given as one JSON argument. :mod:`.refs` —
  ``ImportRef`` (dotted path <-> object). :mod:`.deferred` — values resolved after parsing.
  :mod:`.annotations` — reading field annotations. :mod:`.schema` — ``typedengine schema``.

Nothing here imports torch, so an experiment's ``--help`` stays fast. Public names are in
:mod:`typedengine`; this package re-exports nothing.
"""
