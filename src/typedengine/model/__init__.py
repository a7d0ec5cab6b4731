"""Models: the BaseModel contract and ModelConfig, data preprocessors, DDP/FSDP wrapping.

- :mod:`.base` — ``BaseModel`` (an ``nn.Module``); :mod:`.config` — ``ModelConfig`` (torch-free).
- :mod:`.preprocessor` — the preprocessor configs (torch-free); :mod:`.preprocessor_modules` — the modules.
- :mod:`.wrapping` — the ``model_wrapper`` union, ``NoWrapperConfig``, ``DDPConfig``;
  :mod:`.ddp` — ``DDPModel``, unwrapping, gradient sync; :mod:`.fsdp` — ``FSDPConfig`` and FSDP2 state.

A config shares its runtime class's module unless that class is an ``nn.Module`` subclass: such a module
imports torch when imported, and the config layer must not (``--help``, ``--plan``).

Public names are in :mod:`typedengine`; this package re-exports nothing.
"""
