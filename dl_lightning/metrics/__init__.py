"""Evaluation metrics: scene-network quality (Fréchet, KID, precision/recall, scene and pixel statistics), FID/KID
with Inception (torchmetrics), LPIPS, and animation metrics that need no pretrained net."""
