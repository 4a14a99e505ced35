"""Reading a channel as SageMaker's XGBoost does: CSV (label first, no header) or libsvm, into a DMatrix.

https://docs.aws.amazon.com/sagemaker/latest/dg/xgboost.html#InputOutput-XGBoost: the channel's
``ContentType`` is ``text/csv`` (or ``csv``) or ``text/libsvm`` (or ``libsvm``, the default); every
file under the channel directory is read, in name order. Serving reads the same formats without the label.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

CSV_TYPES = ("text/csv", "csv")
LIBSVM_TYPES = ("text/libsvm", "libsvm", "text/x-libsvm")


class DataFormatError(ValueError):
    """The data is not what its content type says; the message names the file or the request."""


def content_kind(content_type: str | None, default: str = "libsvm") -> str:
    """``csv`` or ``libsvm`` from a MIME type (parameters such as ``;label_size=1`` ignored)."""
    base = (content_type or "").split(";", 1)[0].strip().lower()
    if not base:
        return default
    if base in CSV_TYPES:
        return "csv"
    if base in LIBSVM_TYPES:
        return "libsvm"
    raise DataFormatError(f"content type {content_type!r} is not supported: use text/csv or text/libsvm")


def channel_files(directory: Path) -> list[Path]:
    """The data files of a channel, in name order (hidden files and manifests skipped)."""
    return sorted(path for path in directory.rglob("*") if path.is_file() and not path.name.startswith("."))


def read_channel(directory: Path, kind: str) -> Any:
    """Every file of a channel as one labelled ``xgboost.DMatrix``.

    Raises:
        DataFormatError: no files, or a file that does not parse (named).
    """
    import numpy as np
    import xgboost as xgb

    files = channel_files(directory)
    if not files:
        raise DataFormatError(f"channel {directory.name!r} has no data files")
    features, labels = [], []
    for path in files:
        try:
            x, y = parse(path.read_bytes(), kind, labelled=True)
        except (ValueError, UnicodeDecodeError) as error:
            raise DataFormatError(f"{directory.name}/{path.relative_to(directory)} is not valid {kind}: {error}"
                                  ) from None
        features.append(x)
        labels.append(y)
    if kind == "csv":
        return xgb.DMatrix(np.vstack(features), label=np.concatenate(labels))
    import scipy.sparse

    width = max(x.shape[1] for x in features)
    padded = [scipy.sparse.csr_matrix((x.data, x.indices, x.indptr), shape=(x.shape[0], width)) for x in features]
    return xgb.DMatrix(scipy.sparse.vstack(padded).tocsr(), label=np.concatenate(labels))


def parse(body: bytes, kind: str, labelled: bool) -> tuple[Any, Any]:
    """``(features, labels)`` of CSV or libsvm bytes; ``labels`` is ``None`` when not ``labelled``.

    Raises:
        ValueError: the bytes do not parse.
    """
    import numpy as np

    if kind == "csv":
        text = body.decode()
        rows = [line for line in text.splitlines() if line.strip()]
        if not rows:
            raise ValueError("no rows")
        matrix = np.loadtxt(io.StringIO("\n".join(rows)), delimiter=",", dtype=np.float32, ndmin=2)
        if labelled:
            return matrix[:, 1:], matrix[:, 0]
        return matrix, None
    from sklearn.datasets import load_svmlight_file

    x, y = load_svmlight_file(io.BytesIO(body), dtype=np.float32, zero_based=True)
    return x, (y if labelled else None)
