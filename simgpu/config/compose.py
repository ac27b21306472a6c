"""Compose a configuration with Hydra: the shipped configs, a user's own config directory
and the command line's overrides, every mistake reported as one :class:`ConfigError`.

Hydra's own messages for a mistake are often about Hydra (a traceback for a YAML syntax
error, "use +key" for a misspelled entry name, a complaint about another file when an
experiment lacks its package header). :class:`Composer` finds the real problem and says
it in one line naming the key (or file) and the value, and it normalises the few override
forms whose meaning Hydra makes depend on the experiment, so that one documented form
works everywhere:

* ``reliability@pools.X.reliability=ampere`` selects a preset for pool X whether or not the
  experiment's defaults list already picks one for it (Hydra wants a ``+`` when it does
  not, and refuses one when it does);
* ``+jobs.NAME={...}`` (and ``+pools``, ``+parties``, ``+leases``, ``+gpus``; or a new
  entry's single field, ``+jobs.NAME.flops=1e25``) adds an entry, which Hydra's ``+``
  cannot do for a typed mapping;
* ``KEY={}`` on a mapping of named entries (outage domains, failure causes, sweeps, ...)
  empties it; merging an empty mapping would silently change nothing.

The overrides Hydra is finally given are :meth:`Composer.resolve`'s result: the CLI hands
the same list to ``@hydra.main``, so the run and its ``.hydra/overrides.yaml`` see exactly
what the pre-flight checked.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, OmegaConfBaseException

from simgpu.errors import NO_VALUE, ConfigError, Problem

#: Python package that holds the shipped YAML configs (source of truth: ``conf/`` at the
#: repository root, installed as ``simgpu.conf`` by ``[tool.setuptools.package-dir]``).
CONFIG_MODULE = "simgpu.conf"
CONFIG_PATH = "pkg://" + CONFIG_MODULE
CONFIG_NAME = "config"
#: The package header every experiment file needs (its keys are global, not under
#: ``experiment``).
GLOBAL_HEADER = "# @package _global_"
#: Mappings of named entries at the top of the tree: key -> what one entry is called.
ENTRY_TABLES = {"gpus": "gpu type", "parties": "party", "pools": "pool", "leases": "lease",
                "jobs": "job"}
_HEADER_RE = re.compile(r"#\s*@package\s+(\S+)")


def compose(overrides: Sequence[str] = (), config_name: str = CONFIG_NAME,
            config_dir: str | Path | None = None) -> DictConfig:
    """Compose the shipped configuration, for notebooks, scripts and tests.

    Parameters
    ----------
    overrides : sequence of str
        Hydra overrides, e.g. ``["experiment=grok_priority", "sim.replicas=16"]``.
    config_name : str
        Primary config to compose.
    config_dir : str or Path, optional
        A directory of the user's own configs, searched beside the shipped ones (the
        ``--config-dir`` of the command line): ``DIR/experiment/NAME.yaml`` is then
        ``experiment=NAME``.

    Returns
    -------
    omegaconf.DictConfig
        The composed tree (without the ``hydra`` node).

    Raises
    ------
    ConfigError
        Every override, option or file that cannot be used, each with its key and value.
    """
    c = Composer(config_name, config_dir)
    return c.compose(c.resolve(overrides))


def _hydra():
    """Hydra's compose API and the exceptions it raises for a user's mistake."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from yaml import YAMLError

    from simgpu.config.store import register

    register()
    return hydra_compose, initialize_config_module, GlobalHydra, (
        HydraException, OmegaConfBaseException, ValueError, YAMLError)


@dataclass
class _Override:
    text: str  # as given
    key: str  # dotted key or group (without + ~ and package)
    group: str | None  # the config group it selects an option of, or None for a value
    package: str | None  # the package of a group override (after '@')
    op: str  # "", "+", "++" or "~"
    value: str  # the text after '='


