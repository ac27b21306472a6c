"""pyproject.toml ships every package and every YAML config."""

from __future__ import annotations

from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def setuptools_cfg() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["setuptools"]


def _package_dirs(root: Path, prefix: str) -> set[str]:
    out = set()
    for init in root.rglob("__init__.py"):
        if "__pycache__" in init.parts:
            continue
        rel = init.parent.relative_to(root)
        out.add(".".join([prefix, *rel.parts]))
    return out


def test_every_package_is_listed(setuptools_cfg):
    listed = set(setuptools_cfg["packages"])
    found = _package_dirs(ROOT / "simgpu", "simgpu")
    assert "simgpu" in found and "simgpu.config" in found
    assert found - listed == set(), "packages missing from [tool.setuptools] packages"


def test_conf_is_installed_as_simgpu_conf(setuptools_cfg):
    package_dir = setuptools_cfg["package-dir"]
    assert package_dir["simgpu.conf"] == "conf"
    assert "simgpu.conf" in setuptools_cfg["packages"]
    assert (ROOT / "conf" / "__init__.py").is_file()
    # conf/ holds no Python sub-packages; its config-group folders are data-only
    # packages, each listed (setuptools warns about, and may one day drop, files in
    # folders it was not told about)
    assert _package_dirs(ROOT / "conf", "simgpu.conf") == {"simgpu.conf"}
    folders = {".".join(["simgpu.conf", *d.relative_to(ROOT / "conf").parts])
               for d in (ROOT / "conf").rglob("*")
               if d.is_dir() and d.name != "__pycache__"}
    assert folders - set(setuptools_cfg["packages"]) == set(), "conf folders not listed"


def test_every_listed_package_exists(setuptools_cfg):
    package_dir = setuptools_cfg.get("package-dir", {})
    for pkg in setuptools_cfg["packages"]:
        # longest package-dir prefix wins, as in setuptools
        base = max((k for k in package_dir if pkg == k or pkg.startswith(k + ".")),
                   key=len, default=None)
        if base is None:
            path = ROOT.joinpath(*pkg.split("."))
        else:
            rest = pkg[len(base):].lstrip(".")
            path = ROOT / package_dir[base]
            if rest:
                path = path.joinpath(*rest.split("."))
        if pkg.startswith("simgpu.conf."):  # a config-group folder: data only
            assert path.is_dir() and any(path.rglob("*.yaml")), f"{pkg} -> {path}"
        else:
            assert (path / "__init__.py").is_file(), f"{pkg} -> {path}"


def test_every_yaml_is_package_data(setuptools_cfg):
    conf = ROOT / setuptools_cfg["package-dir"]["simgpu.conf"]
    matched = set()
    for pkg, globs in setuptools_cfg["package-data"].items():
        if pkg == "simgpu.conf" or pkg.startswith("simgpu.conf."):
            folder = conf.joinpath(*pkg.split(".")[2:])
            matched |= {p for g in globs for p in folder.glob(g)}
    yamls = {p for p in conf.rglob("*") if p.suffix in (".yaml", ".yml")}
    assert yamls, "no YAML under conf/"
    assert yamls - matched == set(), "YAML files not matched by package-data globs"


def test_installed_package_sees_the_configs():
    from importlib.resources import files

    conf = files("simgpu.conf")
    assert conf.joinpath("config.yaml").is_file()
    assert conf.joinpath("experiment", "colossus_lease.yaml").is_file()


def test_every_kernel_source_is_package_data(setuptools_cfg):
    data = setuptools_cfg["package-data"]
    srcs = {p for p in (ROOT / "simgpu").rglob("*") if p.suffix in (".cu", ".cuh")}
    assert srcs, "no CUDA sources under simgpu/"
    for p in srcs:
        pkg = ".".join(p.parent.relative_to(ROOT).parts)
        assert any(p.match(g) for g in data.get(pkg, [])), f"{p} is not package data"
