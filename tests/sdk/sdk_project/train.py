"""A user's training script as the sagemaker SDK ships it (source_dir), run in script mode."""

import argparse
import os

import torch
from helpers import describe  # a module beside the entry point: source_dir really was shipped

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=1)
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--tag", type=str, default="")
args = parser.parse_args()
print(describe(args), flush=True)
model = torch.nn.Linear(2, 1)
with torch.no_grad():
    model.weight.fill_(1.0)
    model.bias.fill_(float(args.epochs))
for epoch in range(args.epochs):
    print(f"epoch={epoch} loss={1.0 / (epoch + 1):.3f}", flush=True)
torch.save(model.state_dict(), os.path.join(os.environ["SM_MODEL_DIR"], "model.pth"))
