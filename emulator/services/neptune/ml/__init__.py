"""Neptune ML on the graph server: the neptunedata ML operations, backed by mlharbor's SageMaker jobs.

``routes`` serves the operations, ``responses`` reads and shapes their wire, ``jobs`` runs the orchestration
(SageMaker processing, tuning and endpoints through boto3 on the edge), ``records``/``store`` keep the state.
The neptune-export service lives in ``export/``, the Gremlin inference steps in ``inference/``.
"""
