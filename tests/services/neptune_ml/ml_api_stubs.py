"""Stand-in programs for the Neptune ML orchestration tests (the real ones are containers/neptune_ml/).

``STEP_PROGRAM`` is uploaded beside a test's exported data: the data-processing stand-in copies itself into
the processed data, so the prepare and transform steps find it in their own inputs. ``TRAIN_PROGRAM`` runs in
``mlharbor/pytorch`` script mode as every tuning trial; ``INFERENCE_PROGRAM`` is the endpoint's handler.
Only the SageMaker plumbing is real here: which files each step reads and writes, the tuning spec, the model.
"""

from __future__ import annotations

STEP_PROGRAM = r'''
import io, json, os, shutil, sys, tarfile, time
step, args = sys.argv[1], sys.argv[2:]
if step == "processing":
    source, out = "/opt/ml/processing/input", "/opt/ml/processing/output"
    plan = json.load(open(os.path.join(source, "stub.json")))
    config = args[args.index("--config-file-name") + 1]
    if not os.path.exists(os.path.join(source, config)):
        raise SystemExit(f"no {config} in the exported data")
    if plan.get("fail"):
        raise SystemExit("planted failure: " + plan["fail"])
    time.sleep(plan.get("sleep", 0))
    for name in os.listdir(source):
        if os.path.isfile(os.path.join(source, name)):
            shutil.copy(os.path.join(source, name), out)
    json.dump({"format": "stub", "args": args}, open(os.path.join(out, "metadata.json"), "w"))
elif step == "prepare":
    data = "/opt/ml/processing/input/data"
    plan = json.load(open(os.path.join(data, "stub.json")))
    time.sleep(plan.get("sleep_prepare", 0))
    spec = {"objective": {"Type": "Maximize", "MetricName": "validation:acc"}, "strategy": "Random",
            "parameter_ranges": {"ContinuousParameterRanges": [
                {"Name": "lr", "MinValue": "0.01", "MaxValue": "0.1", "ScalingType": "Linear"}]},
            "static_hyperparameters": {"task": "node_class", "sagemaker_program": "train.py",
                                       "sagemaker_submit_directory": plan["submit_directory"],
                                       "prepare-args": " ".join(args)},
            "tiers_tuned": 1}
    json.dump(spec, open("/opt/ml/processing/output/tuning-spec.json", "w"))
elif step == "transform":
    with tarfile.open("/opt/ml/processing/input/model/model.tar.gz") as archive:
        archive.extractall("/tmp/model")
    open("/tmp/model/transformed.json", "w").write(json.dumps({"data": sorted(os.listdir("/opt/ml/processing/input/data"))}))
    with tarfile.open("/opt/ml/processing/output/model.tar.gz", "w:gz") as archive:
        for name in os.listdir("/tmp/model"):
            archive.add(os.path.join("/tmp/model", name), arcname=name)
else:
    raise SystemExit(f"unknown step {step}")
'''

TRAIN_PROGRAM = r'''
import json, os
hps = json.loads(os.environ["SM_HPS"])
graph = os.environ["SM_CHANNEL_GRAPH"]
assert os.path.exists(os.path.join(graph, "metadata.json")), os.listdir(graph)
lr = float(hps["lr"])
print(f"epoch=1 train_loss=0.5 validation:acc={lr * 5:.4f}", flush=True)
model_dir = os.environ["SM_MODEL_DIR"]
json.dump({"lr": lr, "task": hps["task"]}, open(os.path.join(model_dir, "model.json"), "w"))
os.makedirs(os.path.join(model_dir, "code"), exist_ok=True)
open(os.path.join(model_dir, "code", "inference.py"), "w").write(INFERENCE)
'''

INFERENCE_PROGRAM = r'''
import json, os

def model_fn(model_dir):
    model = json.load(open(os.path.join(model_dir, "model.json")))
    model["transformed"] = os.path.exists(os.path.join(model_dir, "transformed.json"))
    return model

def input_fn(body, content_type):
    return json.loads(body)

def predict_fn(data, model):
    return {"model": model, "asked": data}

def output_fn(prediction, accept):
    return json.dumps(prediction)
'''


def train_source() -> str:
    return f"INFERENCE = {INFERENCE_PROGRAM!r}\n" + TRAIN_PROGRAM
