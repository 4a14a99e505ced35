"""What runs inside a Glue job run: the job driver, the clean-room ``awsglue`` module and its helpers.

L1's runner puts this folder first on the job's ``PYTHONPATH``, so a script imports ``awsglue`` and
``mlharbor_glue`` as top-level packages, as it would on AWS. Nothing here imports the server.
"""
