"""The image-classifier's seed data: scikit-learn's 8×8 handwritten digits as PNG files in S3.

The digits (1,797 images, labels 0–9) ship inside scikit-learn, so the example trains on
real images with no download. :func:`upload_digits` writes them where the training job's
channels read them::

    s3://<bucket>/<prefix>/train/<label>/<index>.png
    s3://<bucket>/<prefix>/test/<label>/<index>.png

``<index>`` is the image's index in ``sklearn.datasets.load_digits``, so a file can always
be traced back to its source. Pixel values 0–16 become gray levels 0–255 (white strokes on
black, as in the data set).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

#: The digits' pixel values run from 0 to this.
DIGIT_MAX_VALUE = 16


@dataclass(frozen=True)
class DigitImage:
    """One digit, encoded.

    Args:
        index: position in ``sklearn.datasets.load_digits()``.
        label: the digit, 0–9.
        split: ``"train"`` or ``"test"``.
        png: the 8×8 grayscale PNG.
    """

    index: int
    label: int
    split: str
    png: bytes


@dataclass(frozen=True)
class DatasetLocation:
    """Where :func:`upload_digits` put the data: channel URIs and image counts."""

    train_uri: str
    test_uri: str
    train_count: int
    test_count: int


def digit_png(pixels: np.ndarray) -> bytes:
    """An 8×8 array of digit values (0–16) as a grayscale PNG (0–255)."""
    if pixels.min() < 0 or pixels.max() > DIGIT_MAX_VALUE:
        raise ValueError(f"digit pixel values must lie in [0, {DIGIT_MAX_VALUE}]")
    gray = np.rint(pixels.astype(np.float64) * 255.0 / DIGIT_MAX_VALUE).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, format="PNG")
    return buffer.getvalue()


def held_out_indices(labels: np.ndarray, test_fraction: float, seed: int) -> set[int]:
    """A stratified test split: ``test_fraction`` of each label's images, chosen by ``seed``.

    Stratified so that even a small split holds every digit.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    chosen: set[int] = set()
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        count = max(1, round(len(members) * test_fraction))
        chosen.update(int(i) for i in rng.choice(members, size=count, replace=False))
    return chosen


def digit_images(test_fraction: float = 0.2, seed: int = 0, per_label: int | None = None) -> list[DigitImage]:
    """The digits as PNGs with a train/test split.

    Args:
        test_fraction: share of each label's images in the test split.
        seed: chooses the split.
        per_label: keep only the first this many images of each label (smaller, faster data).
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images, labels = digits.images, digits.target
    if per_label is not None:
        if per_label < 2:
            raise ValueError("per_label must be at least 2 (one train and one test image)")
        keep = np.concatenate([np.flatnonzero(labels == label)[:per_label] for label in np.unique(labels)])
        keep.sort()
    else:
        keep = np.arange(len(labels))
    held_out = held_out_indices(labels[keep], test_fraction, seed)
    return [
        DigitImage(int(index), int(labels[index]), "test" if position in held_out else "train",
                   digit_png(images[index]))
        for position, index in enumerate(keep)
    ]


def object_key(prefix: str, image: DigitImage) -> str:
    """``<prefix>/<split>/<label>/<index>.png``."""
    return f"{prefix.strip('/')}/{image.split}/{image.label}/{image.index:04d}.png"


def upload_images(s3: Any, bucket: str, prefix: str, images: Iterable[DigitImage], workers: int = 8) -> int:
    """PUT every image (a few threads: 1,800 small objects one by one would take a while)."""
    items = list(images)

    def put(image: DigitImage) -> None:
        s3.put_object(Bucket=bucket, Key=object_key(prefix, image), Body=image.png, ContentType="image/png")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(put, items):
            pass
    return len(items)


def upload_digits(s3: Any, bucket: str, prefix: str = "datasets/digits", test_fraction: float = 0.2,
                  seed: int = 0, per_label: int | None = None) -> DatasetLocation:
    """Upload the digits to ``s3://bucket/prefix/{train,test}/<label>/<index>.png``.

    Args:
        s3: a boto3 S3 client (the bucket must exist).
        bucket: the bucket.
        prefix: the key prefix; the channels are ``<prefix>/train/`` and ``<prefix>/test/``.
        test_fraction: share of each label's images in the test split.
        seed: chooses the split.
        per_label: at most this many images of each label.

    Returns:
        The channel URIs and counts.
    """
    images = digit_images(test_fraction, seed, per_label)
    upload_images(s3, bucket, prefix, images)
    root = f"s3://{bucket}/{prefix.strip('/')}"
    train = sum(image.split == "train" for image in images)
    return DatasetLocation(f"{root}/train/", f"{root}/test/", train, len(images) - train)
