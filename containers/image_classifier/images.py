"""Decoding images for the classifier: bytes of any size and format → a small grayscale array.

Training and serving share these functions so a request is preprocessed exactly as the
training images were. No IO beyond reading a given directory; no torch.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

#: Largest image (width × height) we agree to decode: a PNG a few KB large can claim a
#: gigapixel canvas (a decompression bomb); Pillow's own limit is far higher than we need.
MAX_PIXELS = 4096 * 4096

#: File suffixes read from a channel directory; anything else there is ignored.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})


class ImageError(ValueError):
    """Bytes that are not a usable image; the message says why (it reaches the caller)."""


def decode_image(data: bytes, size: int) -> np.ndarray:
    """One image as a ``size × size`` float32 array in ``[0, 1]`` (0 = black).

    Colour is converted to grayscale and the image is resized with a box filter: every
    output pixel is the mean of the input pixels it covers, which is how scikit-learn's
    8×8 digits were made from 32×32 bitmaps, so an enlarged digit shrinks back exactly.

    Raises:
        ImageError: not a decodable image, or larger than :data:`MAX_PIXELS`.
    """
    if not data:
        raise ImageError("the image is empty")
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width < 1 or height < 1 or width * height > MAX_PIXELS:
                raise ImageError(f"image of {width}x{height} pixels: at most {MAX_PIXELS} pixels are accepted")
            gray = image.convert("L")
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError("not an image format that can be read (PNG, JPEG, GIF, BMP, TIFF, WebP)") from None
    except Image.DecompressionBombError as error:
        raise ImageError(f"image too large: {error}") from None
    except (OSError, ValueError, SyntaxError) as error:  # truncated or corrupt data surfaces as any of these
        raise ImageError(f"corrupt image data: {error}") from error
    if gray.size != (size, size):
        gray = gray.resize((size, size), Image.Resampling.BOX)
    return np.asarray(gray, dtype=np.float32) / 255.0


def pixels_to_image(pixels: object, size: int, max_value: float = 255.0) -> np.ndarray:
    """A JSON pixel grid (rows of numbers in ``[0, max_value]``) preprocessed like an image.

    Raises:
        ImageError: not a non-empty rectangular grid of numbers within range.
    """
    if not isinstance(max_value, int | float) or isinstance(max_value, bool) or not 0 < max_value <= 65535:
        raise ImageError(f"max_value must be a number in (0, 65535], got {max_value!r}")
    try:
        grid = np.asarray(pixels, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ImageError("pixels must be a rectangular grid (a list of equally long rows) of numbers") from error
    if grid.ndim == 1 and grid.size == size * size:
        grid = grid.reshape(size, size)  # a flattened image of the model's own size
    if grid.ndim != 2 or grid.size == 0:
        raise ImageError(f"pixels must be a 2-D grid of numbers, got shape {list(grid.shape)}")
    if grid.shape[0] * grid.shape[1] > MAX_PIXELS:
        raise ImageError(f"at most {MAX_PIXELS} pixels are accepted")
    if not np.all(np.isfinite(grid)) or grid.min() < 0 or grid.max() > max_value:
        raise ImageError(f"pixel values must lie in [0, {max_value:g}]")
    scaled = (grid / max_value).astype(np.float32)
    if scaled.shape == (size, size):
        return scaled
    image = Image.fromarray(scaled).resize((size, size), Image.Resampling.BOX)
    return np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)


def match_polarity(image: np.ndarray, train_mean: float) -> np.ndarray:
    """Invert an image whose background is the opposite of the training images'.

    Digits are light strokes on black; a user's photo or drawing is usually dark ink on
    white. An image on the other side of 0.5 from the training images' mean brightness is
    inverted so both look alike to the model.
    """
    if (float(image.mean()) > 0.5) != (train_mean > 0.5):
        return 1.0 - image
    return image


@dataclass(frozen=True)
class ImageFolder:
    """Labelled images read from ``<root>/<label>/<file>``.

    Args:
        images: ``N × size × size`` float32 in ``[0, 1]``.
        targets: ``N`` label indices into ``labels``.
        labels: label names (folder names) in index order.
    """

    images: np.ndarray
    targets: np.ndarray
    labels: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.targets)


def label_order(names: list[str]) -> list[str]:
    """Folder names in class-index order: numerically when all are integers (``2`` before ``10``)."""
    if names and all(name.isdecimal() for name in names):
        return sorted(names, key=int)
    return sorted(names)


def read_image_folder(root: Path, size: int, labels: tuple[str, ...] | None = None) -> ImageFolder:
    """Every image under ``root/<label>/`` (sub-folders included), decoded to ``size × size``.

    Args:
        root: a channel directory.
        size: the side length images are resized to.
        labels: the label order to use (a test channel follows the training channel's);
            ``None`` takes the folder names found here.

    Raises:
        ImageError: no labelled image, an undecodable file, or a label the training data lacks.
    """
    folders = sorted(path.name for path in root.iterdir() if path.is_dir()) if root.is_dir() else []
    order = tuple(label_order(folders)) if labels is None else labels
    index = {name: i for i, name in enumerate(order)}
    images: list[np.ndarray] = []
    targets: list[int] = []
    files = {name: sorted(path for path in (root / name).rglob("*")
                          if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES) for name in folders}
    unknown = [name for name in folders if files[name] and name not in index]
    if unknown:
        raise ImageError(f"label {unknown[0]!r} in {root} is not one of the training labels {list(order)}")
    for name in (label for label in order if label in files):
        for path in files[name]:
            try:
                images.append(decode_image(path.read_bytes(), size))
            except ImageError as error:
                raise ImageError(f"{path.relative_to(root)}: {error}") from error
            targets.append(index[name])
    if not images:
        raise ImageError(f"no images in {root}: expected <label>/<name>.png files")
    return ImageFolder(np.stack(images), np.asarray(targets, dtype=np.int64), order)
