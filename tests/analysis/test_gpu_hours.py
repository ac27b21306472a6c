"""Where a tenant's GPU-hours went (tenants.<t>.gpu_hours): the parts add up, and on a
case without failures they are known by hand (simgpu.cases.two_landlords: m1 -> m2 -> m3 of
1, 2 and 1 days on 80 GPUs, 30 days; the tenant owns one pool and rents from two)."""

from __future__ import annotations

import pytest

import simgpu
from simgpu.analysis.summary import GPU_HOURS_PARTS, LEASE_HOURS_PARTS
from simgpu.cases import kernel_mix, one_pool, two_landlords
from simgpu.config import load

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def doc():
    return simgpu.run(load(two_landlords())).summary["tenants"]["tn"]["gpu_hours"]


def test_the_parts_add_up_to_the_usable_hours(doc):
    assert "baseline" in doc and "no_lease" in doc
    for name, d in doc.items():
        assert set(GPU_HOURS_PARTS) <= set(d)
        assert sum(d[k] for k in GPU_HOURS_PARTS if k != "withheld") == \
            pytest.approx(d["usable"])
        assert d["usable"] + d["withheld"] >= doc["baseline"]["usable"] - 1e-6, name
        assert 0 <= d["usable_landlord"] <= d["usable"]


def test_without_failures_only_the_work_is_held_and_the_lever_takes_the_lease(doc):
    base, none = doc["baseline"], doc["no_lease"]
    assert base["lost"] == 0 and base["checkpoint_writes"] == pytest.approx(0, abs=1e-6)
    assert base["restarts"] == pytest.approx(0, abs=1e-6)  # no restart time in this case
    assert base["kept"] == pytest.approx(4 * 24 * 80)  # 4 days of work on 80 GPUs
    assert none["kept"] == pytest.approx(base["kept"])  # the same work, elsewhere or later
    assert none["usable_landlord"] == 0
    assert none["withheld"] == pytest.approx(base["usable_landlord"])
    assert base["withheld"] == 0


def test_the_report_draws_it(tmp_path):
    from simgpu.report.render import render_results

    res = simgpu.run(load(two_landlords()))
    render_results(res, tmp_path, formats=["png", "markdown"])
    assert (tmp_path / "gpu_hours.png").is_file()
    text = (tmp_path / "report.md").read_text()
    assert "gpu_hours.png" in text and "rolled back by failures" in text


def test_a_run_whose_gang_never_fits_waits_on_every_usable_hour():
    # 4 nodes of 8 GPUs online for 2 days (10 from next month); the job needs at least 8
    # nodes: it never starts
    cfg = one_pool(nodes=10, min_gpus=64, target_gpus=80)
    cfg["pools"]["p"]["capacity"] = [{"at": "2026-01-01", "nodes": 4},
                                     {"at": "2026-02-01", "nodes": 10}]
    res = simgpu.run(load(cfg))
    assert res.raw.party_wait_gpu_h[0, :, 0, 0] == pytest.approx(4 * 8 * 48.0)
    # a run that fits waits for nothing
    res = simgpu.run(load(one_pool(nodes=10)))
    assert (res.raw.party_wait_gpu_h == 0).all()


def test_the_gang_wait_is_the_unheld_usable_hours_while_a_run_waits():
    """kernel_mix: its jobs wait for gangs, the records stay within the unheld hours."""
    res = simgpu.run(load(kernel_mix(horizon_days=10.0)))
    raw, plan = res.raw, res.plan
    held = raw.job_alloc_gpu_h_pool.sum(axis=2)  # (V, R, P) all parties' jobs
    wait = raw.party_wait_gpu_h.sum(axis=2)  # (V, R, P)
    usable = raw.party_cap_gpu_h.sum(axis=2)
    assert wait.sum() > 0
    assert (wait <= usable - held + 1e-6).all()
    assert raw.job_lost_gpu_h_pool.sum(axis=3) == pytest.approx(raw.job_lost_gpu_h)
    assert raw.job_useful_gpu_h_pool.sum(axis=3) == pytest.approx(raw.job_useful_gpu_h)
    assert len(plan.party_names) == raw.party_wait_gpu_h.shape[2]


def test_a_leases_paid_hours_split_adds_up_and_the_lever_withholds_them():
    s = simgpu.run(load(two_landlords())).summary
    for ln, le in s["leases"].items():
        doc = le["gpu_hours"]
        base = doc["baseline"]
        assert base["withheld"] == 0
        assert base["not_delivered"] == pytest.approx(0, abs=1e-6)  # no failures
        assert base["delivered"] == pytest.approx(base["paid"])
        for name, d in doc.items():
            parts = sum(d[k] for k in LEASE_HOURS_PARTS)
            assert parts == pytest.approx(max(d["paid"], base["paid"]), rel=1e-9), (ln, name)
        none = doc["no_lease"]
        assert none["paid"] == 0 and none["withheld"] == pytest.approx(base["paid"])
        assert none["kept"] == 0
    # the tenant's kept work on the leased pools is the leases' kept work
    kept_leases = sum(le["gpu_hours"]["baseline"]["kept"] for le in s["leases"].values())
    assert 0 < kept_leases <= s["tenants"]["tn"]["gpu_hours"]["baseline"]["kept"] + 1e-6


def test_restart_and_checkpoint_hours_by_hand():
    """one_pool: 10 nodes x 8 GPUs, a 0.25 h start, checkpoints every 1 h of compute with
    a 0.1 h write, 1e21 FLOPs at 0.5 x 1000 TFLOP/s x 80 GPUs: 6.94 compute hours, 6
    completed cycles; no failures."""
    res = simgpu.run(load(one_pool(nodes=10)))
    raw = res.raw
    assert raw.job_restart_gpu_h_pool[0, :, 0, 0] == pytest.approx(0.25 * 80, rel=1e-12)
    compute_h = 1e21 / (80 * 1000e12 * 0.5 * 3600)
    held = raw.job_alloc_gpu_h[0, :, 0]
    writes = held - raw.job_useful_gpu_h[0, :, 0] - raw.job_restart_gpu_h_pool[0, :, 0, 0]
    assert writes == pytest.approx(int(compute_h) * 0.1 * 80, rel=1e-9)
