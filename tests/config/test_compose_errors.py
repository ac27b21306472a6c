"""Composition mistakes a user makes, each reported as the real problem in one line, and
the override forms that must work in every experiment."""

from __future__ import annotations

import pytest

from simgpu.config import compose, load
from simgpu.config.compose import Composer
from simgpu.errors import NO_VALUE, ConfigError


def one_problem(overrides, config_dir=None):
    with pytest.raises(ConfigError) as ei:
        compose(overrides, config_dir=config_dir)
    assert len(ei.value.problems) == 1, ei.value
    return ei.value.problems[0]


@pytest.fixture
def user_dir(tmp_path):
    """A user's config directory with a good, a broken and a headerless experiment."""
    d = tmp_path / "myconf" / "experiment"
    d.mkdir(parents=True)
    (d / "mine.yaml").write_text("# @package _global_\n# my own\ndefaults:\n"
                                 "  - colossus_lease\n  - _self_\nname: mine\n"
                                 "sim:\n  replicas: 3\n")
    (d / "broken.yaml").write_text("# @package _global_\nname: broken\nsim:\n"
                                   "  replicas: [1, 2\n")
    (d / "headless.yaml").write_text("defaults:\n  - colossus_lease\n  - _self_\n"
                                     "name: headless\n")
    (d / "colossus_lease.yaml").write_text("# @package _global_\nname: shadow\n")
    return tmp_path / "myconf"


def test_a_yaml_syntax_error_names_file_line_and_column(user_dir):
    p = one_problem(["experiment=broken"], user_dir)
    assert p.value is NO_VALUE
    assert p.key == f"{user_dir / 'experiment' / 'broken.yaml'}:5:1"
    assert str(p).startswith(p.key + ": YAML syntax error: while parsing a flow sequence "
                             "(from line 4, column 13): expected ',' or ']'")
    assert "\n" not in str(p)


def test_an_experiment_without_its_package_header_names_the_file(user_dir):
    p = one_problem(["experiment=headless"], user_dir)
    assert (p.key, p.value) == ("experiment", "headless")
    assert str(user_dir / "experiment" / "headless.yaml") in p.message
    assert "# @package _global_" in p.message


def test_a_user_experiment_composes_from_its_directory(user_dir):
    cfg = load(compose(["experiment=mine"], config_dir=user_dir))
    assert (cfg.name, cfg.sim.replicas) == ("mine", 3)


def test_a_user_experiment_cannot_shadow_a_shipped_one(user_dir):
    p = one_problem(["experiment=colossus_lease"], user_dir)
    assert "rename yours" in p.message


def test_a_missing_config_dir_is_named():
    p = one_problem(["experiment=mine"], "/nonexistent/dir")
    assert (p.key, p.value, p.message) == ("--config-dir", "/nonexistent/dir",
                                           "no such directory")


def test_an_unknown_experiment_gets_did_you_mean_and_the_own_directory_hint():
    p = one_problem(["experiment=colossus_leas"])
    assert "did you mean 'colossus_lease'?" in p.message
    assert "--config-dir DIR experiment=NAME" in p.message


@pytest.mark.parametrize(("override", "what", "near"), [
    ("leases.colossus_1.share=0.5", "lease 'colossus_1'", "colossus_one"),
    ("pools.colosus1.nodes=3", "pool 'colosus1'", "colossus1"),
    ("parties.antropic.role=tenant", "party 'antropic'", "anthropic"),
    ("jobs.frontier1.flops=1e25", "job 'frontier1'", "frontier_1"),
    ("pools.colossus1.reliability.domains.facility_powr.nodes=3",
     "entry of pools.colossus1.reliability.domains 'facility_powr'", "facility_power"),
])
def test_a_misspelled_entry_name_is_named_with_a_suggestion(override, what, near):
    p = one_problem([override])
    assert p.message.startswith(f"unknown {what}; did you mean '{near}'?")
    assert "use +" not in p.message  # not Hydra's advice, which would fail


def test_a_key_of_a_non_default_experiment_reports_the_real_problem():
    p = one_problem(["experiment=llama3_405b",
                     "pools.rsc_h100.reliability.repair.distribution=weibull"])
    assert p.key == "pools.rsc_h100.reliability.repair.distribution"
    assert "expected one of [fixed, exponential, lognormal]" in p.message


@pytest.mark.parametrize("experiment", ["colossus_lease", "llama3_405b"])
@pytest.mark.parametrize("plus", ["", "+"])
def test_the_reliability_preset_form_works_in_every_experiment(experiment, plus):
    pool = {"colossus_lease": "colossus1", "llama3_405b": "rsc_h100"}[experiment]
    cfg = load(compose([f"experiment={experiment}",
                        f"{plus}reliability@pools.{pool}.reliability=ampere"]))
    assert cfg.pools[pool].reliability.failures_per_1000_node_days == 6.019


def test_an_empty_mapping_empties_it():
    cfg = load(compose(["pools.colossus1.reliability.domains={}"]))
    assert cfg.pools["colossus1"].reliability.domains == {}
    assert load(compose([])).pools["colossus1"].reliability.domains  # the preset has one


def test_an_empty_mapping_on_a_section_is_refused():
    p = one_problem(["pools.colossus1.reliability={}"])
    assert "keeps its fields" in p.message


def test_new_entries_are_added_from_the_command_line():
    cfg = load(compose([
        "+parties.lab={role: tenant}",
        "+jobs.extra={party: lab, flops: 1e24, mfu: 0.4, pools: [colossus1]}",
        "+jobs.extra.min_gpus=16", "+jobs.extra.target_gpus=64",
        "+leases.lab_lease={pool: colossus1, tenant: lab, share: 0.1, start: 2026-07-01, "
        "end: 2027-07-01, usd_per_gpu_hour: 2.0}",
        "leases.colossus_one.share=0.9"]))
    job = cfg.jobs["extra"]
    assert (job.party, job.flops, job.min_gpus, job.target_gpus) == ("lab", 1e24, 16, 64)
    assert cfg.parties["lab"].role.value == "tenant"
    assert cfg.leases["lab_lease"].share == 0.1


def test_problems_come_in_the_order_of_the_overrides():
    with pytest.raises(ConfigError) as ei:
        compose(["sim.replica=2", "experiment=nope", "sim.backend=gpu"])
    assert [p.key for p in ei.value.problems] == ["sim.replica", "experiment",
                                                  "sim.backend"]


def test_resolve_gives_hydra_the_normalised_overrides():
    c = Composer()
    assert c.resolve(["pools.colossus1.reliability.domains={}", "sim.seed=3"]) == [
        "~pools.colossus1.reliability.domains.facility_power", "sim.seed=3"]
