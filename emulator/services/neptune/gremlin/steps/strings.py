"""String steps: concat, toUpper/toLower, trim/lTrim/rTrim, split, substring, replace, length, format.

TinkerPop's rules (https://tinkerpop.apache.org/docs/3.7.0/reference/#string-steps): a ``null``
input gives ``null``; a non-string input is an error; ``Scope.local`` applies the step to each item
of an incoming list (and to a plain string as it is). ``reverse()`` (strings and lists) is in
``lists.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from emulator.services.neptune.errors import IllegalArgument, MalformedQuery
from emulator.services.neptune.gremlin.bytecode import Bytecode
from emulator.services.neptune.gremlin.engine import (
    NOVALUE,
    By,
    Context,
    Step,
    Traverser,
    compile_bytecode,
    describe,
    element_value,
    first_result,
    register,
    select_value,
)
from emulator.services.neptune.gremlin.steps.types import java_string, split_scope


class StringStep(Step):
    """A one-string-in, one-value-out step with the global/local forms every string step shares."""

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.local, self.rest = split_scope(args)

    def apply(self, text: str) -> Any:
        raise NotImplementedError

    def _one(self, value: Any, local: bool) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            if local:
                raise IllegalArgument(f"The {self.name}(local) step can only take string or list of strings, "
                                      f"encountered: {describe(value)}")
            raise IllegalArgument(f"The {self.name}() step can only take string as argument, "
                                  f"encountered: {describe(value)}")
        return self.apply(value)

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            obj = trav.obj
            if self.local and isinstance(obj, list | tuple):
                yield trav.split([self._one(item, True) for item in obj])
            else:
                yield trav.split(self._one(obj, self.local))


def _simple(name: str, fn: Callable[[str], Any]) -> None:
    register(name)(type(f"StringStep_{name}", (StringStep,), {"apply": lambda self, text: fn(text)}))


_simple("toUpper", str.upper)
_simple("toLower", str.lower)
_simple("trim", str.strip)
_simple("lTrim", str.lstrip)
_simple("rTrim", str.rstrip)
_simple("length", len)


@register("split")
class SplitStep(StringStep):
    """``split(sep)``: ``null`` splits on whitespace, ``""`` into characters."""

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(self.rest) != 1 or not (self.rest[0] is None or isinstance(self.rest[0], str)):
            raise MalformedQuery("split() takes one separator (a string or null)")
        self.separator: str | None = self.rest[0]

    def apply(self, text: str) -> Any:
        if self.separator is None:
            return text.split()
        if self.separator == "":
            return list(text)
        return text.split(self.separator)


@register("substring")
class SubstringStep(StringStep):
    """``substring(start[, end])``; negative indexes count from the end, an empty range gives ``""``."""

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(self.rest) not in (1, 2) or not all(isinstance(a, int) and not isinstance(a, bool)
                                                   for a in self.rest):
            raise MalformedQuery("substring() takes a start index and an optional end index (integers)")
        self.start = self.rest[0]
        self.end = self.rest[1] if len(self.rest) == 2 else None

    def apply(self, text: str) -> Any:
        size = len(text)
        start = max(size + self.start, 0) if self.start < 0 else min(self.start, size)
        if self.end is None:
            return text[start:]
        end = max(size + self.end, 0) if self.end < 0 else min(self.end, size)
        return text[start:end] if end > start else ""


@register("replace")
class ReplaceStep(StringStep):
    """``replace(old, new)``: every occurrence; a ``null`` pattern changes nothing."""

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(self.rest) != 2 or not all(a is None or isinstance(a, str) for a in self.rest):
            raise MalformedQuery("replace() takes the text to find and its replacement (strings or null)")
        self.old, self.new = self.rest

    def apply(self, text: str) -> Any:
        if self.old is None:
            return text
        return text.replace(self.old, self.new or "")


@register("concat")
class ConcatStep(Step):
    """``concat(strings...)`` or ``concat(traversal...)``; nulls are skipped, all-null gives null."""

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        self.parts: list[Any] = []
        for arg in args:
            if isinstance(arg, Bytecode):
                self.parts.append(compile_bytecode(arg))
            elif arg is None or isinstance(arg, str):
                self.parts.append(arg)
            else:
                raise IllegalArgument(f"String concat() can only take string as argument, got {describe(arg)}")

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            obj = trav.obj
            if obj is not None and not isinstance(obj, str):
                raise IllegalArgument(f"String concat() can only take string as argument, "
                                      f"encountered: {describe(obj)}")
            pieces = [obj]
            for part in self.parts:
                value = first_result(ctx, part, trav) if isinstance(part, list) else part
                if value is not NOVALUE and value is not None and not isinstance(value, str):
                    raise IllegalArgument(f"String concat() can only take string as argument, "
                                          f"got {describe(value)}")
                pieces.append(None if value is NOVALUE else value)
            present = [p for p in pieces if p is not None]
            yield trav.split("".join(present) if present else None)


_FORMAT_VARIABLE = re.compile(r"%\{([^}]*)\}")


@register("format")
class FormatStep(Step):
    """``format("%{name} is %{age}")``: variables from the element, the map, or ``as()`` labels;
    ``%{_}`` takes the next ``by()`` (round-robin). A variable with no value drops the traverser."""

    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) != 1 or not isinstance(args[0], str):
            raise MalformedQuery("format() takes one format string")
        self.template = args[0]
        self.bys: list[By] = []

    def modulate(self, name: str, args: list[Any]) -> None:
        if name != "by":
            super().modulate(name, args)
        self.bys.append(By(args, "format"))

    def _variable(self, ctx: Context, trav: Traverser, name: str, position: list[int]) -> Any:
        if name == "_":
            index = position[0]
            position[0] += 1
            if not self.bys:
                return NOVALUE
            return self.bys[index % len(self.bys)].value(ctx, trav)
        value = element_value(trav.obj, name)
        if value is NOVALUE:
            value = select_value(trav, name, side_effects=ctx.side_effects)
        return value

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        for trav in it:
            position = [0]
            out: list[str] = []
            last = 0
            for match in _FORMAT_VARIABLE.finditer(self.template):
                value = self._variable(ctx, trav, match.group(1), position)
                if value is NOVALUE:
                    break
                out.append(self.template[last:match.start()])
                out.append(java_string(value))
                last = match.end()
            else:
                out.append(self.template[last:])
                yield trav.split("".join(out))
