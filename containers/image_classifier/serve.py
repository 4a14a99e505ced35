"""The ``serve`` program of ``mlharbor/image-classifier``: ``POST /invocations`` classifies one image.

Requests (``Content-Type``):

- ``image/png``, ``image/jpeg``, any ``image/*`` or ``application/x-image``: the image file,
  any size, colour or grayscale. It is converted to grayscale, box-resized to the model's
  ``image_size`` (8×8 for the digits) and, when its background is the opposite of the
  training images' (dark ink on white against the digits' white on black), inverted.
- ``application/json``: ``{"pixels": [[…], …], "max_value": 16}``, a grid of numbers in
  ``[0, max_value]`` (``max_value`` defaults to 255), preprocessed like an image; or
  ``{"instances": [grid, …], "max_value": …}`` for several at once.

Response (``application/json``): ``{"predicted_label": 7, "probabilities": [p0, …]}``, the
probabilities in the order of the model's ``labels`` (``config.json``; 0–9 for the digits);
a label is a number when every label is. For ``instances``: ``{"predictions": [that, …]}``.
Bad input answers 4xx with a message saying what is wrong (``InvocationError``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from containers.image_classifier.images import ImageError, decode_image, match_polarity, pixels_to_image
from containers.image_classifier.model import ImageCNN
from containers.image_classifier.train import CONFIG_FILE, MODEL_FILE, compute_threads
from containers.serving import InvocationError, serve

#: SageMaker's InvokeEndpoint payload limit (6 MB).
MAX_BODY_BYTES = 6 * 1024 * 1024
#: Images in one ``instances`` request.
MAX_INSTANCES = 1000

IMAGE_CONTENT_TYPES = ("application/x-image", "application/octet-stream")
JSON_CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class ModelConfig:
    """The part of ``config.json`` serving needs."""

    labels: tuple[str, ...]
    image_size: int
    train_mean: float
    channels: tuple[int, int]
    hidden: int

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ModelConfig:
        try:
            config = cls(tuple(str(label) for label in raw["labels"]), int(raw["image_size"]),
                         float(raw["train_mean"]), (int(raw["channels"][0]), int(raw["channels"][1])),
                         int(raw["hidden"]))
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise ValueError(f"{CONFIG_FILE} is missing or has a bad field: {error!r}") from None
        if len(config.labels) < 2 or not 8 <= config.image_size <= 256:
            raise ValueError(f"{CONFIG_FILE}: need at least 2 labels and image_size in [8, 256]")
        return config

    def label_value(self, index: int) -> int | str:
        """A label as the response gives it: a number when every label is a number."""
        label = self.labels[index]
        return int(label) if all(name.isdecimal() for name in self.labels) else label


def media_type(content_type: str) -> str:
    """``image/PNG; charset=x`` → ``image/png``."""
    return content_type.split(";", 1)[0].strip().lower()


def accepts_json(accept: str) -> bool:
    """Whether an ``Accept`` header allows a JSON answer."""
    ranges = [media_type(part) for part in accept.split(",") if part.strip()]
    return not ranges or any(r in (JSON_CONTENT_TYPE, "application/*", "*/*") for r in ranges)


@dataclass
class ImageClassifier:
    """A trained :class:`ImageCNN` with its preprocessing; the serving contract's predictor."""

    model: ImageCNN
    config: ModelConfig

    def predict(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        if not accepts_json(accept):
            raise InvocationError(f"this model answers {JSON_CONTENT_TYPE}, not {accept!r}", status=406)
        if len(body) > MAX_BODY_BYTES:
            raise InvocationError(f"request body of {len(body)} bytes exceeds {MAX_BODY_BYTES}", status=413)
        kind = media_type(content_type)
        try:
            if kind == JSON_CONTENT_TYPE:
                images, single = self._from_json(body)
            elif kind.startswith("image/") or kind in IMAGE_CONTENT_TYPES:
                images, single = [decode_image(body, self.config.image_size)], True
            else:
                raise InvocationError(f"unsupported Content-Type {content_type!r}: send an image (image/png, "
                                      f"image/jpeg, application/x-image) or {JSON_CONTENT_TYPE}", status=415)
        except ImageError as error:
            raise InvocationError(str(error)) from None
        answers = self.classify(images)
        result = answers[0] if single else {"predictions": answers}
        return json.dumps(result).encode(), JSON_CONTENT_TYPE

    def _from_json(self, body: bytes) -> tuple[list[np.ndarray], bool]:
        try:
            request = json.loads(body)
        except (UnicodeDecodeError, ValueError) as error:
            raise InvocationError(f"body is not valid JSON: {error}") from None
        if not isinstance(request, dict) or ("pixels" in request) == ("instances" in request):
            raise InvocationError('JSON body must be an object with either "pixels" (one image as rows of '
                                  'numbers) or "instances" (a list of such images)')
        max_value = request.get("max_value", 255)
        size = self.config.image_size
        if "pixels" in request:
            return [pixels_to_image(request["pixels"], size, max_value)], True
        instances = request["instances"]
        if not isinstance(instances, list) or not 1 <= len(instances) <= MAX_INSTANCES:
            raise InvocationError(f'"instances" must be a list of 1 to {MAX_INSTANCES} images')
        images = []
        for number, pixels in enumerate(instances):
            try:
                images.append(pixels_to_image(pixels, size, max_value))
            except ImageError as error:
                raise InvocationError(f"instances[{number}]: {error}") from None
        return images, False

    @torch.no_grad()
    def classify(self, images: list[np.ndarray]) -> list[dict[str, Any]]:
        """Class probabilities for preprocessed images (``size × size`` in ``[0, 1]``)."""
        batch = np.stack([match_polarity(image, self.config.train_mean) for image in images])
        probabilities = torch.softmax(self.model(torch.from_numpy(batch).unsqueeze(1)), dim=1)
        return [{"predicted_label": self.config.label_value(int(row.argmax())),
                 "probabilities": [round(float(p), 6) for p in row]} for row in probabilities]


def load(model_dir: Path) -> ImageClassifier:
    """Rebuild the network from ``config.json`` and load ``model.pt`` (tensors only: ``weights_only``)."""
    config = ModelConfig.from_json(json.loads((model_dir / CONFIG_FILE).read_text()))
    model = ImageCNN(len(config.labels), channels=config.channels, hidden=config.hidden)
    model.load_state_dict(torch.load(model_dir / MODEL_FILE, map_location="cpu", weights_only=True))
    model.eval()
    torch.set_num_threads(compute_threads(config.image_size, dict(os.environ)))
    return ImageClassifier(model, config)


def main() -> None:
    serve(load)


if __name__ == "__main__":
    main()
