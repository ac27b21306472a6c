"""The kernel engine (engine.cu) against the NumPy engine, the specification.

On every machine the kernels run through the host C++ build (the same source with CUDA's
qualifiers defined away); where a GPU is usable the ``gpu`` tests run them through CuPy.
"""

from __future__ import annotations

import importlib
import re
from importlib.resources import files

import numpy as np
import pytest

from simgpu.cases import kernel_mix, random_config, reliability_mix
from simgpu.config import compose, load
from simgpu.engine import cuda_engine, kernel_parity, kernels
from simgpu.engine.plan import compile_plan
from simgpu.rng import kernel_parity as rng_parity

needs_cxx = pytest.mark.skipif(kernels.find_host_compiler() is None,
                               reason="no C++ compiler for the host build of the kernels")
#: Every shipped preset (conf/experiment/*.yaml, installed as simgpu.conf).
EXPERIMENTS = sorted(f.name[:-5] for f in files("simgpu.conf").joinpath("experiment").iterdir()
                     if f.name.endswith(".yaml"))
#: Daily steps over the whole horizon (many hits per step, PTRS counts) and hourly steps
#: over two weeks (the shipped step).
GRIDS = {"daily-full": ["sim.step_hours=24"], "hourly-15d": ["sim.horizon_days=15"]}
ALL_CASES = {**rng_parity.CASES, **kernel_parity.CASES}


@pytest.fixture(scope="module")
def host():
    from simgpu.engine.launch import HostLauncher

    return HostLauncher()


def _preset_plan(experiment: str, grid: str):
    return compile_plan(load(compose([f"experiment={experiment}", "sim.replicas=2",
                                      "sim.progress=false", *GRIDS[grid]])))


# ------------------------------------------------------------------ registry and sources


def test_the_argument_structure_matches_the_kernel_source():
    assert cuda_engine.source_args() == cuda_engine.ARGS_DTYPE.names


@needs_cxx
def test_the_argument_structure_and_workspace_layouts_match_the_host_build(host):
    fn = host.lib.sg_engine_layout
    assert fn(0, 0, 0, 0, 0, 0) == cuda_engine.ARGS_DTYPE.itemsize
    assert fn(1, 0, 0, 0, 0, 0) == cuda_engine.EVENT_BYTES
    for P, A, L, D, J in ((1, 1, 0, 0, 1), (3, 2, 1, 3, 5), (16, 8, 32, 32, 64)):
        assert fn(2, P, A, L, D, J) == cuda_engine._ph_ints(P, D)
        assert fn(3, P, A, L, D, J) == cuda_engine._lane_ints(P, A, L, J)


def test_every_registered_kernel_exists_and_has_a_parity_case():
    for k in kernels.KERNELS:
        src = k.path.read_text()
        assert re.search(rf"SG_KERNEL void (SG_LAUNCH_BOUNDS\([^)]*\)\s+)?{k.name}\(", src), \
            f"{k.name} not in {k.source}"
        assert k.name in ALL_CASES, f"kernel {k.name} has no parity case"
    assert set(ALL_CASES) == {k.name for k in kernels.KERNELS}


def test_every_cu_source_opens_with_its_thread_mapping_and_determinism_guarantee():
    for src in kernels.SOURCES:
        head = kernels.source_text(src)[:2500].lower()
        assert "thread" in head and "determinism" in head, src


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
@pytest.mark.parametrize("source", kernels.SOURCES)
def test_every_source_compiles_to_ptx(source, arch):
    if kernels.shutil.which("nvcc") is None:
        pytest.skip("nvcc is not on the PATH")
    ptx = kernels.compile_ptx(source, arch)
    for k in kernels.KERNELS:
        if k.source == source:
            assert f".entry {k.name}(" in ptx, f"{k.name} missing from the {arch} PTX"


