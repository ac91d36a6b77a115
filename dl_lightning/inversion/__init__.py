"""Animating a real photo: encoder -> latent optimisation -> generator fine-tuning, and lighting network A."""
