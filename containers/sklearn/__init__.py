"""The ``mlharbor/sklearn`` image: SageMaker's scikit-learn container (script mode: train, serve, process)."""