def test_the_engine_compiles_to_ptx_with_a_plans_exact_sizes():
    if kernels.shutil.which("nvcc") is None:
        pytest.skip("nvcc is not on the PATH")
    plan = compile_plan(load(kernel_mix()))
    ptx = kernels.compile_ptx("engine/engine.cu", "sm_90", cuda_engine.gpu_defines(plan))
    assert ".entry sg_engine_run(" in ptx


#: The GPU build's budget (docs/gpu.md): registers per thread (168 lets three blocks of 128
#: threads share an SM's 64K registers), and no spills or stack (no local memory).
REGISTER_BUDGET = 168


def _default_plan():
    return compile_plan(load(compose(["sim.progress=false"])))


def test_the_default_plan_builds_for_sm90_within_the_register_budget():
    """ptxas -v on nvcc's PTX of the engine for the default scenario (sm_90)."""
    if kernels.shutil.which("nvcc") is None or kernels.shutil.which("ptxas") is None:
        pytest.skip("the CUDA toolkit (nvcc, ptxas) is not on the PATH")
    plan = _default_plan()
    ptx = kernels.compile_ptx("engine/engine.cu", "sm_90", cuda_engine.gpu_defines(plan))
    use = kernels.ptxas_usage(ptx, "sm_90")
    print(use["sg_engine_run"].text)
    for name, u in use.items():
        assert u.registers <= REGISTER_BUDGET, (name, u.text)
        assert (u.spill_stores, u.spill_loads, u.stack) == (0, 0, 0), (name, u.text)


@pytest.mark.parametrize("source", kernels.SOURCES)
def test_every_source_compiles_with_nvrtc_and_the_options_cupy_passes(source):
    """NVRTC itself (e.g. the nvidia-cuda-nvrtc wheel of the test extra), with our options
    and CuPy's, for sm_90 as a cubin; its ptxas reports the same budget."""
    lib = kernels.find_nvrtc()
    if lib is None:
        pytest.skip("no NVRTC library (pip install nvidia-cuda-nvrtc)")
    res = kernels.nvrtc_compile(source, "sm_90", cuda_engine.gpu_defines(_default_plan()),
                                extra=("--ptxas-options=-v",), library=lib)
    assert "-ftz=true" in res.options and "-fmad=false" in res.options
    assert res.code[:4] == b"\x7fELF"  # a cubin
    use = kernels.parse_ptxas(res.log)
    assert {k.name for k in kernels.KERNELS if k.source == source} <= set(use), res.log
    for name, u in use.items():
        assert u.registers <= REGISTER_BUDGET, (name, u.text)
        assert (u.spill_stores, u.spill_loads, u.stack) == (0, 0, 0), (name, u.text)


def test_the_source_cupy_compiles_carries_its_headers_and_their_digest(tmp_path, monkeypatch):
    text = kernels.render_source("engine/engine.cu")
    assert '#include "' not in text  # every header inlined: CuPy's cache key sees them
    for header in ("compat.cuh", "philox.cuh", "detmath.cuh", "distributions.cuh",
                   "progress.cuh"):
        assert f"// ---- {header}" in text
    digest = re.search(r"#define SIMGPU_SOURCE_DIGEST 0x([0-9a-f]{16})ull", text).group(1)
    # editing a header changes the text (and so CuPy's key), through the digest too
    rng = tmp_path / "rng"
    eng = tmp_path / "engine"
    kernels.shutil.copytree(kernels.PACKAGE / "rng", rng)
    kernels.shutil.copytree(kernels.PACKAGE / "engine", eng)
    with open(rng / "detmath.cuh", "a") as f:
        f.write("\n// an edit\n")
    monkeypatch.setattr(kernels, "PACKAGE", tmp_path)
    monkeypatch.setattr(kernels, "INCLUDE_DIRS", (rng, eng))
    edited = kernels.render_source("engine/engine.cu")
    assert "// an edit" in edited
    assert re.search(r"SIMGPU_SOURCE_DIGEST 0x([0-9a-f]{16})", edited).group(1) != digest


