"""CPU-bound training that checkpoints every epoch (about 20 MB), for the checkpoint benchmark."""

import argparse
import os
import time

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--seconds", type=float, default=60)
args = parser.parse_args()

torch.manual_seed(0)
torch.set_num_threads(1)
model = torch.nn.Sequential(torch.nn.Linear(2000, 2500), torch.nn.ReLU(), torch.nn.Linear(2500, 10))
optimiser = torch.optim.SGD(model.parameters(), lr=0.01)
x, y = torch.randn(256, 2000), torch.randint(0, 10, (256,))
checkpoint = os.path.join(os.environ.get("SM_CHECKPOINT_DIR", "/opt/ml/checkpoints"), "state.pt")
steps, started = 0, time.perf_counter()
while time.perf_counter() - started < args.seconds:
    for _ in range(20):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimiser.step()
        steps += 1
    torch.save(model.state_dict(), checkpoint + ".tmp")
    os.replace(checkpoint + ".tmp", checkpoint)
elapsed = time.perf_counter() - started
print(f"steps={steps} seconds={elapsed:.2f} steps_per_second={steps / elapsed:.3f}", flush=True)
