"""Gradient reversal (Ganin & Lempitsky): identity forward, −λ·grad backward."""

from __future__ import annotations

import torch


class _GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, lam: float) -> torch.Tensor:
        ctx.lam = float(lam)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.lam * grad, None


def grad_reverse(x: torch.Tensor, lam: float = 1.0) -> torch.Tensor:
    """Identity on ``x``; the gradient flowing back through it is multiplied by ``-lam``."""
    return _GradReverse.apply(x, lam)
