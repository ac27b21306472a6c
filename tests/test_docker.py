"""docker/: the CPU and GPU images run ``simgpu`` with the output directory as a volume.

The static checks run everywhere. The CPU image is built and run where a Docker daemon
answers; the test is skipped, with the reason, where none does or where the build cannot
reach the network (the base image's registry or PyPI). Any other build failure (a
Dockerfile error, a missing file, a failing install) fails.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
IMAGES = ("cpu", "gpu")
OUTPUTS = "/work/outputs"
TEST_TAG = "simgpu-test:cpu"


def instructions(name: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of ``docker/Dockerfile.<name>``, continuations joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in (DOCKER / f"Dockerfile.{name}").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            keyword, _, args = full.partition(" ")
            out.append((keyword.upper(), args.strip()))
    assert not pending, f"Dockerfile.{name} ends inside a continued line"
    return out


def args_of(name: str, keyword: str) -> list[str]:
    return [a for k, a in instructions(name) if k == keyword]


def base_image(name: str) -> str:
    """The image of the (last) FROM, with ``${ARG}`` replaced by the ARG's default."""
    defaults: dict[str, str] = {}
    for k, a in instructions(name):
        if k == "ARG" and "=" in a:
            key, _, value = a.partition("=")
            defaults[key.strip()] = value.strip().strip('"')
    image = args_of(name, "FROM")[-1].split()[0]
    return re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m.group(1), m.group(0)), image)


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"not the exec (JSON) form: {args}"
    return value


# ------------------------------------------------------------------------------- static


@pytest.mark.parametrize("name", IMAGES)
def test_dockerfile_runs_simgpu_with_outputs_as_a_volume(name):
    assert (DOCKER / f"Dockerfile.{name}").is_file()
    (entrypoint,) = args_of(name, "ENTRYPOINT")
    assert exec_form(entrypoint) == ["simgpu"]
    assert [exec_form(c) for c in args_of(name, "CMD")] == [[]]
    volumes = [v for a in args_of(name, "VOLUME")
               for v in (exec_form(a) if a.startswith("[") else a.split())]
    assert OUTPUTS in volumes
    assert args_of(name, "WORKDIR")[-1] == "/work"  # Hydra's outputs/ is then the volume


@pytest.mark.parametrize("name", IMAGES)
def test_dockerfile_runs_as_an_unprivileged_user_headless(name):
    users = args_of(name, "USER")
    assert users and users[-1].split(":")[0] not in ("root", "0")
    env = " ".join(args_of(name, "ENV"))
    assert "MPLBACKEND=Agg" in env


@pytest.mark.parametrize("name", IMAGES)
def test_dockerfile_copies_what_the_package_is_built_from(name, pyproject):
    copied = {src for a in args_of(name, "COPY") for src in a.split()[:-1]
              if not src.startswith("--")}
    # the readme is package metadata; conf/ is installed as simgpu.conf
    assert {"pyproject.toml", pyproject["project"]["readme"], "simgpu",
            pyproject["tool"]["setuptools"]["package-dir"]["simgpu.conf"]} <= copied
    for src in copied:
        assert (ROOT / src).exists(), f"Dockerfile.{name} copies {src}, which does not exist"
    ignored = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()
               if p.strip() and not p.startswith("#")]
    for src in copied:
        hit = [p for p in ignored if fnmatch.fnmatch(src, p.removeprefix("**/"))]
        assert not hit, f".dockerignore {hit} leaves {src} out of the build context"


def test_dockerignore_leaves_out_the_repository_and_the_outputs():
    ignored = {p.strip().rstrip("/") for p in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".git", "outputs", "multirun", ".venv", "venv"} <= ignored


def test_cpu_image_is_slim_python():
    assert re.fullmatch(r"python:3\.\d+-slim(-\w+)?", base_image("cpu")), base_image("cpu")
    runs = " ".join(args_of("cpu", "RUN"))
    assert "pip install" in runs and "cuda" not in runs


