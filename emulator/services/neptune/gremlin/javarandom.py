"""Java's ``java.util.Random`` (the 48-bit linear congruential generator its javadoc specifies).

``SeedStrategy(seed)`` gives each of TinkerPop's random steps its own ``new Random(seed)``; drawing from the
same sequence makes ``coin()`` under a seed keep exactly what TinkerPop keeps. As a :class:`random.Random`
subclass whose ``random()`` is Java's ``nextDouble()``, Python's ``shuffle``/``sample`` draw from it too
(though not in Java's order of calls).
"""

from __future__ import annotations

import random
from typing import Any

_MULTIPLIER = 0x5DEECE66D
_MASK = (1 << 48) - 1


class JavaRandom(random.Random):
    def __init__(self, seed: int = 0) -> None:
        self._state = 0
        super().__init__(seed)

    def seed(self, a: Any = None, version: int = 2) -> None:  # noqa: ARG002  (random.Random's signature)
        self._state = (int(a or 0) ^ _MULTIPLIER) & _MASK

    def _next(self, bits: int) -> int:
        self._state = (self._state * _MULTIPLIER + 0xB) & _MASK
        return self._state >> (48 - bits)

    def random(self) -> float:
        """``nextDouble()``: 53 random bits over [0, 1)."""
        return ((self._next(26) << 27) + self._next(27)) * 2.0 ** -53

    def next_int(self, bound: int) -> int:
        """``nextInt(bound)``: uniform over [0, bound), with Java's rejection of the biased top range."""
        r = self._next(31)
        m = bound - 1
        if bound & m == 0:
            return (bound * r) >> 31
        u = r
        r = u % bound
        while u - r + m >= 1 << 31:  # Java's int overflow test `u - r + m < 0`
            u = self._next(31)
            r = u % bound
        return r

    def getstate(self) -> Any:
        return self._state

    def setstate(self, state: Any) -> None:
        self._state = state
