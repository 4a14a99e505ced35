"""mlharbor's client side: boto3 wired to the local edge, and an Estimator-style helper.

>>> import sdk
>>> sm = sdk.client("sagemaker")          # boto3 client on the local edge endpoint
>>> est = sdk.Estimator("mlharbor/pytorch", "s3://bucket/out", entry_point="train.py")
"""

from sdk.estimator import Estimator
from sdk.session import client, endpoint_url, session

__all__ = ["Estimator", "client", "endpoint_url", "session"]
