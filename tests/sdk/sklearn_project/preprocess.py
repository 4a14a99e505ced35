"""SKLearnProcessor's script: scales the input CSV's features with scikit-learn, writes them out."""

import os

import numpy as np
from sklearn.preprocessing import StandardScaler

rows = np.loadtxt("/opt/ml/processing/input/data.csv", delimiter=",", ndmin=2)
scaled = StandardScaler().fit_transform(rows)
os.makedirs("/opt/ml/processing/output", exist_ok=True)
np.savetxt("/opt/ml/processing/output/scaled.csv", scaled, delimiter=",", fmt="%.3f")
print(f"scaled {len(rows)} rows", flush=True)
