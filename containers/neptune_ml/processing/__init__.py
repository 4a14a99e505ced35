"""Neptune ML data processing: the export's CSV and training configuration → the processed graph.

Run by a processing job as ``python3 -m containers.neptune_ml.processing --config-file-name
training-data-configuration.json --model-type heterogeneous|kge --seed 0``. It reads
``/opt/ml/processing/input`` (the export: ``nodes/``, ``edges/`` and the configuration) and writes under
``/opt/ml/processing/output``::

    metadata.json                       the processed graph: types, counts, feature sizes, the target
    model-HPO-configuration.json        the hyperparameter tiers training tunes (edit and re-upload it
                                        to change them, as on Neptune ML)
    feature_transforms.json             the fitted encoder of every feature (features.apply reads them)
    nodes/<type>.ids.json               the vertex ids, in index order
    nodes/<type>.npz                    features [N, D] float32; on the target type labels and
                                        train_mask / val_mask / test_mask
    edges/<src>__<rel>__<dst>.npz       src, dst int64 [E] (indices into the node types' ids),
                                        features [E, D]; edge targets: labels and masks
    edges/<src>__<rel>__<dst>.ids.json  the edge ids, in index order

Modules: :mod:`.config` reads the configuration, :mod:`.tables` the CSV files, :mod:`.targets` labels
and splits, :mod:`.hpo_defaults` the default HPO file, :mod:`.outputs` writes it all.
"""
