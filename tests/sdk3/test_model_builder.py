"""SDK v3 ``ModelBuilder``: build the trained model, deploy an endpoint, invoke it."""

from __future__ import annotations

import json
from typing import Any


def test_model_builder_deploys_the_trained_model_and_predicts(trained: Any, session: Any, role: str) -> None:
    from sagemaker.serve.model_builder import ModelBuilder

    from tests.sdk3.conftest import PYTORCH_INFERENCE

    builder = ModelBuilder(model=trained, role_arn=role, sagemaker_session=session, instance_type="ml.m5.large",
                           image_uri=PYTORCH_INFERENCE, content_type="application/json",
                           accept_type="application/json")
    model = builder.build()
    assert model.primary_container.model_data_url == trained._latest_training_job.model_artifacts.s3_model_artifacts
    endpoint = builder.deploy(endpoint_name="sdk3-endpoint", initial_instance_count=1)
    try:
        assert endpoint.endpoint_status == "InService"
        answer = endpoint.invoke(body=json.dumps({"values": [1, 2, 3]}), content_type="application/json",
                                 accept="application/json")
        assert json.loads(answer.body.read()) == {"rows": 3, "scale": 2.0, "sum": 12.0}
    finally:
        endpoint.delete()
