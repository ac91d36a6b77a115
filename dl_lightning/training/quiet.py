"""Lightning's notices that a user of this project cannot act on, silenced for every trainer the package builds:
the "litlogger" advertisement at each start, and "N modules in eval mode" (the EMA generator and the frozen
segmenter and scene network are in eval mode by design)."""

from __future__ import annotations

import logging
import warnings

NOTICE_LOGGERS = ("pytorch_lightning.utilities.rank_zero", "lightning_fabric.utilities.rank_zero")


class _DropTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "litlogger" not in record.getMessage()


def silence_notices() -> None:
    """Install the filters (idempotent)."""
    for name in NOTICE_LOGGERS:
        log = logging.getLogger(name)
        if not any(isinstance(f, _DropTips) for f in log.filters):
            log.addFilter(_DropTips())
    warnings.filterwarnings("ignore", message=r"Found \d+ module\(s\) in eval mode")
