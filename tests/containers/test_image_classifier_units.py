"""The image classifier's pieces on their own: decoding, the data split, hyperparameters, checkpoints, the CNN."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from containers.contract import checkpoints
from containers.image_classifier.dataset import DIGIT_MAX_VALUE, digit_images, digit_png, held_out_indices, object_key
from containers.image_classifier.images import (
    ImageError,
    decode_image,
    label_order,
    match_polarity,
    pixels_to_image,
    read_image_folder,
)
from containers.image_classifier.model import ImageCNN
from containers.image_classifier.serve import ImageClassifier, ModelConfig, accepts_json
from containers.image_classifier.train import ClientError, HyperParameters, holdout_split
from containers.registry import resolve
from containers.serving import InvocationError


def png(array: np.ndarray, mode: str = "L") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).convert(mode).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    return load_digits()


def test_the_builtin_is_registered_with_both_modules():
    image = resolve("mlharbor/image-classifier:latest")
    assert image.train_module == "containers.image_classifier.train"
    assert image.serve_module == "containers.image_classifier.serve"


def test_a_digit_png_decodes_back_to_its_pixels(digits):
    pixels = digits.images[5]
    decoded = decode_image(digit_png(pixels), 8)
    assert decoded.shape == (8, 8) and decoded.dtype == np.float32
    np.testing.assert_allclose(decoded * DIGIT_MAX_VALUE, pixels, atol=DIGIT_MAX_VALUE / 255)


def test_an_enlarged_colour_image_shrinks_back_to_the_same_8x8(digits):
    small = np.rint(digits.images[11] * 255 / DIGIT_MAX_VALUE).astype(np.uint8)
    large = np.kron(small, np.ones((8, 8), dtype=np.uint8))  # 64×64, each pixel an 8×8 block
    rgb = png(large, mode="RGB")
    np.testing.assert_allclose(decode_image(rgb, 8), small / 255.0, atol=1 / 255)


def test_dark_ink_on_white_is_inverted_to_match_white_on_black_training_images(digits):
    image = digits.images[3] / DIGIT_MAX_VALUE
    inverted = 1.0 - image
    np.testing.assert_allclose(match_polarity(inverted, train_mean=0.3), image)
    np.testing.assert_allclose(match_polarity(image, train_mean=0.3), image)


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b"hello, not an image", "not an image format"),
    (png(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))[:2000], "corrupt"),
])
def test_bytes_that_are_no_image_are_refused_with_a_reason(data, message):
    with pytest.raises(ImageError, match=message):
        decode_image(data, 8)


def test_an_image_claiming_too_many_pixels_is_refused_before_it_is_decoded():
    buffer = io.BytesIO()
    Image.new("1", (5000, 5000)).save(buffer, format="PNG")  # 25 Mpx, a few KB on disk
    assert len(buffer.getvalue()) < 100_000
    with pytest.raises(ImageError, match="at most"):
        decode_image(buffer.getvalue(), 8)


@pytest.mark.parametrize(("pixels", "max_value", "message"), [
    ([[0, 1], [2]], 255, "rectangular"),
    ([[0, 1], [2, 17]], 16, r"\[0, 16\]"),
    ([[0, float("nan")]], 255, r"\[0, 255\]"),
    ([], 255, "2-D"),
    ("abc", 255, "2-D|rectangular"),
    ([[1, 2]], True, "max_value"),
])
def test_bad_pixel_grids_are_refused(pixels, max_value, message):
    with pytest.raises(ImageError, match=message):
        pixels_to_image(pixels, 8, max_value)


def test_a_pixel_grid_is_scaled_by_max_value_and_a_flat_one_reshaped(digits):
    grid = digits.images[0]
    np.testing.assert_allclose(pixels_to_image(grid.tolist(), 8, 16), grid / 16, rtol=1e-6)
    np.testing.assert_allclose(pixels_to_image(grid.ravel().tolist(), 8, 16), grid / 16, rtol=1e-6)
    assert pixels_to_image(np.ones((32, 32)).tolist(), 8).shape == (8, 8)


def test_the_test_split_is_stratified_and_seeded(digits):
    chosen = held_out_indices(digits.target, 0.2, seed=0)
    assert chosen == held_out_indices(digits.target, 0.2, seed=0)
    assert chosen != held_out_indices(digits.target, 0.2, seed=1)
    for label in range(10):
        members = np.flatnonzero(digits.target == label)
        share = len(chosen.intersection(members.tolist())) / len(members)
        assert 0.15 < share < 0.25


def test_digit_images_keep_their_source_index_in_the_key():
    images = digit_images(per_label=3)
    assert len(images) == 30 and {image.split for image in images} == {"train", "test"}
    first = images[0]
    assert object_key("/data/digits/", first) == f"data/digits/{first.split}/{first.label}/{first.index:04d}.png"


def test_label_folders_order_numerically_and_unknown_test_labels_are_refused(tmp_path):
    assert label_order(["10", "2", "1"]) == ["1", "2", "10"]
    assert label_order(["cat", "2"]) == ["2", "cat"]
    for label in ("2", "10"):
        (tmp_path / "train" / label).mkdir(parents=True)
        (tmp_path / "train" / label / "a.png").write_bytes(png(np.full((8, 8), 200, dtype=np.uint8)))
    (tmp_path / "train" / "10" / "notes.txt").write_text("ignored")
    folder = read_image_folder(tmp_path / "train", 8)
    assert folder.labels == ("2", "10") and folder.targets.tolist() == [0, 1]
    (tmp_path / "test" / "7").mkdir(parents=True)
    (tmp_path / "test" / "7" / "a.png").write_bytes(png(np.zeros((8, 8), dtype=np.uint8)))
    with pytest.raises(ImageError, match="'7' .* not one of the training labels"):
        read_image_folder(tmp_path / "test", 8, folder.labels)
    with pytest.raises(ImageError, match="no images"):
        read_image_folder(tmp_path / "missing", 8)


def test_hyperparameters_parse_as_sagemaker_sends_them():
    params = HyperParameters.from_mapping({"epochs": "3", "lr": "0.01", "batch-size": 16, "val_fraction": "0",
                                           "sagemaker_program": "ignored"})
    assert (params.epochs, params.lr, params.batch_size, params.val_fraction) == (3, 0.01, 16, 0.0)
    assert HyperParameters.from_mapping({}) == HyperParameters()


@pytest.mark.parametrize(("raw", "message"), [
    ({"epoch": "3"}, "unknown hyperparameter 'epoch'"),
    ({"epochs": "1.5"}, "'epochs' must be an integer"),
    ({"lr": "fast"}, "'lr' must be a number"),
    ({"epochs": "0", "val-fraction": "1"}, "epochs must lie in .*; val-fraction must lie in"),
    ({"image-size": "4"}, "image-size must lie in"),
])
def test_bad_hyperparameters_say_what_is_wrong(raw, message):
    with pytest.raises(ClientError, match=message):
        HyperParameters.from_mapping(raw)


def test_holdout_split_is_seeded_disjoint_and_complete():
    train, validation = holdout_split(100, 0.1, seed=3)
    assert len(validation) == 10 and set(train).isdisjoint(validation) and len(train) + len(validation) == 100
    assert holdout_split(100, 0.1, seed=3)[1].tolist() == validation.tolist()
    assert len(holdout_split(100, 0.0, seed=3)[1]) == 0
    with pytest.raises(ClientError):
        holdout_split(1, 0.5, seed=0)


def test_checkpoints_keep_the_newest_two_and_skip_a_damaged_newest(tmp_path):
    for epoch in (1, 2, 3):
        checkpoints.save_checkpoint(tmp_path, epoch, {"weights": torch.full((2,), float(epoch))})
    assert [epoch for epoch, _ in checkpoints.checkpoint_epochs(tmp_path)] == [3, 2]
    (tmp_path / ".epoch-000004.pt.tmp").write_bytes(b"half written")
    restored, skipped = checkpoints.restore_newest(tmp_path)
    assert restored is not None and restored.epoch == 3 and skipped == []
    assert restored.state["weights"].tolist() == [3.0, 3.0]

    (tmp_path / checkpoints.checkpoint_name(3)).write_bytes(b"damaged: not a torch file")
    restored, skipped = checkpoints.restore_newest(tmp_path)
    assert restored is not None and restored.epoch == 2
    assert len(skipped) == 1 and skipped[0].startswith("epoch-000003.pt")
    assert checkpoints.restore_newest(tmp_path / "none") == (None, [])


def test_a_checkpoint_with_pickled_code_is_not_executed(tmp_path):
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('code ran')",))

    torch.save({"epoch": 1, "evil": Boom()}, tmp_path / checkpoints.checkpoint_name(1))
    restored, skipped = checkpoints.restore_newest(tmp_path)
    assert restored is None and len(skipped) == 1


def test_the_cnn_maps_images_of_any_size_to_class_logits():
    torch.manual_seed(0)
    model = ImageCNN(num_classes=10)
    assert model(torch.rand(5, 1, 8, 8)).shape == (5, 10)
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert repr(model) == "ImageCNN(num_classes=10, channels=(16, 32), hidden=64)"
    with pytest.raises(ValueError, match="ImageCNN expects"):
        model(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match="at least 2 classes"):
        ImageCNN(num_classes=1)


def classifier() -> ImageClassifier:
    torch.manual_seed(0)
    model = ImageCNN(3).eval()
    return ImageClassifier(model, ModelConfig(("a", "b", "c"), 8, 0.3, (16, 32), 64))


def test_the_predictor_answers_json_and_refuses_what_it_cannot_read():
    predictor = classifier()
    body, content_type = predictor.predict(png(np.zeros((8, 8), dtype=np.uint8)), "image/png", "*/*")
    answer = json.loads(body)
    assert content_type == "application/json" and answer["predicted_label"] in ("a", "b", "c")
    assert len(answer["probabilities"]) == 3 and abs(sum(answer["probabilities"]) - 1) < 1e-4
    batch = json.loads(predictor.predict(json.dumps({"instances": [[[0] * 8] * 8] * 2}).encode(),
                                         "application/json; charset=utf-8", "application/json")[0])
    assert len(batch["predictions"]) == 2
    for body, content_type, accept, status, message in [
        (b"xx", "image/png", "*/*", 400, "not an image format"),
        (b"{", "application/json", "*/*", 400, "not valid JSON"),
        (b'{"pixels": [[1]], "instances": []}', "application/json", "*/*", 400, "either"),
        (b'{"instances": []}', "application/json", "*/*", 400, "1 to 1000"),
        (b'{"instances": [[[1]], [[-1]]]}', "application/json", "*/*", 400, r"instances\[1\]"),
        (b"a,b", "text/csv", "*/*", 415, "unsupported Content-Type"),
        (b"", "image/png", "text/csv", 406, "answers application/json"),
    ]:
        with pytest.raises(InvocationError, match=message) as raised:
            predictor.predict(body, content_type, accept)
        assert raised.value.status == status


def test_accept_headers():
    assert accepts_json("application/json") and accepts_json("text/html, */*;q=0.1") and accepts_json("")
    assert not accepts_json("text/csv")


def write_digits(root, per_label: int, labels=range(10)) -> None:
    for image in digit_images(per_label=per_label):
        if image.label in labels:
            target = root / image.split / str(image.label) / f"{image.index}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(image.png)


def test_run_in_process_checkpoints_resumes_and_refuses_a_foreign_checkpoint(tmp_path, capsys):
    """``train.run`` without a harbor: the loop, the checkpoint hand-over and its guard."""
    from containers.contract import JobPaths
    from containers.image_classifier.train import StopFlag, run

    write_digits(tmp_path / "data", per_label=5)
    paths = JobPaths(tmp_path / "job")
    environ = {"SM_CHANNEL_TRAIN": str(tmp_path / "data" / "train"), "SM_CHANNEL_TEST": str(tmp_path / "data" / "test"),
               "SM_HPS": json.dumps({"epochs": 2, "val-fraction": 0}), "SM_MODEL_DIR": str(tmp_path / "model"),
               "SM_CHECKPOINT_DIR": str(tmp_path / "ckpt")}
    assert run(environ, paths, StopFlag()) == 0
    out = capsys.readouterr().out
    assert "epoch=2 train_loss=" in out and "val_acc" not in out.split("test_acc")[0].split("hyperparameters")[1]
    assert json.loads((tmp_path / "model" / "config.json").read_text())["epochs_trained"] == 2

    assert run({**environ, "SM_HPS": json.dumps({"epochs": 3, "val-fraction": 0})}, paths, StopFlag()) == 0
    out = capsys.readouterr().out
    assert "resumed from epoch 2 " in out and "epoch=3 " in out and "epoch=1 " not in out
    assert run({**environ, "SM_HPS": json.dumps({"epochs": 3, "val-fraction": 0})}, paths, StopFlag()) == 0
    assert "nothing left to train" in capsys.readouterr().out

    write_digits(tmp_path / "other", per_label=5, labels=range(3))
    with pytest.raises(ClientError, match="checkpoint epoch-000003.pt is for labels"):
        run({**environ, "SM_CHANNEL_TRAIN": str(tmp_path / "other" / "train"),
             "SM_CHANNEL_TEST": str(tmp_path / "other" / "test")}, paths, StopFlag())
