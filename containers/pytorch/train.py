"""The ``train`` program of ``mlharbor/pytorch``: script mode through the sagemaker-training toolkit.

The toolkit (https://github.com/aws/sagemaker-training-toolkit) is what AWS's framework
containers run: it reads the job's tree from ``SAGEMAKER_BASE_DIR``, downloads and unpacks
``sagemaker_submit_directory`` (honouring ``S3_ENDPOINT_URL``), decodes JSON-encoded
hyperparameters as the sagemaker SDK sends them, runs ``sagemaker_program`` with the other
hyperparameters as ``--key value`` arguments, and reports failures through
``output/failure`` and the exit code. Like AWS's PyTorch container
(sagemaker-pytorch-training-toolkit), we plug in as the toolkit's framework module so the
user script's stderr is captured into the failure reason.
"""

from __future__ import annotations

import os

#: ``module:function`` the toolkit calls to run the user's code (the toolkit's own variable).
TRAINING_MODULE_ENV = "SAGEMAKER_TRAINING_MODULE"


def run_user_script() -> None:
    """Run ``sagemaker_program`` as a process, capturing its errors (called by the toolkit)."""
    from sagemaker_training import entry_point, environment, runner

    env = environment.Environment()
    entry_point.run(
        env.module_dir,
        env.user_entry_point,
        env.to_cmd_args(),
        env.to_env_vars(),
        capture_error=True,
        runner_type=runner.ProcessRunnerType,
    )


def main() -> None:
    from sagemaker_training import trainer

    os.environ.setdefault(TRAINING_MODULE_ENV, "containers.pytorch.train:run_user_script")
    trainer.train()


if __name__ == "__main__":
    main()