class Composer:
    """Composition against the shipped configs and an optional user config directory.

    Parameters
    ----------
    config_name : str
        Primary config.
    config_dir : str or Path, optional
        The user's config directory (see :func:`compose`).
    """

    def __init__(self, config_name: str = CONFIG_NAME, config_dir: str | Path | None = None):
        self.config_name = config_name
        self.config_dir = None if config_dir is None else Path(config_dir).expanduser()
        if self.config_dir is not None and not self.config_dir.is_dir():
            raise ConfigError([Problem("--config-dir", str(config_dir),
                                       "no such directory")])
        self._groups: dict[str, dict[str, list[Any]]] | None = None
        self._cache: tuple[list[str], DictConfig] | None = None

    # ------------------------------------------------------------------ Hydra calls

    def _search(self) -> list[str]:
        if self.config_dir is None:
            return []
        return [f"hydra.searchpath=[file://{self.config_dir.resolve()}]"]

    def compose(self, overrides: Sequence[str], return_hydra_config: bool = False
                ) -> DictConfig:
        """Compose with Hydra as is (no diagnosis): ``overrides`` should come from
        :meth:`resolve`."""
        if not return_hydra_config and self._cache is not None and \
                self._cache[0] == list(overrides):
            return copy.deepcopy(self._cache[1])
        hydra_compose, init, GlobalHydra, _ = _hydra()
        ovr = self._search() + list(overrides)
        kw = {"config_name": self.config_name, "overrides": ovr,
              "return_hydra_config": return_hydra_config}
        if GlobalHydra.instance().is_initialized():  # inside a Hydra app
            return hydra_compose(**kw)
        with init(config_module=CONFIG_MODULE, version_base="1.3"):
            return hydra_compose(**kw)

    def _compose_cached(self, overrides: list[str]) -> DictConfig | None:
        """Compose and keep the result for :meth:`compose` of the same overrides; None
        when it does not compose."""
        try:
            cfg = self.compose(overrides)
        except _hydra()[3]:
            return None
        self._cache = (list(overrides), cfg)
        return cfg

    def _try(self, overrides: Sequence[str]) -> BaseException | None:
        try:
            self.compose(overrides)
        except _hydra()[3] as exc:
            return exc
        return None

    # ------------------------------------------------------------- groups and files

    def groups(self) -> dict[str, dict[str, list[Any]]]:
        """Config groups -> option -> its files, in Hydra's search order (the shipped
        configs first, then the user's directory)."""
        if self._groups is None:
            out: dict[str, dict[str, list[Any]]] = {}
            roots = [files(CONFIG_MODULE)] + ([self.config_dir] if self.config_dir else [])
            for root in roots:
                for d in root.iterdir():
                    if not d.is_dir() or d.name.startswith(("_", ".")):
                        continue
                    opts = out.setdefault(d.name, {})
                    for f in sorted(d.iterdir(), key=lambda f: f.name):
                        if f.name.endswith(".yaml"):
                            opts.setdefault(f.name[:-5], []).append(f)
            self._groups = out
        return self._groups

    def _file_problems(self, group: str, option: str, text_key: str) -> list[Problem]:
        """Problems of the file behind ``group=option``: YAML syntax, missing header."""
        found = self.groups().get(group, {}).get(option, [])
        if not found:
            return []
        f = found[0]  # the one Hydra takes
        if len(found) > 1:  # reported by _selections
            return []
        text = f.read_text()
        bad = _yaml_problem(text, str(f))
        if bad is not None:
            return [bad]
        if group == "experiment" and _package_header(text) != "_global_":
                return [Problem(text_key, option, f"{f}: an experiment file must start with "
                                f"the line '{GLOBAL_HEADER}' (its keys belong to the whole "
                                "tree, not under 'experiment')")]
        return []

    # ---------------------------------------------------------------- overrides

    def _parse(self, text: str) -> _Override:
        from hydra.core.override_parser.overrides_parser import OverridesParser
        from hydra.errors import HydraException

        try:
            (ov,) = OverridesParser.create().parse_overrides([text])
        except (HydraException, ValueError) as exc:
            key, _, value = text.partition("=")
            raise ConfigError([Problem(key.lstrip("+~"), value,
                                       f"cannot be parsed as an override: {_one_line(exc)}")]
                              ) from None
        op = "~" if ov.is_delete() else "++" if ov.is_force_add() else "+" if ov.is_add() \
            else ""
        key = ov.key_or_group
        group = key if key in self.groups() else None
        value = text.partition("=")[2] if "=" in text else ""
        return _Override(text, key, group, ov.package, op, value)

    def resolve(self, overrides: Sequence[str]) -> list[str]:
        """The overrides to give Hydra for ``overrides``, normalised (module docstring).

        Raises
        ------
        ConfigError
            Every override, option or file that cannot be used, each with key and value,
            in the order of the overrides.
        """
        found: list[tuple[int, Problem]] = []  # (index of the override, problem)
        parsed: list[tuple[int, _Override]] = []
        for i, text in enumerate(overrides):
            try:
                parsed.append((i, self._parse(text)))
            except ConfigError as exc:
                found += [(i, q) for q in exc.problems]
        shadowed = any(len(self.groups()[o.group].get(o.value, [])) > 1
                       for _, o in parsed if o.group is not None)
        if not found and not shadowed:  # the common case: it composes as given, as given
            texts = [o.text for _, o in parsed]
            cfg = self._compose_cached(texts)
            if cfg is not None and all(self._value(o, cfg) == [o.text]
                                       for _, o in parsed if o.group is None):
                return texts
        selections = self._selections([(i, o) for i, o in parsed if o.group is not None],
                                      found)
        try:
            base = self.compose(selections)
        except _hydra()[3] as exc:  # the primary config or a default it pulls in is broken
            raise ConfigError([_yaml_in_chain(exc) or Problem(
                "config", self.config_name, _override_message(exc))]) from None
        values: list[tuple[int, str]] = []
        for i, o in parsed:
            if o.group is None:
                try:
                    values += [(i, v) for v in self._value(o, base)]
                except ConfigError as exc:
                    found += [(i, q) for q in exc.problems]
        final = selections + [v for _, v in values]
        first = self._try(final)
        if first is None and not found:
            return final
        if first is not None:
            n = len(found)
            rest, exc = list(values), first
            while exc is not None:  # Hydra names the override it could not merge: take it
                named = [(i, v) for i, v in rest if f"override {v}" in str(exc)]
                if not named:
                    break
                i, v = named[0]
                key, _, value = v.partition("=")
                found.append((i, Problem(key.lstrip("+~"), value, _override_message(exc))))
                rest.remove((i, v))
                exc = self._try(selections + [w for _, w in rest])
            for i, v in rest if exc is not None else []:  # else each value alone
                exc1 = self._try(selections + [v])
                if exc1 is not None:
                    key, _, value = v.partition("=")
                    found.append((i, Problem(key.lstrip("+~"), value,
                                             _override_message(exc1))))
            if len(found) == n and not found:  # only the combination fails
                found.append((len(overrides), Problem("overrides", list(overrides),
                                                      _one_line(first))))
        raise ConfigError([q for _, q in sorted(found, key=lambda x: x[0])])

    def _selections(self, sel: list[tuple[int, _Override]],
                    found: list[tuple[int, Problem]]) -> list[str]:
        """Group selections (``experiment=...``, ``reliability@pools.X.reliability=...``),
        normalised; those that cannot be used are left out, their problems added to
        ``found``."""
        texts = [o.text for _, o in sel]
        for i, o in sel:  # a user's file that a shipped one hides
            files_ = self.groups()[o.group].get(o.value, [])
            if len(files_) > 1:
                found.append((i, Problem(o.group, o.value, f"{files_[1]} has the name of a "
                                         f"shipped {o.group} ({files_[0]}), which Hydra "
                                         "uses instead: rename yours")))
        if not found and self._try(texts) is None:
            return texts
        ok: list[_Override] = []
        for i, o in sel:  # options that exist, in files that parse
            if o.op == "~":
                ok.append(o)
                continue
            name = f"{o.group}@{o.package}" if o.package else o.group
            options = list(self.groups()[o.group])
            bad = ([Problem(name, o.value, _unknown_option(o.group, o.value, options))]
                   if o.value not in options else self._file_problems(o.group, o.value, name))
            found += [(i, q) for q in bad]
            if not bad:
                ok.append(o)
        forms = [o.text for o in ok]
        index = {id(o): i for i, o in sel}
        for k, o in enumerate(ok):
            if o.op == "~" or not o.package:
                continue
            # Hydra wants '+' for a package that the defaults list does not have, and
            # refuses it for one that it has: take the form that composes, against the
            # plain selections and the packaged ones already settled
            name = f"{o.group}@{o.package}"
            plain = f"{name}={o.value}"
            other = [f for j, (f, q) in enumerate(zip(forms, ok, strict=True))
                     if j != k and (not q.package or j < k)]
            for t in ([plain, "+" + plain] if o.op == "" else ["+" + plain, plain]):
                if self._try(other + [t]) is None:
                    forms[k] = t
                    break
            else:
                exc = self._try(other + [o.text])
                found.append((index[id(o)], Problem(
                    name, o.value, _override_message(exc) if exc else
                    "cannot be combined with the other selections")))
                forms[k] = ""
        forms = [f for f in forms if f]
        exc = self._try(forms)
        if exc is not None:  # a file that the selections pull in is broken
            found.append((len(sel) and sel[0][0], _yaml_in_chain(exc) or Problem(
                "overrides", texts, _override_message(exc))))
            return []
        return forms

    def _value(self, o: _Override, base: DictConfig) -> list[str]:
        """A value override, normalised against the composed ``base``; ConfigError when
        it names an entry or key that does not exist."""
        parts = o.key.split(".")
        if o.op == "~" or o.key.startswith(("hydra.", "hydra/")):
            return [o.text]
        node: Any = base
        for depth, part in enumerate(parts):
            if not isinstance(node, DictConfig):
                break
            here = ".".join(parts[:depth])
            if part in node:
                node = node[part]
                continue
            obj = OmegaConf.get_type(node)
            if dataclasses.is_dataclass(obj):
                names = [f.name for f in dataclasses.fields(obj)]
                near = difflib.get_close_matches(part, names, n=1)
                hint = f"did you mean '{near[0]}'?" if near else f"known keys: {', '.join(names)}"
                raise ConfigError([Problem(o.key, o.value, f"unknown key '{part}'"
                                           f"{' in ' + here if here else ''}; {hint}")])
            # a mapping of named entries: a new entry is added, a misspelled one refused
            if o.op in ("+", "++"):
                inner = o.value
                for p in reversed(parts[depth + 1:]):
                    inner = f"{{{p}:{inner}}}"
                return [f"++{here}={{{part}:{inner}}}"]
            what = ENTRY_TABLES.get(here, f"entry of {here}")
            known = list(node.keys())
            near = difflib.get_close_matches(part, known, n=1)
            hint = f"; did you mean '{near[0]}'?" if near else \
                f" (known: {', '.join(known) or 'none'})"
            raise ConfigError([Problem(o.key, o.value, f"unknown {what} '{part}'{hint} "
                                       f"To add one, write +{here}.{part}={{...}} or put it in "
                                       "an experiment file of your own (docs/scenarios.md)")])
        if o.value.strip() in ("{}", "{ }") and isinstance(node, DictConfig) and len(node):
            obj = OmegaConf.get_type(node)
            if dataclasses.is_dataclass(obj):
                raise ConfigError([Problem(o.key, o.value, "a section keeps its fields: an "
                                           "empty mapping would change nothing; set its "
                                           "fields one by one")])
            return [f"~{o.key}.{k}" for k in node.keys()]
        return [o.text]


