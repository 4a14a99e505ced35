"""The ``train`` program of ``mlharbor/sklearn``: script mode through the sagemaker-training toolkit.

The same run as ``mlharbor/pytorch``'s (AWS's scikit-learn container is a toolkit framework container
too): ``sagemaker_program`` from ``sagemaker_submit_directory`` with the other hyperparameters as
``--key value`` arguments, its errors captured into ``output/failure``.
"""

from __future__ import annotations

from containers.pytorch.train import main

if __name__ == "__main__":
    main()
