"""The Neptune ML model client: Gremlin ML queries answered by a SageMaker endpoint (InvokeEndpoint).

``endpoints``: which SageMaker endpoint a ``Neptune#ml.endpoint`` value names; ``payload``: the request
body built from an :class:`~emulator.services.neptune.gremlin.ml.query.MLQuery` and the answer read back
(the format is the Neptune ML helpers' contract, section 6); ``client``: the call through the edge.
"""

from emulator.services.neptune.ml.inference.client import SageMakerInference

__all__ = ["SageMakerInference"]