def _package_header(text: str) -> str | None:
    """The ``# @package`` of a config file's leading comment block (as Hydra reads it)."""
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return None
        m = _HEADER_RE.match(line.strip())
        if m:
            return m.group(1)
    return None


def _unknown_option(group: str, value: str, options: list[str]) -> str:
    near = difflib.get_close_matches(value, options, n=1)
    hint = f"did you mean '{near[0]}'? " if near else ""
    text = f"no such {group} option; {hint}(available: {', '.join(options)})"
    if group == "experiment":
        text += ("; for an experiment of your own, put it in DIR/experiment/NAME.yaml "
                 "(starting with '# @package _global_') and run simgpu --config-dir DIR "
                 "experiment=NAME")
    return text


def _yaml_problem(text: str, where: str) -> Problem | None:
    import yaml

    try:
        yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        return _yaml_error_problem(exc, where)
    return None


def _yaml_error_problem(exc: Any, where: str | None = None) -> Problem:
    """``FILE:LINE:COLUMN: YAML syntax error: ...``, one line, where the parser stopped."""
    mark = exc.problem_mark or exc.context_mark
    name = where or (mark.name if mark is not None else "?")
    what = exc.problem or ""
    if exc.context:
        ctx = exc.context_mark
        what = f"{exc.context}" + (f" (from line {ctx.line + 1}, column {ctx.column + 1})"
                                   if ctx is not None and ctx is not mark else "") + \
            (f": {what}" if what else "")
    where_at = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else name
    return Problem(where_at, NO_VALUE, f"YAML syntax error: {what}")


