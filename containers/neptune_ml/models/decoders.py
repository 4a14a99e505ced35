r"""Triple scores :math:`f(h, r, t)` (higher = more plausible) of the link-prediction decoders.

- DistMult (Yang et al., 2015): :math:`f = \sum_k h_k r_k t_k` (a diagonal bilinear form; symmetric in h, t).
- TransE (Bordes et al., 2013): :math:`f = \gamma - \lVert h + r - t \rVert_1`.
- RotatE (Sun et al., 2019): :math:`h, t \in \mathbb{C}^{d/2}`, :math:`r = e^{i\theta}`,
  :math:`f = \gamma - \sum_k |h_k r_k - t_k|` (a rotation in the complex plane per dimension).

Every function broadcasts over the leading dimensions and reduces the last, so one call scores a batch of
pairs (``[E, d]`` each) or a batch against all candidates (``[E, 1, d]`` against ``[1, N, d]``).
"""

from __future__ import annotations

import torch
from torch import Tensor

DECODERS = ("distmult", "transe", "rotate")


def relation_width(decoder: str, dim: int) -> int:
    """How many parameters one relation has: ``d`` (``d/2`` phases for RotatE)."""
    if decoder == "rotate":
        if dim % 2:
            raise ValueError(f"rotate needs an even embedding size, got {dim}")
        return dim // 2
    return dim


def score(decoder: str, head: Tensor, relation: Tensor, tail: Tensor, gamma: float = 12.0) -> Tensor:
    if decoder == "distmult":
        return (head * relation * tail).sum(-1)
    if decoder == "transe":
        return gamma - (head + relation - tail).abs().sum(-1)
    if decoder == "rotate":
        head_re, head_im = head.chunk(2, dim=-1)
        tail_re, tail_im = tail.chunk(2, dim=-1)
        cos, sin = torch.cos(relation), torch.sin(relation)
        re = head_re * cos - head_im * sin - tail_re
        im = head_re * sin + head_im * cos - tail_im
        return gamma - torch.sqrt(re * re + im * im + 1e-12).sum(-1)
    raise ValueError(f"unknown decoder {decoder!r} (known: {', '.join(DECODERS)})")


def score_candidates(decoder: str, known: Tensor, relation: Tensor, candidates: Tensor, known_is_head: bool,
                     gamma: float = 12.0, chunk: int = 256) -> Tensor:
    """``[Q, N]``: each known end (``[Q, d]``) against every candidate (``[N, d]``) for the other end."""
    rows = []
    for start in range(0, len(known), chunk):
        part = known[start:start + chunk].unsqueeze(1)
        others = candidates.unsqueeze(0)
        rows.append(score(decoder, part, relation, others, gamma) if known_is_head
                    else score(decoder, others, relation, part, gamma))
    return torch.cat(rows) if rows else known.new_zeros(0, len(candidates))
