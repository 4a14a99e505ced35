"""The Estimator helper: fit() packs the script, runs the job, streams status and logs."""

from __future__ import annotations

import io

import pytest

from sdk import Estimator

SCRIPT = (
    "import argparse, os\n"
    "parser = argparse.ArgumentParser(); parser.add_argument('--greeting'); args = parser.parse_args()\n"
    "print('greeting=' + args.greeting, flush=True)\n"
    "open(os.path.join(os.environ['SM_MODEL_DIR'], 'model.txt'), 'w').write(args.greeting)\n"
)


def make_estimator(harbor, bucket, out, **kwargs) -> Estimator:
    return Estimator(
        image_uri="mlharbor/pytorch",
        output_path=f"s3://{bucket}/estimator",
        sagemaker_client=harbor.client("sagemaker"),
        s3_client=harbor.client("s3"),
        logs_client=harbor.client("logs"),
        out=out,
        **kwargs,
    )


def test_fit_waits_prints_transitions_and_logs_and_returns_model_data(harbor, bucket, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    out = io.StringIO()
    estimator = make_estimator(harbor, bucket, out, entry_point=str(script), hyperparameters={"greeting": "ahoy"})
    name = estimator.fit()
    printed = out.getvalue()
    assert f"[{name}] Training:" in printed
    assert f"[{name}] Completed:" in printed
    assert "greeting=ahoy" in printed
    assert estimator.model_data == f"s3://{bucket}/estimator/{name}/output/model.tar.gz"


def test_fit_raises_with_the_failure_reason(harbor, bucket, tmp_path):
    script = tmp_path / "train.py"
    script.write_text("raise ValueError('no data found')\n")
    estimator = make_estimator(harbor, bucket, io.StringIO(), entry_point=str(script))
    with pytest.raises(RuntimeError, match="no data found"):
        estimator.fit(logs=False)


def test_bad_output_path_is_refused_before_any_call(harbor):
    with pytest.raises(ValueError, match="s3://"):
        Estimator(image_uri="mlharbor/pytorch", output_path="/local/dir")
