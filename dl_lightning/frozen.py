"""Mixin for LightningModules that hold frozen networks."""

from __future__ import annotations

from operator import attrgetter


class KeepFrozenInEval:
    """``train()`` leaves the attributes named in ``frozen`` (dotted paths) in eval mode.

    Lightning calls ``module.train()`` at fit start; frozen generators must stay in eval mode so
    that their mapping's running ``w_avg`` does not move.
    """

    frozen: tuple[str, ...] = ()

    def train(self, mode: bool = True):
        super().train(mode)
        for name in self.frozen:
            attrgetter(name)(self).eval()
        return self