def _yaml_in_chain(exc: BaseException | None) -> Problem | None:
    import yaml

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, yaml.MarkedYAMLError):
            return _yaml_error_problem(exc)
        exc = exc.__cause__ or exc.__context__
    return None


def _override_message(exc: BaseException) -> str:
    """Hydra's message for a rejected override, with the schema's reason when it has one.

    Hydra says only "Error merging override ..." for a bad type or enum, and advises
    ``+key=...`` for a misspelled field, which a structured node rejects as well; the
    OmegaConf cause says what is wrong, and a misspelled field gets a suggestion.
    """
    bad_yaml = _yaml_in_chain(exc)
    if bad_yaml is not None:
        return f"{bad_yaml.key}: {bad_yaml.message}"
    cause = exc.__cause__
    if not isinstance(cause, OmegaConfBaseException):
        return _one_line(exc)
    obj_type = getattr(cause, "object_type", None)
    if isinstance(cause, ConfigAttributeError) and dataclasses.is_dataclass(obj_type):
        names = [f.name for f in dataclasses.fields(obj_type)]
        near = difflib.get_close_matches(str(cause.key), names, n=1)
        hint = f"did you mean '{near[0]}'?" if near else f"known keys: {', '.join(names)}"
        return f"unknown key; {hint}"
    return f"{_one_line(exc)}: {_one_line(cause)}"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    cut = next((i for i, ln in enumerate(lines) if ln.startswith("Config search path")),
               len(lines))
    keep = [ln for ln in lines[:cut]
            if not ln.startswith(("full_key", "object_type", "reference_type"))]
    return " ".join(keep) or type(exc).__name__
