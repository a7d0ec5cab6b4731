"""Hooks: the :class:`~.hook.Hook` base, priorities, and one module per built-in hook (config beside hook).

:mod:`.hook` — the base and the 22 hook points; :mod:`.priority` — MMEngine's 9 named priorities;
:mod:`.choices` — the hook union and ``DefaultHooksConfig``. Each other module holds one hook and its config.

Public names are in :mod:`typedengine`; this package re-exports nothing.
"""
