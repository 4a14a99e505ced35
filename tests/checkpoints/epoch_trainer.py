"""A training script that checkpoints every epoch and resumes from the newest checkpoint.

Used by the checkpoint tests as a user would write it for SageMaker: checkpoints go to
``SM_CHECKPOINT_DIR`` (``/opt/ml/checkpoints``), written under a temporary name and renamed.
"""

import argparse
import json
import os
import time

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--epoch-seconds", type=float, default=0.3)
args = parser.parse_args()

checkpoint_dir = os.environ.get("SM_CHECKPOINT_DIR", "/opt/ml/checkpoints")
checkpoint = os.path.join(checkpoint_dir, "state.pt")
torch.manual_seed(0)
model = torch.nn.Linear(4, 1)
optimiser = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.randn(64, 4)
y = x.sum(dim=1, keepdim=True)
start = 1
if os.path.exists(checkpoint):
    state = torch.load(checkpoint)
    model.load_state_dict(state["model"])
    optimiser.load_state_dict(state["optimiser"])
    start = state["epoch"] + 1
    print(f"resumed from epoch {state['epoch']}", flush=True)

ran = []
for epoch in range(start, args.epochs + 1):
    optimiser.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimiser.step()
    time.sleep(args.epoch_seconds)
    temporary = checkpoint + ".tmp"
    torch.save({"model": model.state_dict(), "optimiser": optimiser.state_dict(), "epoch": epoch}, temporary)
    os.replace(temporary, checkpoint)
    ran.append(epoch)
    print(f"epoch={epoch} train_loss={loss.item():.5f}", flush=True)

with open(os.path.join(os.environ["SM_MODEL_DIR"], "run.json"), "w") as handle:
    json.dump({"first_epoch_this_attempt": start, "epochs_this_attempt": ran, "last_epoch": args.epochs}, handle)
