"""mlharbor's side of a Glue job run: run environment, S3 staging for Spark, bookmarks, Neptune writers.

Used by ``driver.py`` and by the clean-room ``awsglue`` package; scripts may import the Neptune helpers.
"""
