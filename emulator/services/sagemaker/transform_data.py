"""Batch transform's data handling: records, payloads, filters, joins and the assembled ``.out`` object.

Pure functions over bytes, no IO and no HTTP, following
https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform.html and
https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform-data-processing.html:

- ``SplitType`` ``None`` sends an object whole; ``Line`` cuts it into lines (the records).
- ``BatchStrategy`` ``SingleRecord`` sends one record per request; ``MultiRecord`` packs as many as fit in
  ``MaxPayloadInMB``, joined by newlines.
- ``InputFilter`` / ``OutputFilter`` are JSONPath expressions of the subset AWS documents (``$``,
  ``$[1:]``, ``$[0,5:]``, ``$[-1]``, ``$.features``, ``$['id','SageMakerOutput']``, ``$.a.b[0]``); a CSV
  record is a JSON array of its fields, a JSON record is itself.
- ``JoinSource`` ``Input`` joins each (unfiltered) input record with its result: a CSV result's fields are
  appended to the row; a JSON result goes under ``SageMakerOutput`` of the input object (an input that is
  not an object becomes ``{"SageMakerInput": …, "SageMakerOutput": …}``).
- ``AssembleWith`` ``Line`` puts each result on its own line; ``None`` concatenates them.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MEGABYTE = 1024 * 1024
CSV = "text/csv"
JSON_TYPES = ("application/json", "application/jsonlines", "application/x-jsonlines")


class TransformDataError(ValueError):
    """A record cannot be filtered, joined or sent; the message names what and why."""


# -- JSONPath (the documented subset) ---------------------------------------------------------
@dataclass(frozen=True)
class _Key:
    names: tuple[str, ...]


@dataclass(frozen=True)
class _Index:
    parts: tuple[int | slice, ...]


_Step = _Key | _Index
_DOT_KEY = re.compile(r"\.([A-Za-z_][A-Za-z0-9_\-]*)")
_BRACKET = re.compile(r"\[([^\]]*)\]")


def parse_path(expression: str) -> tuple[_Step, ...]:
    """``$…`` → its steps.

    Raises:
        TransformDataError: not in the supported subset (the message says what is).
    """
    text = expression.strip()
    if not text.startswith("$"):
        raise TransformDataError(f"JSONPath {expression!r} must start with '$'")
    position, steps = 1, []
    while position < len(text):
        dot = _DOT_KEY.match(text, position)
        bracket = _BRACKET.match(text, position)
        if dot:
            steps.append(_Key((dot.group(1),)))
            position = dot.end()
        elif bracket:
            steps.append(_bracket_step(bracket.group(1), expression))
            position = bracket.end()
        else:
            raise TransformDataError(f"JSONPath {expression!r}: unsupported syntax at {text[position:]!r} "
                                     "(supported: $, .key, ['a','b'], [i], [i:j], [i,j:])")
    return tuple(steps)


def _bracket_step(inside: str, expression: str) -> _Step:
    items = [item.strip() for item in inside.split(",")]
    if all(len(item) >= 2 and item[0] == item[-1] and item[0] in "'\"" for item in items):
        return _Key(tuple(item[1:-1] for item in items))
    parts: list[int | slice] = []
    for item in items:
        try:
            if ":" in item:
                start, _, stop = item.partition(":")
                parts.append(slice(int(start) if start else None, int(stop) if stop else None))
            else:
                parts.append(int(item))
        except ValueError:
            raise TransformDataError(f"JSONPath {expression!r}: [{inside}] is neither indexes nor quoted keys"
                                     ) from None
    return _Index(tuple(parts))


def select(value: Any, expression: str) -> Any:
    """Apply a JSONPath of the subset to ``value``; several keys give an object, several indexes a list.

    Raises:
        TransformDataError: a key is missing, an index lies outside the array, or a step does not fit the value.
    """
    for step in parse_path(expression):
        value = _apply(value, step, expression)
    return value


def _apply(value: Any, step: _Step, expression: str) -> Any:
    if isinstance(step, _Key):
        if not isinstance(value, dict):
            raise TransformDataError(f"JSONPath {expression!r}: keys {list(step.names)} applied to a non-object")
        missing = [name for name in step.names if name not in value]
        if missing:
            raise TransformDataError(f"JSONPath {expression!r}: no key {missing[0]!r} in the record")
        if len(step.names) == 1:
            return value[step.names[0]]
        return {name: value[name] for name in step.names}
    if not isinstance(value, list):
        raise TransformDataError(f"JSONPath {expression!r}: an index applied to a non-array")
    if len(step.parts) == 1 and isinstance(step.parts[0], int):
        return value[_checked_index(step.parts[0], len(value), expression)]
    picked: list[Any] = []
    for part in step.parts:
        if isinstance(part, slice):
            picked.extend(value[part])
        else:
            picked.append(value[_checked_index(part, len(value), expression)])
    return picked


def _checked_index(index: int, size: int, expression: str) -> int:
    if not -size <= index < size:
        raise TransformDataError(f"JSONPath {expression!r}: index {index} is outside the record's {size} fields")
    return index


# -- records ----------------------------------------------------------------------------------
def split_records(body: bytes, split_type: str) -> list[bytes]:
    """The records of one object: the whole object (``None``) or its non-empty lines (``Line``)."""
    if split_type == "Line":
        return [line for line in body.splitlines() if line.strip()]
    return [body]


def batches(records: list[bytes], strategy: str, max_payload_bytes: int) -> Iterator[tuple[int, list[bytes]]]:
    """``(index of the first record, records)`` per request: one record each, or as many as fit.

    Raises:
        TransformDataError: a single record is larger than ``MaxPayloadInMB`` (names the record).
    """
    batch: list[bytes] = []
    first, size = 0, 0
    for index, record in enumerate(records):
        if max_payload_bytes and len(record) > max_payload_bytes:
            raise TransformDataError(f"record {index + 1} is {len(record)} bytes, larger than MaxPayloadInMB "
                                     f"({max_payload_bytes // MEGABYTE} MB)")
        grown = size + len(record) + (1 if batch else 0)
        if batch and (strategy == "SingleRecord" or (max_payload_bytes and grown > max_payload_bytes)):
            yield first, batch
            batch, first, size = [], index, 0
            grown = len(record)
        batch.append(record)
        size = grown
    if batch:
        yield first, batch


def payload(records: list[bytes]) -> bytes:
    """The body of one request: the records, newline-separated (as MultiRecord sends them)."""
    return b"\n".join(records)


# -- filters and joins --------------------------------------------------------------------------
def _kind(content_type: str | None) -> str:
    base = (content_type or "").split(";", 1)[0].strip().lower()
    if base == CSV:
        return "csv"
    if base in JSON_TYPES or base.endswith("+json"):
        return "json"
    return "other"


def _parse(record: bytes, kind: str, what: str) -> Any:
    try:
        text = record.decode()
        if kind == "csv":
            rows = list(csv.reader(io.StringIO(text)))
            return rows[0] if len(rows) == 1 else rows
        return json.loads(text)
    except (UnicodeDecodeError, ValueError, csv.Error) as error:
        raise TransformDataError(f"the {what} is not valid {kind.upper()}: {error}") from None


def _render(value: Any, kind: str) -> bytes:
    if kind == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if isinstance(value, list) and value and all(isinstance(row, list) for row in value):
            writer.writerows(value)
        else:
            writer.writerow(value if isinstance(value, list) else [value])
        return buffer.getvalue().rstrip("\n").encode()
    return json.dumps(value, separators=(",", ":")).encode()


@dataclass(frozen=True)
class DataProcessing:
    """``DataProcessing`` of CreateTransformJob, with the content types it works on.

    Args:
        input_filter / output_filter: JSONPath expressions (``$``: everything).
        join_source: ``None`` or ``Input``.
        content_type: ``TransformInput.ContentType`` (how an input record is read).
        accept: ``TransformOutput.Accept`` (how a result is read when joined).
    """

    input_filter: str = "$"
    output_filter: str = "$"
    join_source: str = "None"
    content_type: str | None = None
    accept: str | None = None

    @classmethod
    def from_request(cls, request: dict[str, Any]) -> DataProcessing:
        processing = request.get("DataProcessing") or {}
        return cls(processing.get("InputFilter") or "$", processing.get("OutputFilter") or "$",
                   processing.get("JoinSource") or "None", request["TransformInput"].get("ContentType"),
                   request["TransformOutput"].get("Accept"))

    @property
    def is_identity(self) -> bool:
        return self.input_filter.strip() == "$" and self.output_filter.strip() == "$" and self.join_source != "Input"

    def check(self) -> None:
        """The filters parse and the content types allow them (called at Create).

        Raises:
            TransformDataError: with the member's name.
        """
        for member, expression in (("InputFilter", self.input_filter), ("OutputFilter", self.output_filter)):
            try:
                parse_path(expression)
            except TransformDataError as error:
                raise TransformDataError(f"DataProcessing.{member}: {error}") from None
        if not self.is_identity and _kind(self.content_type) == "other":
            raise TransformDataError("DataProcessing filters and JoinSource need TransformInput.ContentType "
                                     f"text/csv or application/json(lines), not {self.content_type!r}")

    def filter_input(self, record: bytes) -> bytes:
        """The part of an input record the model gets (``InputFilter``)."""
        if self.input_filter.strip() == "$":
            return record
        kind = _kind(self.content_type)
        return _render(select(_parse(record, kind, "input record"), self.input_filter), kind)

    def finish(self, inputs: list[bytes], result: bytes) -> list[bytes]:
        """One request's output records: joined with their inputs and filtered (``JoinSource``, ``OutputFilter``).

        Raises:
            TransformDataError: the result's records do not pair with the inputs, or a filter does not fit.
        """
        if self.join_source != "Input" and self.output_filter.strip() == "$":
            return [result]
        input_kind = _kind(self.content_type)
        output_kind = _kind(self.accept) if _kind(self.accept) != "other" else input_kind
        results = split_records(result, "Line") if len(inputs) > 1 else [result.strip()]
        if self.join_source == "Input" and len(results) != len(inputs):
            raise TransformDataError(f"the model answered {len(results)} records for {len(inputs)} input records, "
                                     "so they cannot be joined (JoinSource Input)")
        out = []
        for position, output in enumerate(results):
            value = _parse(output, output_kind, "model's output")
            if self.join_source == "Input":
                value = _join(_parse(inputs[position], input_kind, "input record"), value, input_kind)
                output_kind = input_kind
            out.append(_render(select(value, self.output_filter), output_kind))
        return out


def _join(record: Any, result: Any, kind: str) -> Any:
    if kind == "csv":
        extra = result if isinstance(result, list) else [result]
        if extra and all(isinstance(row, list) for row in extra):
            extra = [field for row in extra for field in row]
        return [*record, *extra]
    if isinstance(record, dict):
        return {**record, "SageMakerOutput": result}
    return {"SageMakerInput": record, "SageMakerOutput": result}


def assemble(parts: list[bytes], assemble_with: str) -> bytes:
    """The ``.out`` object: the results one per line (``Line``) or back to back (``None``)."""
    if assemble_with == "Line":
        return b"".join(part if part.endswith(b"\n") else part + b"\n" for part in parts)
    return b"".join(parts)
