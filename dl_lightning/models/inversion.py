"""The result of inverting a photo: latents, noise maps and the fine-tuned generator."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from dl_lightning.models.generator import Generator


@dataclass
class Inversion:
    """An inverted photo: W+ (1, num_ws, w_dim), per-layer noise maps, the tuned generator, metrics."""

    ws: torch.Tensor
    noise_st: list[torch.Tensor]
    noise_dyn: list[torch.Tensor]
    G: Generator
    photo: torch.Tensor
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    stages: dict[str, torch.Tensor] = field(default_factory=dict)  # reconstruction after each stage

    def to(self, device) -> Inversion:
        """Move latents, photo and generator to ``device`` (in place); returns self."""
        self.ws, self.photo = self.ws.to(device), self.photo.to(device)
        self.noise_st = [n.to(device) for n in self.noise_st]
        self.noise_dyn = [n.to(device) for n in self.noise_dyn]
        self.G.to(device)
        return self

    def render(self) -> torch.Tensor:
        with torch.no_grad():
            return self.G.synthesis(self.ws, self.noise_st, self.noise_dyn)
