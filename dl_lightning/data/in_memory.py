"""The data modules whose sets fit in memory (the companion networks' stills, masks and frames, kept as uint8)."""

from __future__ import annotations

import pytorch_lightning as pl
from torch.utils.data import DataLoader, Dataset


class InMemoryDataModule(pl.LightningDataModule):
    """Loads its training and validation sets once (:meth:`load_sets`, on the first ``setup``); trains on shuffled
    batches of ``hparams.batch_size`` (the last short one dropped) and validates in order in batches of
    :attr:`val_batch_size`. A subclass saves its hyper-parameters (``batch_size`` among them) and defines
    :meth:`load_sets`."""

    #: Validation batch size; None: the training one.
    val_batch_size: int | None = None

    def __init__(self) -> None:
        super().__init__()
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None

    def load_sets(self) -> tuple[Dataset, Dataset]:
        """(training set, validation set)."""
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            self.train_set, self.val_set = self.load_sets()

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_set, batch_size=self.hparams.batch_size, shuffle=True, drop_last=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=self.val_batch_size or self.hparams.batch_size)
