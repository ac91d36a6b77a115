"""Evaluation metrics: FID/KID (torchmetrics), LPIPS, and animation metrics that need no pretrained net."""
