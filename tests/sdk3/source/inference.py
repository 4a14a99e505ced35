"""The model's handler (sagemaker-pytorch-inference convention): answers rows, scale and the sum of the values."""

import json
import os


def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.json")) as model_file:
        return json.load(model_file)


def input_fn(body, content_type):
    return json.loads(body)


def predict_fn(data, model):
    return {"rows": model["rows"], "scale": model["scale"], "sum": sum(data["values"]) * model["scale"]}


def output_fn(prediction, accept):
    return json.dumps(prediction)
