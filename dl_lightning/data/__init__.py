"""Data: image decoding and photos, shard writing, the streaming LightningDataModule, and the in-memory datasets of
the companion networks (masks, scene labels, super-resolution pairs)."""
