"""Trains the smallest "model" there is: the channel's row count times the ``scale`` hyperparameter.

Run by SDK v3's ModelTrainer (its basic script driver calls ``python train.py --scale 2``); it puts
``code/inference.py`` into the model so AWS's PyTorch inference convention serves it.
"""

import argparse
import json
import os
import shutil

parser = argparse.ArgumentParser()
parser.add_argument("--scale", type=float, default=1.0)
args = parser.parse_args()

channel = os.environ["SM_CHANNEL_TRAIN"]
rows = 0
for name in sorted(os.listdir(channel)):
    with open(os.path.join(channel, name)) as data:
        rows += sum(1 for _ in data)
score = rows * args.scale
print(f"rows={rows}")
print(f"validation:score={score}")

model_dir = os.environ["SM_MODEL_DIR"]
os.makedirs(os.path.join(model_dir, "code"), exist_ok=True)
with open(os.path.join(model_dir, "model.json"), "w") as out:
    json.dump({"rows": rows, "scale": args.scale}, out)
shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "inference.py"),
            os.path.join(model_dir, "code", "inference.py"))
