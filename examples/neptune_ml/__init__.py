"""Neptune ML on mlharbor, from the client side: the graphs it is shown on and the workflow in plain boto3.

``cora``: Cora as Neptune bulk-load CSV with the properties Neptune ML reads (``subject``, ``split``, ``words``);
``planted``: a generated heterogeneous graph whose targets are known functions of the neighbourhood;
``workflow``: export → data processing → model training (tuning) → endpoint → Gremlin inference, each step one
boto3 ``neptunedata`` call (or the neptune-export HTTP call) that runs as it would against Amazon Neptune;
``run_cora``: the whole workflow on Cora as a script (``python -m examples.neptune_ml.run_cora``).
"""
