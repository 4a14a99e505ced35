"""``math()``: arithmetic over the traverser, its ``as()`` labels and side effects.

The expression language is exp4j's, as in TinkerPop (https://tinkerpop.apache.org/docs/3.7.0/reference/#math-step):
``+ - * / % ^``, unary minus, parentheses, numbers, and the functions abs, acos, asin, atan, cbrt, ceil,
cos, cosh, exp, floor, log, log10, log2, sin, sinh, sqrt, tan, tanh, signum (a function may take its
argument without parentheses: ``sin _``). ``_`` is the incoming object, any other name a label, a side
effect or a map key; the ``by()`` modulators apply round-robin to the variables in order of their first
appearance. The result is always a double. The expression is parsed here into a tree of closures: nothing
is ever handed to ``eval``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from emulator.services.neptune.errors import IllegalArgument, MalformedQuery
from emulator.services.neptune.gremlin.engine import (
    NOVALUE,
    By,
    Context,
    Step,
    Traverser,
    describe,
    register,
    select_value,
)
from emulator.services.neptune.gremlin.predicates import is_number

Evaluator = Callable[[dict[str, float]], float]


def _signum(x: float) -> float:
    return 0.0 if x == 0 or math.isnan(x) else math.copysign(1.0, x)


FUNCTIONS: dict[str, Callable[[float], float]] = {
    "abs": abs, "acos": math.acos, "asin": math.asin, "atan": math.atan, "cbrt": lambda x: math.copysign(
        abs(x) ** (1.0 / 3.0), x), "ceil": math.ceil, "cos": math.cos, "cosh": math.cosh, "exp": math.exp,
    "floor": math.floor, "log": math.log, "log10": math.log10, "log2": math.log2, "sin": math.sin,
    "sinh": math.sinh, "sqrt": math.sqrt, "tan": math.tan, "tanh": math.tanh, "signum": _signum,
}
_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(\S))")


def _divide(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _modulo(a: float, b: float) -> float:
    return math.nan if b == 0 else math.fmod(a, b)


def _power(a: float, b: float) -> float:
    try:
        result = a ** b
    except OverflowError:
        return math.inf
    except ZeroDivisionError:
        return math.inf
    return math.nan if isinstance(result, complex) else float(result)


def _call(fn: Callable[[float], float], x: float) -> float:
    try:
        return float(fn(x))
    except (ValueError, OverflowError):
        return math.nan


_BINARY: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": _divide, "%": _modulo,
    "^": _power,
}


class MathExpression:
    """A parsed expression: :attr:`variables` in order of first appearance, :meth:`evaluate` to run it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = self._tokenize(text)
        self.pos = 0
        self.variables: list[str] = []
        self.root = self._expression()
        if self.pos != len(self.tokens):
            raise MalformedQuery(f"math(): unexpected {self.tokens[self.pos][1]!r} in {text!r}")

    def evaluate(self, values: dict[str, float]) -> float:
        return self.root(values)

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens = []
        for match in _TOKEN.finditer(text):
            number, name, symbol = match.groups()
            if number is not None:
                tokens.append(("number", number))
            elif name is not None:
                tokens.append(("name", name))
            elif symbol is not None:
                if symbol not in "+-*/%^(),":
                    raise MalformedQuery(f"math(): unknown symbol {symbol!r} in {text!r}")
                tokens.append(("symbol", symbol))
        if not tokens:
            raise MalformedQuery("math() needs an expression")
        return tokens

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take_symbol(self, *symbols: str) -> str | None:
        token = self._peek()
        if token is not None and token[0] == "symbol" and token[1] in symbols:
            self.pos += 1
            return token[1]
        return None

    def _expression(self) -> Evaluator:
        left = self._term()
        while (op := self._take_symbol("+", "-")) is not None:
            left = _binary(_BINARY[op], left, self._term())
        return left

    def _term(self) -> Evaluator:
        left = self._unary()
        while (op := self._take_symbol("*", "/", "%")) is not None:
            left = _binary(_BINARY[op], left, self._unary())
        return left

    def _unary(self) -> Evaluator:
        op = self._take_symbol("-", "+")
        if op is None:
            return self._power()
        inner = self._unary()
        if op == "+":
            return inner
        return lambda values: -inner(values)

    def _power(self) -> Evaluator:
        base = self._primary()
        if self._take_symbol("^") is not None:
            return _binary(_power, base, self._unary())  # right-associative, binds tighter than unary minus
        return base

    def _primary(self) -> Evaluator:
        token = self._peek()
        if token is None:
            raise MalformedQuery(f"math(): {self.text!r} ends early")
        kind, text = token
        self.pos += 1
        if kind == "number":
            number = float(text)
            return lambda values: number
        if kind == "symbol":
            if text != "(":
                raise MalformedQuery(f"math(): unexpected {text!r} in {self.text!r}")
            inner = self._expression()
            if self._take_symbol(")") is None:
                raise MalformedQuery(f"math(): missing ')' in {self.text!r}")
            return inner
        if text in FUNCTIONS:
            fn = FUNCTIONS[text]
            argument = self._power()
            return lambda values: _call(fn, argument(values))
        if text not in self.variables:
            self.variables.append(text)
        return lambda values: values[text]


def _binary(op: Callable[[float, float], float], left: Evaluator, right: Evaluator) -> Evaluator:
    return lambda values: op(left(values), right(values))


def _as_double(value: Any, name: str) -> float:
    if not is_number(value):
        raise IllegalArgument(f"math(): the variable {name} is not a number: {describe(value)}")
    return float(value)


@register("math")
class MathStep(Step):
    def __init__(self, args: list[Any]) -> None:
        super().__init__(args)
        if len(args) != 1 or not isinstance(args[0], str):
            raise MalformedQuery("math() takes one expression string")
        self.expression = MathExpression(args[0])
        self.bys: list[By] = []

    def modulate(self, name: str, args: list[Any]) -> None:
        if name != "by":
            super().modulate(name, args)
        self.bys.append(By(args, "math"))

    def _variable(self, ctx: Context, trav: Traverser, index: int, name: str) -> Any:
        value = trav.obj if name == "_" else select_value(trav, name, side_effects=ctx.side_effects)
        if value is NOVALUE:
            raise IllegalArgument(f"math(): the variable {name} has no value (no such label or side effect)")
        if not self.bys:
            return value
        return self.bys[index % len(self.bys)].value_of(ctx, value, trav)

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        names = self.expression.variables
        for trav in it:
            values: dict[str, float] = {}
            for index, name in enumerate(names):
                value = self._variable(ctx, trav, index, name)
                if value is NOVALUE:  # an unproductive by(): the traverser is filtered
                    break
                values[name] = _as_double(value, name)
            else:
                yield trav.split(self.expression.evaluate(values))
