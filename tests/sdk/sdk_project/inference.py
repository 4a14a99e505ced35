"""The handler PyTorchModel(entry_point="inference.py") puts in model.tar.gz/code/."""

import json
import os

import torch


def model_fn(model_dir):
    model = torch.nn.Linear(2, 1)
    model.load_state_dict(torch.load(os.path.join(model_dir, "model.pth")))
    return model


def input_fn(body, content_type):
    return torch.tensor(json.loads(body), dtype=torch.float32)


def output_fn(prediction, accept):
    return json.dumps({"outputs": prediction.tolist()}), "application/json"