def test_a_source_that_does_not_compile_is_a_build_error_with_the_compiler_output(tmp_path,
                                                                                 monkeypatch):
    if kernels.shutil.which("nvcc") is None:
        pytest.skip("nvcc is not on the PATH")
    with pytest.raises(kernels.BuildError, match="nvcc failed"):
        kernels.compile_ptx("engine/engine.cu", "sm_90", ("sg_u32=(",))


# ------------------------------------------------------------------ parity on the host


@needs_cxx
@pytest.mark.parametrize("name", sorted(ALL_CASES))
def test_kernel_parity_on_the_host_build(host, name):
    ALL_CASES[name](host)


@needs_cxx
@pytest.mark.parametrize("grid", [pytest.param(g, marks=[pytest.mark.slow] if "full" in g
                                               else []) for g in sorted(GRIDS)])
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_shipped_preset_matches_numpy_on_the_host_build(host, experiment, grid):
    kernel_parity.run_parity(_preset_plan(experiment, grid), host, n_replicas=2)


@needs_cxx
@pytest.mark.parametrize("seed", range(12))
def test_random_configs_match_numpy_on_the_host_build(host, seed):
    plan = compile_plan(load(random_config(seed)))
    kernel_parity.run_parity(plan, host, n_replicas=2, replica_offset=seed)


@needs_cxx
@pytest.mark.parametrize("step_hours", [1.0, 6.0])
def test_the_reliability_features_match_numpy_on_the_host_build(host, step_hours):
    """Restarts growing with the GPUs, detection per cause (reliability_mix)."""
    plan = compile_plan(load(reliability_mix(horizon_days=20, step_hours=step_hours)))
    kernel_parity.run_parity(plan, host, n_replicas=3, replica_offset=4)


@needs_cxx
def test_the_kernel_engine_is_bit_identical_not_just_close(host):
    from dataclasses import fields

    from simgpu.engine import numpy_engine

    plan = compile_plan(load(kernel_mix(horizon_days=10)))
    want = numpy_engine.simulate(plan, 0, 2)
    got = cuda_engine.simulate(plan, 0, 2, launcher=host)
    for f in fields(want):
        assert np.array_equal(getattr(want, f.name), getattr(got, f.name), equal_nan=True), f.name


@needs_cxx
@pytest.mark.parametrize(("defines", "stage", "threads", "cap"), [
    ((), True, 1, None),  # records staged in the workspace for a launch, as on the GPU
    (("SG_RANK_SORT",), False, 1, None),  # the GPU's sort of the events (lanes' ranks)
    ((), False, 3, None),  # replicas over threads
    ((), False, 2, 1),  # an event workspace of 1: every batch overflows and runs again
    (("SG_RANK_SORT",), True, 3, 7),
], ids=["staged", "rank-sort", "threads", "overflow", "all"])
def test_the_gpu_paths_of_the_kernel_give_the_same_bits_on_the_host(defines, stage, threads,
                                                                    cap, caplog):
    from dataclasses import fields

    from simgpu.engine import numpy_engine
    from simgpu.engine.launch import HostLauncher

    plan = compile_plan(load(compose(["sim.step_hours=24", "sim.horizon_days=120",
                                      "sim.progress=false"])))
    want = numpy_engine.simulate(plan, 3, 4)
    launcher = HostLauncher(defines, threads=threads, stage=stage)
    with caplog.at_level("INFO", logger="simgpu.engine.cuda_engine"):
        got = cuda_engine.simulate(plan, 3, 4, launcher=launcher, event_capacity_=cap)
    for f in fields(want):
        assert np.array_equal(getattr(want, f.name), getattr(got, f.name), equal_nan=True), f.name
    assert ("running the batch again" in caplog.text) == (cap is not None)


@needs_cxx
def test_a_batch_can_be_reset_and_run_again(host):
    plan = compile_plan(load(kernel_mix(horizon_days=6)))
    batch = cuda_engine.Batch(plan, 0, 2, True, host)
    assert batch.run() == 0
    first = batch.results()
    batch.reset()
    assert batch.run() == 0
    assert kernel_parity.compare_raw(first, batch.results()) == []
    assert batch.device_bytes() > 0


