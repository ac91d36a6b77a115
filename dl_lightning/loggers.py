"""W&B logger that never blocks: offline unless an API key is configured."""

from __future__ import annotations

import os
from pathlib import Path

from pytorch_lightning.loggers import WandbLogger


def wandb_has_credentials() -> bool:
    """True if W&B can log in without asking (env key or ~/.netrc entry)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    return netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="ignore")


class AutoWandbLogger(WandbLogger):
    """``WandbLogger`` that falls back to offline mode when no credentials are present.

    Also honours ``WANDB_MODE`` (offline/disabled) and never prompts for a key.
    """

    def __init__(
        self, project: str = "dl_lightning", save_dir: str | None = None, offline: bool | None = None, **kwargs
    ):
        """``save_dir``: where W&B files go; ``dl-train`` fills in the run folder (``trainer.default_root_dir``),
        and ``runs`` is used when none is given."""
        save_dir = save_dir or "runs"
        os.environ.setdefault("WANDB_SILENT", "true")
        if offline is None:
            offline = os.environ.get("WANDB_MODE") in ("offline", "dryrun") or not wandb_has_credentials()
        if offline:
            os.environ["WANDB_MODE"] = (
                os.environ.get("WANDB_MODE") if os.environ.get("WANDB_MODE") == "disabled" else "offline"
            )
        Path(save_dir).mkdir(parents=True, exist_ok=True)
        super().__init__(project=project, save_dir=save_dir, offline=offline, **kwargs)

    @property
    def log_dir(self) -> str:
        """Per-run folder for samples/exports: <save_dir>/<project>/<version>."""
        return str(Path(self.save_dir) / (self.name or "dl_lightning") / str(self.version))