def test_gpu_image_is_a_cuda_runtime_image_with_the_cuda12_extra(pyproject):
    image = base_image("gpu")
    assert re.fullmatch(r"nvidia/cuda:12\.[\d.]+-(cudnn-)?runtime-ubuntu[\d.]+", image), image
    runs = " ".join(args_of("gpu", "RUN"))
    assert re.search(r"""pip install [^&;]*["']?\.\[cuda12\]["']?""", runs), runs
    extras = pyproject["project"]["optional-dependencies"]
    assert any(req.startswith("cupy-cuda12x") for req in extras["cuda12"])


@pytest.fixture(scope="module")
def pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


# -------------------------------------------------------------------------------- build

#: Lines of a failed ``docker build`` that mean the network (a registry, PyPI) was out of
#: reach rather than that the Dockerfile or the package is wrong.
NETWORK_ERRORS = re.compile(
    r"dial tcp|no such host|i/o timeout|TLS handshake timeout|connection refused"
    r"|connection reset|network is unreachable|temporary failure in name resolution"
    r"|name or service not known|failed to resolve source metadata|toomanyrequests"
    r"|NewConnectionError|ConnectTimeoutError|ReadTimeoutError|ProxyError"
    r"|after connection broken by|SSLError|CERTIFICATE_VERIFY_FAILED",
    re.IGNORECASE,
)


def _docker(*args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def docker_unavailable() -> str | None:
    """Why no Docker daemon can be used here, or None when one answers."""
    if shutil.which("docker") is None:
        return "the docker client is not installed"
    try:
        info = _docker("info", "--format", "{{.ServerVersion}}", timeout=30)
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 30 s"
    if info.returncode != 0 or not info.stdout.strip():
        err = (info.stderr or info.stdout).strip().splitlines()
        return f"no Docker daemon answers: {err[-1] if err else info.returncode}"
    return None


def build_cpu_image() -> None:
    """Build ``docker/Dockerfile.cpu`` as TEST_TAG; skip for lack of network, else fail."""
    cmd = ["build", "-f", "docker/Dockerfile.cpu", "-t", TEST_TAG, "."]
    try:
        res = _docker(*cmd, timeout=1800)
    except subprocess.TimeoutExpired:
        pytest.skip("`docker build` of the CPU image took over 30 min (slow network?)")
    if res.returncode == 0:
        return
    log = f"{res.stdout}\n{res.stderr}"
    net = [ln.strip() for ln in log.splitlines() if NETWORK_ERRORS.search(ln)]
    if net:
        pytest.skip(f"`docker build` could not reach the network: {net[-1][:300]}")
    tail = "\n".join(log.strip().splitlines()[-40:])
    pytest.fail(f"docker {' '.join(cmd)} failed ({res.returncode}):\n{tail}")


def test_cpu_image_builds_and_writes_the_summary_to_the_volume(tmp_path, tiny_overrides):
    reason = docker_unavailable()
    if reason:
        pytest.skip(reason)
    build_cpu_image()

    config = json.loads(_docker("image", "inspect", "--format", "{{json .Config}}", TEST_TAG,
                                timeout=60).stdout)
    assert config["Entrypoint"] == ["simgpu"]
    assert OUTPUTS in (config.get("Volumes") or {})
    assert config["WorkingDir"] == "/work"
    assert config["User"] and config["User"].split(":")[0] not in ("root", "0")

    # as the invoking user, so that the bind mount is writable and the files are ours
    user = [f"--user={os.getuid()}:{os.getgid()}"] if hasattr(os, "getuid") else []
    run = _docker("run", "--rm", *user, "-v", f"{tmp_path}:{OUTPUTS}", TEST_TAG,
                  *tiny_overrides, "report.formats=[]", f"hydra.run.dir={OUTPUTS}/run",
                  timeout=300)
    assert run.returncode == 0, f"docker run failed:\n{run.stdout}\n{run.stderr}"
    summary = tmp_path / "run" / "summary.json"
    assert summary.is_file(), sorted(p.name for p in tmp_path.rglob("*"))
    assert json.loads(summary.read_text())
    assert (tmp_path / "run" / ".hydra" / "config.yaml").is_file()