def test_parity_check_catches_a_difference():
    from simgpu.engine import numpy_engine

    plan = compile_plan(load(kernel_mix(horizon_days=3)))
    want = numpy_engine.simulate(plan, 0, 1)
    got = numpy_engine.simulate(plan, 0, 1)
    got.job_lost_flops[0, 0, 0] = got.job_lost_flops[0, 0, 0] * (1 + 1e-8) + 1.0
    got.pool_outages[0, 0] += 1
    bad = kernel_parity.compare_raw(want, got)
    assert len(bad) == 2 and "job_lost_flops" in bad[0] and "pool_outages" in bad[1]


def test_the_kernel_engine_refuses_pools_beyond_its_32_bit_counts():
    cfg = kernel_mix(horizon_days=2)
    plan = compile_plan(load(cfg))
    assert cuda_engine.unsupported(plan) is None
    plan.online_normal = plan.online_normal + cuda_engine.MAX_NODES
    assert "nodes online" in cuda_engine.unsupported(plan)
    with pytest.raises(ValueError, match="sim.backend=numpy"):
        cuda_engine.simulate(plan, 0, 1)


# ------------------------------------------------------------------ the GPU


@pytest.fixture(scope="module")
def gpu():
    from simgpu.backend import cupy_on, probe_cuda
    from simgpu.engine.launch import CupyLauncher

    p = probe_cuda(0)
    assert p.ok, p.reason
    return CupyLauncher(cupy_on(0))


@pytest.mark.gpu
@pytest.mark.parametrize("name", sorted(ALL_CASES))
def test_kernel_parity_on_the_gpu(gpu, name):
    ALL_CASES[name](gpu)


@pytest.mark.gpu
@pytest.mark.parametrize("grid", sorted(GRIDS))
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_shipped_preset_matches_numpy_on_the_gpu(experiment, grid):
    from simgpu.backend import cupy_on
    from simgpu.engine.launch import CupyLauncher

    plan = _preset_plan(experiment, grid)
    launcher = CupyLauncher(cupy_on(0), cuda_engine.gpu_defines(plan))
    kernel_parity.run_parity(plan, launcher, n_replicas=2)


@pytest.mark.gpu
@pytest.mark.parametrize("seed", range(12))
def test_random_configs_match_numpy_on_the_gpu(gpu, seed):
    plan = compile_plan(load(random_config(seed)))
    kernel_parity.run_parity(plan, gpu, n_replicas=2, replica_offset=seed)


@pytest.mark.gpu
def test_default_run_on_the_gpu_summarises_like_numpy(tiny_overrides):
    import simgpu

    a = simgpu.run(simgpu.compose([*tiny_overrides, "sim.backend=numpy"]))
    b = simgpu.run(simgpu.compose([*tiny_overrides, "sim.backend=cupy"]))
    assert (a.facts["backend"], b.facts["backend"]) == ("numpy", "cupy")
    assert kernel_parity.compare_raw(a.raw, b.raw) == []
    assert a.summary == b.summary


# ------------------------------------------------------------------ simgpu.run's GPU path


@pytest.fixture
def fake_gpu(monkeypatch):
    """simgpu.run's CuPy path with the host build standing in for the device."""
    from simgpu.engine import launch

    run_mod = importlib.import_module("simgpu.run")  # the module, not simgpu.run()

    monkeypatch.setattr(run_mod, "select", lambda backend, device_id=0: ("cupy", "cuda:0 fake"))
    monkeypatch.setattr(run_mod, "cupy_on", lambda device_id=0: None)
    monkeypatch.setattr(launch, "CupyLauncher", lambda cupy, defines=(): launch.HostLauncher())
    free = {"bytes": 80e9, "reserved": 0}
    monkeypatch.setattr(run_mod, "device_free_bytes", lambda device_id=0: free["bytes"])
    monkeypatch.setattr(run_mod, "gpu_reserved_bytes", lambda device_id=0: free["reserved"])
    return free


