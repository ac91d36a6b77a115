"""The LightningCLI of every training job (GAN, segmenter, scene network, encoder, lighting network A, upsampler):
``dl-train`` (:mod:`dl_lightning.cli.train`) calls :func:`build_cli`; :func:`fit_to` runs the same CLI from Python
and writes one checkpoint (photo animation's networks trained on the spot, :mod:`.companions`).

The config names the LightningModule and LightningDataModule by ``class_path``; errors in it are one line
(:class:`OneLineParser`, :class:`DLCLI`); ``trainer.precision: null`` is chosen by measurement (:mod:`.precision`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI

from dl_lightning.errors import UserError
from dl_lightning.files import atomic_path
from dl_lightning.hardware import auto_precision
from dl_lightning.training.precision import measured_precision

#: words that mark the line of a (nested, multi-line) config error that says what is wrong
TELLING = ("must be", "differs", "not accepted", "nrecognized", "not exist", "Expected", "not found", "No such")


def message_lines(text: str) -> tuple[list[str], list[str]]:
    """(all non-empty lines, the telling ones) of an error message, list markers stripped."""
    lines = [ln.strip(" -") for ln in text.splitlines() if ln.strip(" -")]
    return lines, [ln for ln in lines if any(word in ln for word in TELLING)]


def root_cause(err: BaseException) -> str:
    """The most specific line of a (possibly nested, multi-line) error raised while instantiating the config."""
    while err.__cause__ is not None or err.__context__ is not None:
        err = err.__cause__ or err.__context__
    lines, telling = message_lines(str(err))
    return (telling or lines or [type(err).__name__])[-1]


class OneLineParser(LightningArgumentParser):
    """A config or command-line error is one line (the key and what is wrong), not the whole usage."""

    def error(self, message: str, ex: Exception | None = None):
        if not self.exit_on_error:
            return super().error(message, ex)
        lines, telling = message_lines(message)
        keys = [ln.rstrip(":") for ln in lines if ln.startswith("Parser key")]
        what = (telling or lines or ["?"])[0]
        line = f"{keys[-1]}: {what}" if keys and telling and not what.startswith("Parser key") else what
        raise UserError(f"invalid config: {line} (`dl-train fit --help` lists every option)")


def fill_run_folder(trainer) -> None:
    """A config names its run folder once, as ``trainer.default_root_dir``: loggers without a ``save_dir`` write
    there (named after it), and checkpoint callbacks without a ``dirpath`` write to its ``checkpoints/``.

    A sweep trial (``WANDB_SWEEP_ID`` and ``WANDB_RUN_ID`` set, by the W&B agent or ``dl_lightning.sweep``) gets
    ``<root>/sweeps/<sweep>/<run>`` instead, so trials never overwrite each other or the plain run.
    """
    root = trainer.get("default_root_dir")
    if not root:
        return
    sweep, run_id = os.environ.get("WANDB_SWEEP_ID"), os.environ.get("WANDB_RUN_ID")
    if sweep and run_id:
        root = trainer.default_root_dir = str(Path(root) / "sweeps" / sweep / run_id)
    loggers = trainer.get("logger")
    for logger in loggers if isinstance(loggers, list) else [loggers]:
        args = getattr(logger, "init_args", None)
        if args is not None and "save_dir" in args and args.save_dir is None:
            args.save_dir = str(root)
            if "name" in args and args.name is None:
                args.name = Path(root).name
    for callback in trainer.get("callbacks") or []:
        args = getattr(callback, "init_args", None)
        if args is not None and "dirpath" in args and args.dirpath is None:
            args.dirpath = str(Path(root) / "checkpoints")


#: Set by the first process of a run to the precision it chose; the ranks Lightning launches from it inherit it.
PRECISION_ENV = "DL_PRECISION_CHOSEN"
#: Variables that external launchers (torchrun, SLURM, ``num_nodes`` > 1) set in every rank at once.
LAUNCHER_RANK_ENV = ("RANK", "SLURM_PROCID", "NODE_RANK", "LOCAL_RANK")


def shared_precision(choose, key: str, accelerator: str = "auto") -> tuple[str, str]:
    """The run's precision, the same on every rank and measured at most once per run.

    A rank started by Lightning from the first process (``devices`` > 1) inherits the first process's choice
    through ``DL_PRECISION_CHOSEN`` (``key``, a digest of the model's config, keeps another job in the same
    process from taking it). Ranks started together by an external launcher (torchrun, SLURM, several
    nodes) cannot wait for one another here, so none measures (they would all time the model at once on the same
    GPU): each takes :func:`dl_lightning.hardware.auto_precision`'s rule, which gives every rank the same answer
    on the same hardware. Otherwise ``choose()`` measures, and its answer is handed to the ranks it launches.
    """
    inherited, _, precision = os.environ.get(PRECISION_ENV, "").partition("=")
    if inherited == key and precision:
        return precision, "chosen by the run's first process"
    if any(os.environ.get(k) for k in LAUNCHER_RANK_ENV):
        precision, why = auto_precision(accelerator)
        return precision, f"{why}; ranks started by a launcher are not timed: set trainer.precision to override"
    precision, why = choose()
    os.environ[PRECISION_ENV] = f"{key}={precision}"
    return precision, why


class DLCLI(LightningCLI):
    """LightningCLI that turns bad model/data settings into one-line errors and checks they agree."""

    def before_instantiate_classes(self) -> None:
        """Run-folder defaults (:func:`fill_run_folder`); ``trainer.precision: null`` (the configs' default) means:
        choose from the hardware, say so, record it."""
        trainer = self.config[self.subcommand].trainer if self.subcommand else self.config.trainer
        fill_run_folder(trainer)
        if trainer.get("precision") is None:
            config = self.config[self.subcommand] if self.subcommand else self.config
            key = hashlib.sha1(json.dumps(config.get("model"), sort_keys=True, default=str).encode()).hexdigest()[:12]
            accelerator = str(trainer.get("accelerator") or "auto")
            trainer.precision, why = shared_precision(lambda: self.choose_precision(trainer), key, accelerator)
            print(f"precision: {trainer.precision} ({why})")

    def choose_precision(self, trainer) -> tuple[str, str]:
        """A GAN: the faster of fp32 and bf16 for its own step, measured (``training.precision``); other models:
        from the hardware (``hardware.auto_precision``)."""
        accelerator = str(trainer.get("accelerator") or "auto")
        config = self.config[self.subcommand] if self.subcommand else self.config
        model = getattr(config.get("model"), "init_args", None) or {}
        data = getattr(config.get("data"), "init_args", None) or {}
        if model.get("generator") is None or model.get("discriminator") is None:
            return auto_precision(accelerator)
        cuda = accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()
        batch = int(data.get("batch_size") or 16)
        g, d = dict(model["generator"]), dict(model["discriminator"])
        try:
            return measured_precision(g, d, batch, "cuda" if cuda else "cpu")
        except (ValueError, TypeError) as err:  # a bad generator/discriminator setting: the same line as below
            raise UserError(f"invalid config: {root_cause(err)}") from None

    def instantiate_classes(self) -> None:
        try:
            super().instantiate_classes()
        except (ValueError, TypeError) as err:
            raise UserError(f"invalid config: {root_cause(err)}") from None
        model_res = getattr(getattr(self.model, "G", None), "cfg", None)
        data_res = getattr(self.datamodule, "hparams", {}).get("resolution") if self.datamodule else None
        if model_res is not None and data_res is not None and model_res.resolution != data_res:
            raise UserError(
                f"data.resolution ({data_res}) differs from the generator's resolution "
                f"({model_res.resolution}); set both to the same value"
            )


def build_cli(args: list[str] | None, run: bool = True) -> DLCLI:
    os.environ.setdefault("WANDB_SILENT", "true")
    return DLCLI(
        pl.LightningModule,
        None,
        subclass_mode_model=True,
        subclass_mode_data=True,  # data optional (A needs none)
        parser_class=OneLineParser,
        save_config_kwargs={"overwrite": True},
        args=args,
        run=run,
    )


def fit_to(config: str | Path, overrides: list[str], dest: str | Path) -> Path:
    """Train ``config`` (+ ``overrides``) without its logger and checkpoint callbacks; save the end to ``dest``."""
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*args parameter is intended")  # called from another CLI
        cli = build_cli(
            ["--config", str(config), "--trainer.logger=false", "--trainer.callbacks=[]"]
            + ["--trainer.enable_checkpointing=false", f"--trainer.default_root_dir={tmp}", *overrides],
            run=False,
        )
        cli.trainer.fit(cli.model, datamodule=cli.datamodule)
        with atomic_path(dest) as part:
            cli.trainer.save_checkpoint(part, weights_only=False)
    return Path(dest)
