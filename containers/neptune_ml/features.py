"""Neptune ML feature encoders: fit one on a property's raw values, then apply it to any values.

An encoder is a plain JSON-able dict (it is written to ``feature_transforms.json`` and read back by the
endpoint for inductive inference), so :func:`apply` needs nothing but the dict. The feature types and
their options are Neptune ML's
(https://docs.aws.amazon.com/neptune/latest/userguide/machine-learning-feature-encoding.html):

* ``numerical``: ``norm`` none | min-max (default) | standard, ``imputer`` mean | median | most-frequent,
  ``separator`` for fixed-length vectors. Without an imputer a missing value is an error, as on Neptune.
* ``category``: one-hot (multi-hot with ``separator``); at most 100 columns: the 99 most frequent values
  and ``OTHER``; a missing or unseen value encodes as zeros.
* ``bucket_numerical``: ``range`` [low, high], ``bucket_cnt``, ``slide_window_size`` (a value also marks the
  buckets whose centre lies within half a window of it), ``imputer``; values outside the range fall in
  the end buckets.
* ``text_tfidf``: ``ngram_range``, ``min_df``, ``max_features`` (scikit-learn's TF-IDF weights, L2-normalised
  rows, computed with numpy alone).
* ``datetime``: ``datetime_parts`` among year, month, weekday, hour (default all), each one-hot.
* ``auto``: numerical when every value parses as a number (vectors with ``separator``), else category when
  the distinct values are few, else text_tfidf; the fitted encoder records the type it chose.
* ``none``: no columns (the property is dropped from the features).

Values arrive as the export CSV's cells: strings, ``None`` or ``""`` for a missing value. A vertex's raw
property values (as a Gremlin query returns them, for inductive inference) become such a cell with
:func:`cell_text`, which writes them exactly as the export does.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import numpy

FEATURE_TYPES = ("numerical", "category", "bucket_numerical", "text_tfidf", "datetime", "auto", "none")
NORMS = ("none", "min-max", "standard")
IMPUTERS = ("mean", "median", "most-frequent")
DATETIME_PARTS = ("year", "month", "weekday", "hour")
#: Neptune ML's category limit: the 99 most frequent values keep a column, the rest share ``OTHER``.
MAX_CATEGORIES = 100
OTHER = "OTHER"
#: ``auto`` encodes a non-numeric property as a category when it has at most this many distinct values.
AUTO_CATEGORY_LIMIT = 100

Encoder = dict[str, Any]


class FeatureError(ValueError):
    """A feature specification or a value cannot be encoded; the message names the problem."""


def fit(feature_type: str, spec: dict, values: list[str | None]) -> Encoder:
    """Fit an encoder of ``feature_type`` with the options in ``spec`` on ``values`` (one per row)."""
    fitters = {"numerical": _fit_numerical, "category": _fit_category, "bucket_numerical": _fit_bucket,
               "text_tfidf": _fit_tfidf, "datetime": _fit_datetime, "auto": _fit_auto, "none": _fit_none}
    if feature_type not in fitters:
        raise FeatureError(f"unknown feature type {feature_type!r} (one of {', '.join(FEATURE_TYPES)})")
    return fitters[feature_type](spec, values)


def apply(encoder: Encoder, values: list[str | None]) -> numpy.ndarray:
    """The float32 matrix ``[len(values), dimension(encoder)]`` that ``encoder`` gives ``values``."""
    appliers = {"numerical": _apply_numerical, "category": _apply_category, "bucket_numerical": _apply_bucket,
                "text_tfidf": _apply_tfidf, "datetime": _apply_datetime, "none": _apply_none}
    kind = encoder.get("type")
    if kind not in appliers:
        raise FeatureError(f"not a fitted encoder (type {kind!r})")
    matrix = appliers[kind](encoder, values)
    return numpy.ascontiguousarray(matrix, dtype=numpy.float32).reshape(len(values), dimension(encoder))


def dimension(encoder: Encoder) -> int:
    """How many columns the encoder produces."""
    return int(encoder["dim"])


def cell_text(values: Iterable[Any]) -> str | None:
    """A property's raw values as the export's CSV cell: joined by ``;``; ``None`` when there is none.

    Booleans are ``true``/``false``, dates ISO-8601, floats their shortest round-trip form.
    """
    parts = []
    for value in values:
        if isinstance(value, bool):
            parts.append("true" if value else "false")
        elif isinstance(value, datetime):
            parts.append(value.isoformat())
        elif isinstance(value, float):
            parts.append(repr(value))
        else:
            parts.append(str(value))
    return ";".join(parts) if parts else None


# -- shared helpers -----------------------------------------------------------------------------------------

def _missing(value: str | None) -> bool:
    return value is None or value.strip() == ""


def _option(spec: dict, name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    value = spec.get(name, default)
    if value is not None and value not in allowed:
        raise FeatureError(f"{name} {value!r} is not one of {', '.join(allowed)}")
    return value


def _number(text: str, feature: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise FeatureError(f"{feature}: {text!r} is not a number") from None
    if not math.isfinite(number):
        raise FeatureError(f"{feature}: {text!r} is not a finite number")
    return number


def _parses(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _tokens(value: str, separator: str | None) -> list[str]:
    parts = value.split(separator) if separator else [value]
    return [part.strip() for part in parts if part.strip()]


def _impute(imputer: str, column: numpy.ndarray) -> float:
    if imputer == "mean":
        return float(column.mean())
    if imputer == "median":
        return float(numpy.median(column))
    counts = Counter(column.tolist())  # most-frequent; ties go to the smallest value, deterministically
    best = max(counts.values())
    return float(min(value for value, count in counts.items() if count == best))


# -- numerical ----------------------------------------------------------------------------------------------

def _numeric_rows(values: list[str | None], separator: str | None, width: int | None,
                  feature: str) -> tuple[list[list[float] | None], int]:
    rows: list[list[float] | None] = []
    for value in values:
        if _missing(value):
            rows.append(None)
            continue
        row = _vector(value, separator, feature)
        if width is None:
            width = len(row)
        if len(row) != width:
            raise FeatureError(f"{feature}: vectors of different lengths ({width} and {len(row)}): "
                               f"every value of a numerical vector feature needs the same number of parts")
        rows.append(row)
    return rows, width or 1


def _vector(value: str, separator: str | None, feature: str) -> list[float]:
    try:  # the fast path (a Cora row is 1433 numbers); anything unusual takes the checked one
        row = [float(token) for token in value.split(separator)] if separator else [float(value)]
    except ValueError:
        return [_number(token, feature) for token in _tokens(value, separator)]
    if not all(map(math.isfinite, row)):
        return [_number(token, feature) for token in _tokens(value, separator)]
    return row


def _fit_numerical(spec: dict, values: list[str | None]) -> Encoder:
    norm = _option(spec, "norm", NORMS, "min-max")
    imputer = _option(spec, "imputer", IMPUTERS, None)
    separator = spec.get("separator") or None
    rows, width = _numeric_rows(values, separator, None, "numerical")
    present = numpy.array([row for row in rows if row is not None], dtype=numpy.float64).reshape(-1, width)
    if len(present) < len(rows) and imputer is None:
        raise FeatureError("numerical: a value is missing and no imputer is given "
                           f"(set \"imputer\" to one of {', '.join(IMPUTERS)})")
    fill = [_impute(imputer, present[:, i]) if imputer and len(present) else 0.0 for i in range(width)]
    filled = numpy.array([row if row is not None else fill for row in rows], dtype=numpy.float64).reshape(-1, width)
    shift, scale = [0.0] * width, [1.0] * width
    if norm == "min-max" and len(filled):
        low, high = filled.min(axis=0), filled.max(axis=0)
        shift = low.tolist()
        scale = [float(h - lo) if h > lo else 1.0 for lo, h in zip(low, high, strict=True)]
    elif norm == "standard" and len(filled):
        mean, std = filled.mean(axis=0), filled.std(axis=0)
        shift = mean.tolist()
        scale = [float(s) if s > 0 else 1.0 for s in std]
    return {"type": "numerical", "dim": width, "separator": separator, "norm": norm, "imputer": imputer,
            "fill": fill, "shift": shift, "scale": scale}


def _apply_numerical(encoder: Encoder, values: list[str | None]) -> numpy.ndarray:
    width = encoder["dim"]
    rows, _ = _numeric_rows(values, encoder["separator"], width, "numerical")
    if encoder["imputer"] is None and any(row is None for row in rows):
        raise FeatureError("numerical: a value is missing and the encoder has no imputer")
    matrix = numpy.array([row if row is not None else encoder["fill"] for row in rows],
                         dtype=numpy.float64).reshape(-1, width)
    return (matrix - numpy.array(encoder["shift"])) / numpy.array(encoder["scale"])


# -- category -----------------------------------------------------------------------------------------------

def _fit_category(spec: dict, values: list[str | None]) -> Encoder:
    separator = spec.get("separator") or None
    counts = Counter(token for value in values if not _missing(value) for token in _tokens(value, separator))
    if len(counts) <= MAX_CATEGORIES:
        categories = sorted(counts)
        other = False
    else:  # most frequent first, ties by name, so the choice does not depend on row order
        ranked = sorted(counts, key=lambda token: (-counts[token], token))
        categories = sorted(ranked[:MAX_CATEGORIES - 1])
        other = True
    return {"type": "category", "dim": len(categories) + other, "separator": separator,
            "categories": categories, "other": other}


def _apply_category(encoder: Encoder, values: list[str | None]) -> numpy.ndarray:
    index = {category: i for i, category in enumerate(encoder["categories"])}
    other_column = len(index) if encoder["other"] else None
    matrix = numpy.zeros((len(values), encoder["dim"]))
    for row, value in enumerate(values):
        if _missing(value):
            continue
        for token in _tokens(value, encoder["separator"]):
            column = index.get(token, other_column)
            if column is not None:
                matrix[row, column] = 1.0
    return matrix


# -- bucket_numerical ---------------------------------------------------------------------------------------

def _fit_bucket(spec: dict, values: list[str | None]) -> Encoder:
    bounds = spec.get("range")
    if not (isinstance(bounds, list) and len(bounds) == 2 and all(isinstance(b, int | float) for b in bounds)
            and bounds[0] < bounds[1]):
        raise FeatureError("bucket_numerical: \"range\" must be [low, high] with low < high")
    count = spec.get("bucket_cnt")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise FeatureError("bucket_numerical: \"bucket_cnt\" must be a positive integer")
    window = spec.get("slide_window_size", 0)
    if not isinstance(window, int | float) or isinstance(window, bool) or window < 0:
        raise FeatureError("bucket_numerical: \"slide_window_size\" must be a number >= 0")
    imputer = _option(spec, "imputer", IMPUTERS, None)
    present = numpy.array([_number(v, "bucket_numerical") for v in values if not _missing(v)], dtype=numpy.float64)
    if len(present) < len(values) and imputer is None:
        raise FeatureError("bucket_numerical: a value is missing and no imputer is given "
                           f"(set \"imputer\" to one of {', '.join(IMPUTERS)})")
    fill = _impute(imputer, present) if imputer and len(present) else None
    return {"type": "bucket_numerical", "dim": count, "range": [float(bounds[0]), float(bounds[1])],
            "bucket_cnt": count, "slide_window_size": float(window), "imputer": imputer, "fill": fill}


def _apply_bucket(encoder: Encoder, values: list[str | None]) -> numpy.ndarray:
    low, high = encoder["range"]
    count, window = encoder["bucket_cnt"], encoder["slide_window_size"]
    width = (high - low) / count
    centres = low + width * (numpy.arange(count) + 0.5)
    matrix = numpy.zeros((len(values), count))
    for row, value in enumerate(values):
        if _missing(value):
            if encoder["fill"] is None:
                raise FeatureError("bucket_numerical: a value is missing and the encoder has no imputer")
            number = encoder["fill"]
        else:
            number = _number(value, "bucket_numerical")
        number = min(max(number, low), high)
        own = min(int((number - low) / width), count - 1)
        matrix[row, own] = 1.0
        if window > 0:
            matrix[row, numpy.abs(centres - number) <= window / 2] = 1.0
    return matrix


# -- text_tfidf ---------------------------------------------------------------------------------------------

#: scikit-learn's default token: two or more word characters (the vocabulary matches its TfidfVectorizer)
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def _terms(text: str, ngrams: list[int]) -> list[str]:
    words = _TOKEN.findall(text.lower())
    low, high = ngrams
    return [" ".join(words[i:i + n]) for n in range(low, high + 1) for i in range(len(words) - n + 1)]


def _fit_tfidf(spec: dict, values: list[str | None]) -> Encoder:
    ngrams = spec.get("ngram_range", [1, 1])
    if not (isinstance(ngrams, list) and len(ngrams) == 2 and all(isinstance(n, int) and n >= 1 for n in ngrams)
            and ngrams[0] <= ngrams[1]):
        raise FeatureError("text_tfidf: \"ngram_range\" must be [min, max] with 1 <= min <= max")
    min_df = spec.get("min_df", 1)
    max_features = spec.get("max_features", 5000)
    if not isinstance(min_df, int) or min_df < 1:
        raise FeatureError("text_tfidf: \"min_df\" must be a positive integer")
    if not isinstance(max_features, int) or max_features < 1:
        raise FeatureError("text_tfidf: \"max_features\" must be a positive integer")
    # written out rather than fitted with scikit-learn so the image and the endpoint need numpy only;
    # the same weights as TfidfVectorizer's defaults (smooth idf, L2 rows), which the tests check
    documents = [_terms(v, ngrams) if not _missing(v) else [] for v in values]
    frequency: Counter[str] = Counter()
    document_frequency: Counter[str] = Counter()
    for terms in documents:
        frequency.update(terms)
        document_frequency.update(set(terms))
    kept = [term for term, df in document_frequency.items() if df >= min_df]
    kept = sorted(sorted(kept), key=lambda term: -frequency[term])[:max_features]  # most frequent, ties by name
    vocabulary = sorted(kept)
    count = len(values)
    idf = [math.log((1 + count) / (1 + document_frequency[term])) + 1.0 for term in vocabulary]
    return {"type": "text_tfidf", "dim": len(vocabulary), "ngram_range": ngrams, "vocabulary": vocabulary,
            "idf": idf}


def _apply_tfidf(encoder: Encoder, values: list[str | None]) -> numpy.ndarray:
    index = {term: i for i, term in enumerate(encoder["vocabulary"])}
    counts = numpy.zeros((len(values), encoder["dim"]))
    for row, value in enumerate(values):
        if _missing(value):
            continue
        for term in _terms(value, encoder["ngram_range"]):
            column = index.get(term)
            if column is not None:
                counts[row, column] += 1.0
    weighted = counts * numpy.array(encoder["idf"])
    norms = numpy.linalg.norm(weighted, axis=1, keepdims=True)
    return numpy.divide(weighted, norms, out=numpy.zeros_like(weighted), where=norms > 0)


# -- datetime -----------------------------------------------------------------------------------------------

def _parse_datetime(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise FeatureError(f"datetime: {text!r} is not an ISO-8601 date or date-time") from None


def _fit_datetime(spec: dict, values: list[str | None]) -> Encoder:
    parts = spec.get("datetime_parts", list(DATETIME_PARTS))
    if not (isinstance(parts, list) and parts and all(part in DATETIME_PARTS for part in parts)):
        raise FeatureError(f"datetime: \"datetime_parts\" must be a non-empty list of {', '.join(DATETIME_PARTS)}")
    years = sorted({_parse_datetime(v).year for v in values if not _missing(v)})
    sizes = {"year": len(years), "month": 12, "weekday": 7, "hour": 24}
    return {"type": "datetime", "dim": sum(sizes[part] for part in parts), "datetime_parts": parts, "years": years}


def _apply_datetime(encoder: Encoder, values: list[str | None]) -> numpy.ndarray:
    years = {year: i for i, year in enumerate(encoder["years"])}
    blocks = []
    for part in encoder["datetime_parts"]:
        size = {"year": len(years), "month": 12, "weekday": 7, "hour": 24}[part]
        block = numpy.zeros((len(values), size))
        for row, value in enumerate(values):
            if _missing(value):
                continue
            moment = _parse_datetime(value)
            column = {"year": years.get(moment.year), "month": moment.month - 1, "weekday": moment.weekday(),
                      "hour": moment.hour}[part]
            if column is not None:  # a year not seen in fitting encodes as zeros, like an unseen category
                block[row, column] = 1.0
        blocks.append(block)
    return numpy.concatenate(blocks, axis=1) if blocks else numpy.zeros((len(values), 0))


# -- auto and none ------------------------------------------------------------------------------------------

def auto_type(spec: dict, values: list[str | None]) -> str:
    """The feature type ``auto`` chooses for these values (see the module docstring)."""
    separator = spec.get("separator") or None
    present = [v for v in values if not _missing(v)]
    tokens = [token for value in present for token in _tokens(value, separator)]
    if tokens and all(_parses(token) for token in tokens):
        widths = {len(_tokens(value, separator)) for value in present}
        if len(widths) == 1:
            return "numerical"
    if len(set(tokens)) <= AUTO_CATEGORY_LIMIT or separator:
        return "category"
    return "text_tfidf"


def _fit_auto(spec: dict, values: list[str | None]) -> Encoder:
    chosen = auto_type(spec, values)
    options = {"separator": spec.get("separator")}
    if chosen == "numerical":  # auto never fails on a gap: missing numbers take the median
        options.update(norm=spec.get("norm", "min-max"), imputer=spec.get("imputer", "median"))
    encoder = fit(chosen, options, values)
    encoder["auto"] = True
    return encoder


def _fit_none(spec: dict, values: list[str | None]) -> Encoder:
    return {"type": "none", "dim": 0}


def _apply_none(encoder: Encoder, values: list[str | None]) -> numpy.ndarray:
    return numpy.zeros((len(values), 0))
