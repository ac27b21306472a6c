"""The shipped configs compose and validate; the default has the names the issue requires."""

from __future__ import annotations

from datetime import datetime
from importlib.resources import files

import pytest

from simgpu.config import CONFIG_MODULE, compose, load
from simgpu.config.schema import Role, SimgpuConfig

CONF = files(CONFIG_MODULE)
#: Config groups: directories of conf/ that hold YAML option files.
GROUPS = sorted(
    d.name for d in CONF.iterdir()
    if d.is_dir() and any(f.name.endswith(".yaml") for f in d.iterdir())
)
EXPERIMENTS = sorted(f.name[: -len(".yaml")] for f in CONF.joinpath("experiment").iterdir()
                     if f.name.endswith(".yaml"))
GROUP_OPTIONS = [
    (g, f.name[: -len(".yaml")])
    for g in GROUPS
    if g != "model"  # model presets belong to simgpu-perf's config (tests/perf)
    for f in sorted(CONF.joinpath(g).iterdir(), key=lambda f: f.name)
    if f.name.endswith(".yaml")
]


@pytest.fixture(scope="module")
def default() -> SimgpuConfig:
    return load(compose())


def test_discovery_finds_the_shipped_configs():
    assert CONF.joinpath("config.yaml").is_file()
    assert "colossus_lease" in EXPERIMENTS
    for g in ("experiment", "gpu", "sim", "report", "party", "cluster", "lease", "job",
              "scenario"):
        assert g in GROUPS


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_and_validates(experiment):
    cfg = load(compose([f"experiment={experiment}"]))
    assert isinstance(cfg, SimgpuConfig)
    assert cfg.parties and cfg.pools and cfg.jobs
    assert cfg.name == experiment


@pytest.mark.parametrize(("group", "option"), GROUP_OPTIONS,
                         ids=[f"{g}={o}" for g, o in GROUP_OPTIONS])
def test_every_group_option_composes_when_selected(group, option):
    # reliability presets are placed under a pool: select them at that package
    target = "reliability@pools.colossus1.reliability" if group == "reliability" else group
    cfg = load(compose([f"{target}={option}"]))
    assert isinstance(cfg, SimgpuConfig)
    if group == "reliability":
        rates = {"hopper": 3.509, "ampere": 6.019, "blackwell": 3.509,
                 "hopper_typical": 6.019, "hopper_new_build": 6.019}
        rel = cfg.pools["colossus1"].reliability
        assert rel.failures_per_1000_node_days == rates[option]
        # the lemons keep the pool-average rate at the published one
        avg = rel.failures_per_1000_node_days * (1 + rel.lemon_fraction *
                                                 (rel.lemon_factor - 1))
        assert avg == pytest.approx({"hopper": 3.79, "ampere": 6.50, "blackwell": 3.79,
                                     "hopper_typical": 6.50, "hopper_new_build": 6.50
                                     }[option], abs=1e-3)  # new build: once mature


def test_default_experiment_is_colossus_lease(default):
    assert default.name == "colossus_lease"
    assert load(compose(["experiment=colossus_lease"])) == default


def test_default_parties(default):
    assert default.parties["xai"].role == Role.landlord
    assert default.parties["anthropic"].role == Role.tenant
    landlords = [n for n, p in default.parties.items() if p.role == Role.landlord]
    tenants = [n for n, p in default.parties.items() if p.role == Role.tenant]
    assert landlords == ["xai"]
    assert tenants == ["anthropic"]


def test_default_pool_and_lease(default):
    assert default.pools["colossus1"].owner == "xai"
    lease = default.leases["colossus_one"]
    assert lease.pool == "colossus1"
    assert lease.tenant == "anthropic"
    assert lease.share == 1.0
    assert lease.gpus is None
    # the terms reported from SpaceX's IPO filing (May 2026): $1.25B a month through May
    # 2029, from June 2026 ("within the month" of 6 May 2026), a mutual 90-day termination
    # right, no renewal
    assert lease.annual_usd == 12 * 1.25e9
    assert lease.usd_per_gpu_hour is None
    assert (lease.start, lease.end) == ("2026-06-01", "2029-06-01")
    start, end = datetime.fromisoformat(lease.start), datetime.fromisoformat(lease.end)
    assert lease.renewals == 0
    assert (end.year - start.year, end.month, end.day) == (3, start.month, start.day)
    assert lease.termination_notice_days == 90
    assert lease.landlord_priority is False


def test_default_jobs(default):
    tenant_jobs = {n: j for n, j in default.jobs.items() if j.party == "anthropic"}
    landlord_jobs = {n: j for n, j in default.jobs.items() if j.party == "xai"}
    assert 3 <= len(tenant_jobs) <= 5
    assert len(landlord_jobs) == 1
    assert set(default.jobs) == set(tenant_jobs) | set(landlord_jobs)
    # an after: chain of at least three tenant runs
    assert default.jobs["frontier_2"].after == ["frontier_1"]
    assert default.jobs["frontier_3"].after == ["frontier_2"]
    assert default.jobs["frontier_1"].after == []
    for job in tenant_jobs.values():
        assert set(job.after) <= set(tenant_jobs)


def test_override_addresses_a_lease():
    cfg = load(compose(["leases.colossus_one.share=0.5"]))
    assert cfg.leases["colossus_one"].share == 0.5


def test_override_addresses_a_job_dependency():
    cfg = load(compose(["jobs.frontier_2.after=[frontier_1]"]))
    assert cfg.jobs["frontier_2"].after == ["frontier_1"]
    cfg = load(compose(["jobs.product_1.after=[frontier_1,frontier_2]"]))
    assert cfg.jobs["product_1"].after == ["frontier_1", "frontier_2"]


def test_override_selects_group_and_value_together():
    cfg = load(compose(["experiment=colossus_lease", "sim.backend=numpy", "sim.seed=7"]))
    assert cfg.sim.backend.name == "numpy"
    assert cfg.sim.seed == 7


def test_tiny_overrides_compose_and_run(tiny_overrides):
    import simgpu

    res = simgpu.run(simgpu.compose(tiny_overrides))
    s = res.summary
    assert s["replicas"] == 2
    assert s["steps"] == 20 * 24
    assert set(s["jobs"]) == {"frontier_1", "frontier_2", "frontier_3", "product_1",
                              "grok_next"}
    # the tiny roadmap finishes within 20 days in the baseline
    for name, job in s["jobs"].items():
        assert job["finished_fraction"] == 1.0, name
        assert 0 < job["finish_day"]["p50"] < 20, name
    assert res.facts["wall_seconds"] >= 0
