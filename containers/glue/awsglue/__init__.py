"""A clean-room ``awsglue``: the AWS Glue PySpark extensions' public API on plain PySpark DataFrames.

Written by mlharbor from AWS's public documentation of the Glue PySpark extensions (no AWS code, no
AWS ETL jar). A :class:`~awsglue.dynamicframe.DynamicFrame` here wraps a Spark DataFrame: records
are not self-describing and there are no choice types, so ``resolveChoice`` casts. What is covered is
listed in the README section "awsglue (clean-room)".
"""

from .dynamicframe import DynamicFrame, DynamicFrameCollection

__all__ = ["DynamicFrame", "DynamicFrameCollection"]
