"""A user's training script, unchanged from what would run on SageMaker.

Reads ``train.csv`` / ``val.csv`` (features..., label) from the ``training`` channel,
trains a small MLP, prints one metric line per epoch and saves the model.
"""

import argparse
import json
import os

import torch


def load(path: str) -> tuple[torch.Tensor, torch.Tensor]:
    with open(path) as handle:
        rows = [[float(value) for value in line.split(",")] for line in handle if line.strip()]
    data = torch.tensor(rows)
    return data[:, :-1], data[:, -1].long()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.05)
    args = parser.parse_args()

    channel = os.environ["SM_CHANNEL_TRAINING"]
    x_train, y_train = load(os.path.join(channel, "train.csv"))
    x_val, y_val = load(os.path.join(channel, "val.csv"))
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(x_train.shape[1], args.hidden), torch.nn.ReLU(), torch.nn.Linear(args.hidden, 2)
    )
    optimiser = torch.optim.Adam(model.parameters(), lr=args.lr)
    for epoch in range(1, args.epochs + 1):
        model.train()
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x_train), y_train)
        loss.backward()
        optimiser.step()
        model.eval()
        with torch.no_grad():
            val_acc = (model(x_val).argmax(dim=1) == y_val).float().mean().item()
        print(f"epoch={epoch} train_loss={loss.item():.4f} val_acc={val_acc:.4f}", flush=True)

    torch.save(model.state_dict(), os.path.join(os.environ["SM_MODEL_DIR"], "model.pt"))
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "config.json"), "w") as handle:
        json.dump({"hidden": args.hidden, "inputs": x_train.shape[1], "val_acc": val_acc}, handle)


if __name__ == "__main__":
    main()
