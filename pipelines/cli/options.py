"""CLI flags generated from a config dataclass's fields: name, type, help and choices once."""

from __future__ import annotations

import argparse
from dataclasses import MISSING, fields, replace


def add_setting_flags(parser: argparse.ArgumentParser, config_cls, names=None) -> None:
    """A `--flag` per scalar field (all, or those named); unset flags keep the field's default."""
    for f in _scalar_fields(config_cls, names):
        default = f.default if f.default is not MISSING else None
        flag = f"--{f.name.replace('_', '-')}"
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                                help=f.metadata.get("help"))  # fmt: skip
            continue
        parser.add_argument(
            flag,
            type=type(default),
            choices=f.metadata.get("choices") or None,
            help=f"{f.metadata.get('help', '')} (default {default})".strip(),
        )


def with_chosen_settings(args: argparse.Namespace, config, names=None):
    """`config` with every flag the user gave applied."""
    chosen = {
        f.name: getattr(args, f.name)
        for f in _scalar_fields(type(config), names)
        if getattr(args, f.name, None) is not None
    }
    return replace(config, **chosen)


def _scalar_fields(config_cls, names):
    return [
        f
        for f in fields(config_cls)
        if (names is None or f.name in names) and f.default is not MISSING
    ]
