"""Data: image decoding, shard writing, and the streaming LightningDataModule."""