@needs_cxx
def test_the_gpu_path_of_run_gives_the_numpy_results_in_chunks(fake_gpu, tiny_overrides):
    import simgpu

    ov = [*tiny_overrides, "sim.replicas=3", "report.daily_series=true"]
    want = simgpu.run(simgpu.compose([*ov, "sim.backend=numpy"]))
    run_mod = importlib.import_module("simgpu.run")
    prepared = run_mod.prepare(simgpu.compose([*ov, "sim.chunk_replicas=2"]))
    assert (prepared.engine, prepared.chunk) == ("cupy", 2)
    got = run_mod.run(prepared.config, prepared)
    assert got.facts["backend"] == "cupy"
    assert kernel_parity.compare_raw(want.raw, got.raw) == []
    assert got.summary == want.summary  # byte-identical summaries across backends


def test_the_gpu_path_sizes_chunks_by_the_devices_free_memory(fake_gpu, tiny_overrides):
    import simgpu
    from simgpu.errors import ConfigError

    run_mod = importlib.import_module("simgpu.run")
    cfg = simgpu.compose([*tiny_overrides, "sim.replicas=1000"])
    plan = run_mod.prepare(cfg).plan
    per = cuda_engine.device_bytes_per_replica(plan, False)
    fixed = plan.lease_frac.nbytes * 3 + plan.online_normal.nbytes * 4
    fake_gpu["bytes"] = fixed + 10.5 * per
    assert run_mod.prepare(cfg).chunk == 10
    with pytest.raises(ConfigError, match="free on cuda:0 fake") as err:
        run_mod.prepare(simgpu.compose([*tiny_overrides, "sim.chunk_replicas=11"]))
    assert "sim.chunk_replicas=11" in str(err.value)
    # the local memory the driver reserves for the kernel is not free for chunks
    fake_gpu["reserved"] = 3 * per
    assert run_mod.prepare(cfg).chunk == 7
    fake_gpu["reserved"] = 0
    fake_gpu["bytes"] = fixed + 0.5 * per
    with pytest.raises(ConfigError, match="sim.max_memory_gb=4.0: too small"):
        run_mod.prepare(cfg)


def test_the_gpu_path_sizes_chunks_by_host_memory_too(fake_gpu, tiny_overrides):
    """The records of a chunk come back to the host beside every replica's results."""
    import simgpu
    from simgpu.engine.numpy_engine import RawResults

    run_mod = importlib.import_module("simgpu.run")
    ov = [*tiny_overrides, "sim.replicas=1000", "report.daily_series=false"]
    plan = run_mod.prepare(simgpu.compose(ov)).plan
    results = 2 * RawResults.bytes_per_replica(plan, False) * 1000
    plan_bytes = plan.lease_frac.nbytes * 3 + plan.online_normal.nbytes * 4
    host_per = cuda_engine.host_bytes_per_replica(plan, False)
    gb = (results + plan_bytes + 25.5 * host_per) / 1e9
    assert run_mod.prepare(simgpu.compose([*ov, f"sim.max_memory_gb={gb!r}"])).chunk == 25


@needs_cxx
def test_the_cpu_engine_runs_through_simgpu_run_like_numpy(tiny_overrides):
    import simgpu

    ov = [*tiny_overrides, "sim.replicas=3", "report.daily_series=true"]
    want = simgpu.run(simgpu.compose([*ov, "sim.backend=numpy"]))
    got = simgpu.run(simgpu.compose([*ov, "sim.backend=cpu", "sim.chunk_replicas=2"]))
    assert (got.facts["backend"], got.facts["chunks"]) == ("cpu", 2)
    assert got.facts["device"].startswith("cpu (")
    assert kernel_parity.compare_raw(want.raw, got.raw) == []
    assert got.summary == want.summary  # byte-identical summaries across backends
