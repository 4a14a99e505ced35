"""The neptune-export service on the graph port: ``export-pg`` with the ``neptune_ml`` profile.

:mod:`.request` validates a request, :mod:`.snapshot` reads the graph into per-label tables in one
consistent read, :mod:`.training_config` writes Neptune ML's v2.0 ``training-data-configuration.json``,
:mod:`.jobs` runs and records export jobs, :mod:`.routes` is the HTTP face.
"""
