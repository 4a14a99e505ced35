"""The Neptune ML feature encoders: every type fitted, applied to new values, and its bad options refused."""

from __future__ import annotations

import json

import numpy
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from containers.neptune_ml.features import FeatureError, apply, auto_type, cell_text, dimension, fit


def encode(feature_type: str, spec: dict, values: list) -> tuple[dict, numpy.ndarray]:
    encoder = json.loads(json.dumps(fit(feature_type, spec, values)))  # what feature_transforms.json keeps
    matrix = apply(encoder, values)
    assert matrix.dtype == numpy.float32 and matrix.shape == (len(values), dimension(encoder))
    return encoder, matrix


def test_numerical_min_max_and_standard_with_an_imputer():
    _, matrix = encode("numerical", {"norm": "min-max", "imputer": "median"}, ["1", "3", None, "5"])
    assert matrix[:, 0].tolist() == [0.0, 0.5, 0.5, 1.0]
    encoder, matrix = encode("numerical", {"norm": "standard", "imputer": "mean"}, ["2", "4", ""])
    assert matrix[:, 0] == pytest.approx([-1.2247449, 1.2247449, 0.0])
    assert apply(encoder, ["6"])[0, 0] == pytest.approx(3 * 1.2247449)  # new values use the fitted statistics


def test_numerical_vectors_by_separator_and_most_frequent_imputer():
    encoder, matrix = encode("numerical", {"norm": "none", "separator": ";", "imputer": "most-frequent"},
                             ["0;1;2", "0;1;5", None])
    assert dimension(encoder) == 3
    assert matrix.tolist() == [[0, 1, 2], [0, 1, 5], [0, 1, 2]]
    with pytest.raises(FeatureError, match="different lengths"):
        fit("numerical", {"separator": ";"}, ["1;2", "1"])


def test_numerical_without_an_imputer_refuses_a_missing_value_as_neptune_does():
    with pytest.raises(FeatureError, match="no imputer"):
        fit("numerical", {}, ["1", None])
    with pytest.raises(FeatureError, match="not a number"):
        fit("numerical", {"imputer": "mean"}, ["1", "x"])
    with pytest.raises(FeatureError, match="norm 'l2'"):
        fit("numerical", {"norm": "l2"}, ["1"])


def test_category_one_hot_multi_hot_and_unseen_values():
    encoder, matrix = encode("category", {"separator": ";"}, ["Drama;Comedy", "Action", None])
    assert encoder["categories"] == ["Action", "Comedy", "Drama"]
    assert matrix.tolist() == [[0, 1, 1], [1, 0, 0], [0, 0, 0]]
    assert apply(encoder, ["Horror"]).tolist() == [[0, 0, 0]]


def test_category_keeps_the_99_most_frequent_values_and_an_other_column():
    values = [f"v{i:03d}" for i in range(150)] + ["v149"] * 5
    encoder = fit("category", {}, values)
    assert dimension(encoder) == 100 and encoder["other"] and "v149" in encoder["categories"]
    unseen = apply(encoder, ["never-seen"])
    assert unseen.sum() == 1 and unseen[0, -1] == 1


def test_bucket_numerical_with_a_sliding_window_and_the_range_ends():
    spec = {"range": [0, 100], "bucket_cnt": 5, "imputer": "median"}
    _, matrix = encode("bucket_numerical", spec, ["10", "50", "-7", "250", None])  # median 30 fills the gap
    assert matrix.argmax(axis=1).tolist() == [0, 2, 0, 4, 1] and matrix.sum(axis=1).tolist() == [1] * 5
    _, windowed = encode("bucket_numerical", {**spec, "slide_window_size": 30}, ["45"])
    assert windowed.tolist() == [[0, 1, 1, 0, 0]]  # centres 30 and 50 lie within 15 of 45
    for bad in ({"bucket_cnt": 5}, {"range": [5, 1], "bucket_cnt": 2}, {"range": [0, 1], "bucket_cnt": 0}):
        with pytest.raises(FeatureError, match="bucket_numerical"):
            fit("bucket_numerical", bad, ["1"])


def test_text_tfidf_matches_scikit_learn_and_encodes_new_text():
    texts = ["graph neural networks", "neural networks for text", "graphs and text", None]
    encoder, matrix = encode("text_tfidf", {"ngram_range": [1, 2], "min_df": 1, "max_features": 50}, texts)
    expected = TfidfVectorizer(ngram_range=(1, 2), max_features=50).fit_transform(
        [t or "" for t in texts]).toarray()
    assert matrix == pytest.approx(expected.astype(numpy.float32), abs=1e-6)
    assert apply(encoder, ["neural text"]).sum() > 0
    assert dimension(fit("text_tfidf", {"min_df": 5}, ["ab cd", "ef gh"])) == 0  # nothing frequent enough
    limited = fit("text_tfidf", {"min_df": 2, "max_features": 2}, ["graph graph nodes", "graph nodes edges",
                                                                    "edges nodes", "text"])
    assert limited["vocabulary"] == ["graph", "nodes"]  # seen twice or more, then the most frequent two


def test_datetime_parts_one_hot():
    encoder, matrix = encode("datetime", {"datetime_parts": ["year", "weekday"]},
                             ["2024-01-01T10:00:00", "2025-06-15", None])
    assert encoder["years"] == [2024, 2025] and dimension(encoder) == 2 + 7
    assert matrix[0].tolist() == [1, 0, 1, 0, 0, 0, 0, 0, 0]  # 2024, Monday
    assert matrix[1].tolist() == [0, 1, 0, 0, 0, 0, 0, 0, 1]  # 2025, Sunday
    assert dimension(fit("datetime", {}, ["2020-02-02T03:04:05Z"])) == 1 + 12 + 7 + 24
    with pytest.raises(FeatureError, match="ISO-8601"):
        fit("datetime", {}, ["yesterday"])


def test_auto_picks_numerical_category_or_text():
    assert auto_type({}, ["1", "2.5", None]) == "numerical"
    assert auto_type({"separator": ";"}, ["1;2", "3;4"]) == "numerical"
    assert auto_type({}, ["red", "blue", "red"]) == "category"
    assert auto_type({}, [f"a distinct sentence number {i}" for i in range(200)]) == "text_tfidf"
    encoder, matrix = encode("auto", {}, ["1", None, "3"])  # auto imputes instead of failing
    assert encoder["type"] == "numerical" and encoder["auto"] and matrix[:, 0].tolist() == [0, 0.5, 1]


def test_none_drops_the_property_and_unknown_types_are_refused():
    encoder, matrix = encode("none", {}, ["x", "y"])
    assert dimension(encoder) == 0 and matrix.shape == (2, 0)
    with pytest.raises(FeatureError, match="unknown feature type 'text_sbert'"):
        fit("text_sbert", {}, ["x"])
    with pytest.raises(FeatureError, match="not a fitted encoder"):
        apply({"type": "auto"}, ["x"])


def test_raw_property_values_become_the_cell_the_export_writes():
    import datetime as dt

    from emulator.services.neptune.ml.export.snapshot import cell

    for values in (["a", "b"], [1.5], [3], [True], [dt.datetime(2024, 1, 2, 3, 4, 5)], [0.1, 2]):
        assert cell_text(values) == cell(values)
    assert cell_text([]) is None
    encoder = fit("numerical", {"norm": "none", "separator": ";"}, ["0;1", "1;1"])
    assert apply(encoder, [cell_text([1, 0])]).tolist() == [[1, 0]]
