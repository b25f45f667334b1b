"""Plain usage and help lines: ``IMAGE...`` and ``--seed INT``, not Typer's ``{IMAGE}...``,
``IMAGE <list[Path]>`` and ``<int range>``.

:class:`PlainTyper` is the ``typer.Typer`` every command group uses; its commands are
:class:`PlainCommand`, which writes each argument as its metavar (or upper-case name) and gives
every option without a metavar one named after its type.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand

#: Option metavars for Typer's type labels (a range's bounds are in the help text already).
TYPE_METAVARS = {"int": "INT", "float": "NUMBER", "str": "TEXT", "bool": "BOOL"}


# Typer carries its own copy of click: parameters are told apart by ``param_type_name``.
Param = Any


def _argument_name(argument: Param) -> str:
    name = argument.metavar or (argument.name or "").upper()
    return name + ("..." if argument.nargs != 1 and not name.endswith("...") else "")


def _option_metavar(option: Param) -> str:
    """``INT`` for Typer's ``<int range>``, ``TEXT`` for ``<list[str]>``, ``a|b`` for choices."""
    label = option.display_type(None).strip("<>").removeprefix("list[").removesuffix("]")
    label = label.removesuffix(" range")
    return TYPE_METAVARS.get(label, label if "|" in label else label.upper())


class PlainCommand(TyperCommand):
    """A Typer command whose usage line and help name arguments and values plainly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.param_type_name == "option" and param.metavar is None and not param.is_flag:
                param.metavar = _option_metavar(param)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = _argument_name(param)
                pieces.append(name if param.required else f"[{name}]")
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments, options = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                arguments.append((_argument_name(param), record[1]))
            else:
                options.append(record)
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


class PlainTyper(typer.Typer):
    """``typer.Typer`` whose commands default to :class:`PlainCommand`."""

    def command(self, *args: Any, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or PlainCommand, **kwargs)
