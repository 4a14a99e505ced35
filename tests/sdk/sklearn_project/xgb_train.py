"""Script-mode XGBoost training for the SDK test: the user's own xgboost.train call."""

import argparse
import glob
import os

import numpy as np
import xgboost as xgb

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--num_round", type=int, default=5)
    args, _ = parser.parse_known_args()
    rows = np.vstack([np.loadtxt(path, delimiter=",", ndmin=2)
                      for path in sorted(glob.glob(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "*.csv")))])
    booster = xgb.train({"max_depth": 3}, xgb.DMatrix(rows[:, 1:], label=rows[:, 0]), args.num_round)
    print(f"script mode trained {args.num_round} rounds", flush=True)
    booster.save_model(os.path.join(os.environ["SM_MODEL_DIR"], "xgboost-model"))
