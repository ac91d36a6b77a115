"""``dl-animate``'s photo flags, one per :class:`~dl_lightning.photo.job.PhotoOptions` field that has a help text:
the default, help and choices are the field's, the checks its ``__post_init__``."""

from __future__ import annotations

import argparse
from dataclasses import fields

from dl_lightning.photo.job import PhotoOptions

PHOTO_FLAGS = [f for f in fields(PhotoOptions) if "help" in f.metadata]


def add_photo_flags(group: argparse._ArgumentGroup) -> None:
    """One flag per :data:`PHOTO_FLAGS` field of :class:`PhotoOptions`, with its default, help and choices."""
    for f in PHOTO_FLAGS:
        m = f.metadata
        flag = m["flag"] or "--" + f.name.replace("_", "-")
        if m["kind"] is bool:
            group.add_argument(flag, dest=f.name, action="store_false" if f.default else "store_true", help=m["help"])
        else:
            group.add_argument(flag, dest=f.name, type=m["kind"], default=f.default, choices=m["choices"],
                               help=m["help"] + ("" if f.default is None else f" (default {f.default})"))  # fmt: skip
