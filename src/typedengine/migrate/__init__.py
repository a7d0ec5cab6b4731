"""``typedengine migrate``: MMEngine config files in, typed experiment files out.

The pieces, one idea each: :mod:`.read` reads a config tree the way MMEngine's ``Config.fromfile`` does
(``_base_``, merging, ``_delete_``, ``{{_base_.x}}``) through :mod:`.evaluate` and :mod:`.expressions`,
which never run the file; the ``map_*`` modules translate the Runner-level keys into typedengine configs
(:mod:`.experiment` holds the result, :mod:`.check` runs typedengine's own root checks on it);
:mod:`.write` writes the experiment file; :mod:`.command` is the CLI and :func:`.command.migrate` the
function behind it.

Example::

    typedengine migrate configs/resnet18_8xb16_cifar10.py > exp.py
    python exp.py --plan
"""
