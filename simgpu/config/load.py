"""Load a composed configuration: typed and validated.

Three validation layers, every problem collected and reported together as one
:class:`~simgpu.errors.ConfigError`, each with its dotted key and offending value:

1. types, enums and unknown keys, checked field by field against the dataclass schema;
2. range checks in each dataclass's ``__post_init__`` (:mod:`simgpu.config.schema`);
3. cross-group checks (:mod:`simgpu.config.validate`).

Nothing here does I/O; composition is :mod:`simgpu.config.compose`.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from simgpu.config import schema as S
from simgpu.config.compose import _one_line
from simgpu.errors import ConfigError, Problem

# ------------------------------------------------------------------------- load


def load(cfg: Any) -> S.SimgpuConfig:
    """Turn a composed config (DictConfig, mapping or dataclass) into a validated tree.

    Parameters
    ----------
    cfg : DictConfig, Mapping or SimgpuConfig
        The configuration; a ``hydra`` node, if present, is ignored.

    Returns
    -------
    SimgpuConfig
        Typed, with every check passed.

    Raises
    ------
    ConfigError
        Listing every problem found, each with its dotted key and value.
    """
    from simgpu.config.validate import cross_check

    if isinstance(cfg, S.SimgpuConfig):
        cfg = OmegaConf.structured(cfg)
    problems: list[Problem] = []
    try:
        data = _plain(cfg)
    except OmegaConfBaseException as exc:
        raise ConfigError([Problem(getattr(exc, "full_key", "") or "config", None,
                                   _one_line(exc))]) from None
    if not isinstance(data, Mapping):
        raise ConfigError([Problem("config", data, "must be a mapping")])
    data = {k: v for k, v in data.items() if k != "hydra"}

    typed = _typed_merge(S.SimgpuConfig, data, "", problems)
    n_missing = len(problems)
    _missing(typed, "", problems)
    if len(problems) > n_missing:  # range checks need every required value
        raise ConfigError(problems)

    # range checks run even after type problems: a rejected field keeps its default
    with S.collecting() as found:
        obj: S.SimgpuConfig = OmegaConf.to_object(typed)
    paths = _paths(obj) if found else {}
    for oid, key, value, msg in found:
        base = paths.get(oid, "?")
        problems.append(Problem(f"{base}.{key}" if base else key, value, msg))
    if problems:  # cross-group checks only on a tree whose entries are each sound
        raise ConfigError(problems)

    problems.extend(cross_check(obj))
    if problems:
        raise ConfigError(problems)
    return obj


def _plain(cfg: Any) -> Any:
    if isinstance(cfg, (DictConfig, ListConfig)):
        return OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    if dataclasses.is_dataclass(cfg):
        return OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True, enum_to_str=True)
    return cfg


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _unwrap_optional(tp: Any) -> Any:
    if typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _typed_merge(cls: type, data: Any, path: str, problems: list[Problem]) -> DictConfig:
    """Build a structured node of ``cls`` from ``data``, one field at a time."""
    node = OmegaConf.structured(cls)
    if data is None:
        return node
    if not isinstance(data, Mapping):
        problems.append(Problem(path or "config", data, f"must be a mapping ({cls.__name__})"))
        return node
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    names = list(fields)
    for key, value in data.items():
        kpath = _join(path, str(key))  # a mapping key, even an int one (not a list index)
        if key not in hints:
            near = difflib.get_close_matches(str(key), names, n=1)
            hint = f"; did you mean '{near[0]}'?" if near else f"; known keys: {', '.join(names)}"
            problems.append(Problem(kpath, value, f"unknown key{hint}"))
            continue
        tp = _unwrap_optional(hints[key])
        origin = typing.get_origin(tp)
        if dataclasses.is_dataclass(tp):
            node[key] = _typed_merge(tp, value, kpath, problems)
        elif origin is dict and dataclasses.is_dataclass(typing.get_args(tp)[1]):
            if value is None:
                continue
            if not isinstance(value, Mapping):
                problems.append(Problem(kpath, value, "must be a mapping of name -> entry"))
                continue
            sub = typing.get_args(tp)[1]
            node[key] = {
                str(k): _typed_merge(sub, v, _join(kpath, str(k)), problems)
                for k, v in value.items()
            }
        elif origin is list and dataclasses.is_dataclass(typing.get_args(tp)[0]):
            if value is None:
                continue
            if not isinstance(value, Sequence) or isinstance(value, str):
                problems.append(Problem(kpath, value, "must be a list"))
                continue
            sub = typing.get_args(tp)[0]
            node[key] = [_typed_merge(sub, v, _join(kpath, i), problems) for i, v in
                         enumerate(value)]
        elif "int_or" in fields[key].metadata and not _int_or(value, fields[key]):
            word = fields[key].metadata["int_or"]  # an Any field: an int, or this word
            problems.append(Problem(kpath, value, f"must be a whole number or '{word}'"))
        else:
            try:
                node[key] = value
            except (OmegaConfBaseException, OverflowError) as exc:  # int too large for float
                problems.append(Problem(kpath, value, _type_message(tp, exc)))
    return node


def _int_or(value: Any, f: dataclasses.Field) -> bool:
    """Whether ``value`` has the type of field ``f``, typed ``Any`` with metadata
    ``int_or``: a whole number (not a bool), or the metadata's word."""
    return value == f.metadata["int_or"] or (isinstance(value, int)
                                             and not isinstance(value, bool))


def _type_message(tp: Any, exc: BaseException) -> str:
    if isinstance(tp, type) and issubclass(tp, Enum):
        return "must be one of: " + ", ".join(m.name for m in tp)
    name = getattr(tp, "__name__", None) or str(tp).replace("typing.", "")
    return f"must be of type {name} ({_one_line(exc)})"


def _missing(node: Any, path: str, problems: list[Problem]) -> None:
    if isinstance(node, DictConfig):
        for key in node.keys():
            kpath = _join(path, key)
            if OmegaConf.is_missing(node, key):
                problems.append(Problem(kpath, "???", "is required"))
            else:
                _missing(node[key], kpath, problems)
    elif isinstance(node, ListConfig):
        for i in range(len(node)):
            _missing(node[i], _join(path, i), problems)


def _paths(obj: Any, path: str = "", out: dict[int, str] | None = None) -> dict[int, str]:
    """Map ``id`` of every dataclass instance in the tree to its dotted path."""
    out = {} if out is None else out
    if dataclasses.is_dataclass(obj):
        out[id(obj)] = path
        for f in dataclasses.fields(obj):
            _paths(getattr(obj, f.name), _join(path, f.name), out)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _paths(v, _join(path, k), out)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _paths(v, _join(path, i), out)
    return out
