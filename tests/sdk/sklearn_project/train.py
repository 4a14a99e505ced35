"""Script-mode training for the SKLearn/XGBoost SDK tests: fits y = 3a - b, writes the model to SM_MODEL_DIR."""

import argparse
import glob
import os

import joblib
import numpy as np

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--alpha", type=float, default=0.0)
    args, _ = parser.parse_known_args()
    rows = np.vstack([np.loadtxt(path, delimiter=",", ndmin=2)
                      for path in sorted(glob.glob(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "*.csv")))])
    from sklearn.linear_model import Ridge

    model = Ridge(alpha=args.alpha).fit(rows[:, 1:], rows[:, 0])
    print(f"fitted coef={model.coef_.round(2).tolist()} alpha={args.alpha}", flush=True)
    joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
