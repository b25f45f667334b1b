"""TOML loading, ``--set`` overrides, and validation errors that name file and field."""

from __future__ import annotations

import re

import tomllib
from collections.abc import Iterable, Mapping
from difflib import SequenceMatcher, get_close_matches
from pathlib import Path
from typing import Any, TypeVar, get_args

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from evalharness.errors import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)


class StrictModel(BaseModel):
    """Base of every config model: unknown keys are errors, values are immutable, and a boolean
    is not a number (TOML's ``true`` would otherwise be read as 1: a JPEG quality of 1, 1 m)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        annotation = cls.model_fields[str(info.field_name)].annotation
        kinds = get_args(annotation) or (annotation,)
        if isinstance(value, bool) and bool not in kinds and (int in kinds or float in kinds):
            raise ValueError(f"{str(value).lower()} is a boolean; give a number")
        return value


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file, raising :class:`ConfigError` naming the file if unreadable."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read: {error}") from None


def parse_override(text: str) -> tuple[str, Any]:
    """Parse one ``--set key=value``; the value is read as a TOML value, else a string.

    >>> parse_override("distance_m=25")
    ('distance_m', 25)
    >>> parse_override("spectral_mode=infrared")
    ('spectral_mode', 'infrared')
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, for example distance_m=25")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key, value


def parse_overrides(texts: Iterable[str]) -> dict[str, Any]:
    """Parse several ``--set`` strings into a dict (later ones win)."""
    return dict(parse_override(text) for text in texts)


class FieldConfigError(ConfigError):
    """Validation failed; ``keys`` are the offending fields (``""`` for a whole-model rule), in
    message order, so that a caller (e.g. an experiment's grid) can say where they came from."""

    def __init__(self, message: str, keys: tuple[str, ...]) -> None:
        super().__init__(message)
        self.keys = keys


def validate(
    model: type[ModelT],
    data: Mapping[str, Any],
    source: str,
    field_sources: Mapping[str, str] | None = None,
) -> ModelT:
    """Validate ``data`` against ``model``; errors become one :class:`FieldConfigError`.

    The message has one line per problem: ``source: field: what is wrong``, then what is
    allowed: for an unknown key the closest allowed key and all the allowed keys of the table it
    is in (``protocol.galery_choice`` lists the protocol's keys), for a bounded number its range.
    ``field_sources`` names, per top-level key, a more precise source than ``source`` (e.g. the
    base file that set the value).
    """
    try:
        return model.model_validate(dict(data))
    except ValidationError as error:
        lines, keys = _describe(error, model, source, field_sources or {})
        raise FieldConfigError("\n".join(lines), keys) from None


def suggest(word: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'focal_length_mm'?)"`` for close matches of ``word``, else ``""``."""
    close = did_you_mean(word, choices).strip()
    return f" ({close})" if close else ""


def _describe(
    error: ValidationError, model: type[BaseModel], source: str, field_sources: Mapping[str, str]
) -> tuple[list[str], tuple[str, ...]]:
    lines, keys = [], []
    for problem in error.errors():
        loc = problem["loc"]
        field = ".".join(str(part) for part in loc) or "(top level)"
        key = str(loc[0]) if loc else ""
        message = problem["msg"]
        table = _model_at(model, loc)
        if problem["type"] == "extra_forbidden":
            message = f"unknown key; {did_you_mean(str(loc[-1]), table.model_fields)}"\
                      f"allowed keys: {', '.join(sorted(table.model_fields))}"
        elif "input" in problem and problem["type"] != "missing" and loc:
            # A whole-model rule's input is the whole mapping: never dump it.
            message = f"{message} (got {problem['input']!r})" + allowed_range(table, str(loc[-1]))
        elif not loc:  # a rule across fields: where each field it names was set, if not here
            named = [f"{name} from {where}" for name, where in sorted(field_sources.items())
                     if where != source and re.search(rf"\b{re.escape(name)}\b", message)]
            message += f" ({'; '.join(named)})" if named else ""
        lines.append(f"{field_sources.get(key, source)}: {field}: {message}")
        keys.append(key)
    return lines, tuple(keys)


def did_you_mean(word: str, allowed: Iterable[str]) -> str:
    """``"did you mean 'distance_m'? "`` naming the allowed name closest to ``word`` (and a second
    one about as close), or ``""`` when none is close."""
    close = get_close_matches(word, list(allowed), n=2, cutoff=0.6)
    scores = [SequenceMatcher(None, word, name).ratio() for name in close]
    close = [name for name, score in zip(close, scores, strict=True) if score >= scores[0] - 0.05]
    return f"did you mean {' or '.join(map(repr, close))}? " if close else ""


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The (nested) model whose field ``loc[-1]`` is, following tables and lists of tables."""
    for part in loc[:-1]:
        info = model.model_fields.get(part) if isinstance(part, str) else None
        if info is None:
            continue  # a list index: the item's model was found at the list's name
        inner = [kind for kind in (info.annotation, *get_args(info.annotation))
                 if isinstance(kind, type) and issubclass(kind, BaseModel)]
        if not inner:
            break
        model = inner[0]
    return model


def allowed_range(model: type[BaseModel], field: str) -> str:
    """``"; allowed: 1 <= jpeg_quality <= 100"`` for a bounded numeric field, else ``""``."""
    info = model.model_fields.get(field)
    if info is None:
        return ""
    low = high = ""
    for bound in info.metadata:
        if isinstance(bound, Ge | Gt):
            low = f"{bound.ge} <= " if isinstance(bound, Ge) else f"{bound.gt} < "
        elif isinstance(bound, Le | Lt):
            high = f" <= {bound.le}" if isinstance(bound, Le) else f" < {bound.lt}"
    return f"; allowed: {low}{field}{high}" if low or high else ""
