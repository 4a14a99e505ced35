"""``mlharbor/pytorch``: SageMaker's PyTorch framework container, script mode."""
