"""``simgpu-aggregate``: a sweep directory of tiny real runs becomes one table and figures.

The sweep is built the way ``simgpu -m`` lays it out (SWEEP_DIR/<n>/ with
``.hydra/overrides.yaml``, ``summary.json`` and, last, ``COMPLETE``), from runs simulated
in-process: share {0.5, 1} x seed {1, 2} on 150 tenant nodes, and share {0.5, 1} with
seed 1 on 300 nodes (a grid that is partial in the seed), each with an in-batch sweep.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml

import simgpu
from simgpu.sweep import aggregate as agg_mod
from simgpu.sweep import collect, write
from simgpu.sweep.cli import main

SHARE, NODES, SEED = "leases.colossus_one.share", "pools.tenant_other.nodes", "sim.seed"
IN_BATCH = "+scenario.sweeps={sh:{lever:share,values:[0.25,0.75]}}"
#: (share, tenant_other nodes, seed) per job, in job order
GRID = [(0.5, 150, 1), (0.5, 150, 2), (1.0, 150, 1), (1.0, 150, 2), (0.5, 300, 1),
        (1.0, 300, 1)]
FMD = "tenants.anthropic.final_milestone_day"
SCRIPT = shutil.which("simgpu-aggregate", path=str(Path(sys.executable).parent))


def _overrides(share: float, nodes: int, seed: int) -> list[str]:
    from tiny_config import TINY_OVERRIDES

    base = [o for o in TINY_OVERRIDES if not o.startswith(f"{NODES}=")]
    return [*base, IN_BATCH, f"{SHARE}={share}", f"{NODES}={nodes}", f"{SEED}={seed}"]


def _mark_complete(job_dir: Path, overrides: list[str], name: str = "colossus_lease") -> None:
    (job_dir / ".hydra").mkdir(exist_ok=True)
    (job_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (job_dir / "COMPLETE").write_text(json.dumps(
        {"name": name, "overrides": overrides, "finished": "2026-11-23T12:00:00"}))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """The complete sweep on disk (never modified) and each job's summary."""
    root = tmp_path_factory.mktemp("sweep")
    summaries = []
    for n, point in enumerate(GRID):
        ov = _overrides(*point)
        res = simgpu.run(simgpu.compose(ov))
        res.write(root / str(n))
        _mark_complete(root / str(n), ov)
        summaries.append(res.summary)
    task = [o for o in _overrides(*GRID[0]) if not o.startswith((SHARE, NODES, SEED))]
    task += [f"{SHARE}=0.5,1.0", f"{NODES}=150,300", f"{SEED}=1,2"]
    (root / "multirun.yaml").write_text(yaml.safe_dump({"hydra": {"overrides": {"task": task}}}))
    return root, summaries


@pytest.fixture
def sweep(pristine, tmp_path):
    """A fresh copy of the sweep that a test may break."""
    root, summaries = pristine
    dst = tmp_path / "sweep"
    shutil.copytree(root, dst)
    return dst, summaries


def _get(doc: dict, dotted: str):
    for k in dotted.split("."):
        doc = doc[k]
    return doc


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code)


def _mean_or_nan(values: list) -> float:
    return math.nan if any(v is None for v in values) else sum(values) / len(values)


# ------------------------------------------------------------------------------ tables


def test_runs_table_has_the_swept_columns_and_one_row_per_job(pristine):
    root, summaries = pristine
    agg = collect(root)
    assert agg.params == [SHARE, NODES, SEED]  # tiny's fixed overrides are not params
    assert agg.levers == [SHARE, NODES] and agg.seeds == [1, 2]
    assert agg.incomplete == [] and agg.job_dirs == len(GRID)
    assert [r["job"] for r in agg.runs] == [str(n) for n in range(len(GRID))]
    for row, (share, nodes, seed), s in zip(agg.runs, GRID, summaries, strict=True):
        assert (row[SHARE], row[NODES], row[SEED]) == (share, nodes, seed)
        assert type(row[SHARE]) is float and type(row[NODES]) is int
        assert row["name"] == "colossus_lease" and row["seed"] == seed
        for col in (f"{FMD}.p50", "tenants.anthropic.dependency_share.mean",
                    "jobs.frontier_1.finish_day.p50", "leases.colossus_one.paid_usd",
                    "replicas", "tenants.anthropic.control_index",
                    "pools.colossus1.availability.p10"):
            assert row[col] == _get(s, col), col


def test_column_order_and_what_is_flattened(pristine):
    agg = collect(pristine[0])
    cols = agg.run_columns()
    assert cols[:5] == ["job", SHARE, NODES, SEED, "name"]
    assert cols[5:] == sorted(cols[5:])
    for bad in ("leverage_curve", "by_variant", "variants", "sweeps", ".party", ".jobs."):
        assert not any(bad in c for c in cols if c.startswith(("tenants", "jobs", "leases",
                                                                "variants", "sweeps"))), bad
    assert "tenants.anthropic.visibility.flops_share.p90" in cols
    assert "jobs.frontier_1.interruptions_by_cause.gpu.mean" in cols


def test_in_batch_sweep_points_are_tabulated(pristine):
    root, summaries = pristine
    agg = collect(root)
    assert agg.sweeps == ["sh"]
    assert len(agg.points) == 2 * len(GRID)
    cols = agg.point_columns()
    assert cols[:9] == ["job", SHARE, NODES, SEED, "name", "sweep", "lever", "value",
                        "variant"]
    assert "tenants.anthropic.delay_days.censored_fraction" in cols
    assert "leases.colossus_one.effective_usd_per_gpu_hour.p50" in cols
    for row in agg.points:
        pt = next(p for p in summaries[int(row["job"])]["sweeps"]["sh"]["points"]
                  if p["value"] == row["value"])
        assert row["lever"] == "share" and row["variant"] == pt["variant"]
        assert row[SHARE] == GRID[int(row["job"])][0]
        assert row[f"{FMD}.p50"] == pt["tenants"]["anthropic"]["final_milestone_day"]["p50"]
        assert row["leases.colossus_one.paid_usd"] == pt["leases"]["colossus_one"]["paid_usd"]
    assert sorted({r["value"] for r in agg.points}) == [0.25, 0.75]


def test_a_malformed_or_absent_sweeps_section_is_tolerated(sweep, caplog):
    root, summaries = sweep
    doc = json.loads((root / "0" / "summary.json").read_text())
    doc["sweeps"]["sh"]["points"].append({"variant": "broken"})  # no value
    doc["sweeps"]["odd"] = {"lever": "price"}  # no points
    doc["sweeps"]["px"] = {"lever": "price", "leases": ["colossus_one"], "points": [
        {"value": 2.0, "variant": "px=2", "tenants": {"anthropic": {
            "final_milestone_day": {"mean": 1.0, "p10": 1.0, "p50": 1.0, "p90": 1.0}}},
         "leases": {"colossus_one": {"paid_usd": 5.0}}}]}
    (root / "0" / "summary.json").write_text(json.dumps(doc))
    doc = json.loads((root / "1" / "summary.json").read_text())
    del doc["sweeps"]
    (root / "1" / "summary.json").write_text(json.dumps(doc))
    with caplog.at_level(logging.WARNING):
        agg = collect(root)
    assert len(agg.runs) == len(GRID)
    assert len(agg.points) == 2 * (len(GRID) - 1) + 1
    assert agg.sweeps == ["sh", "px"]
    assert [r["leases.colossus_one.paid_usd"] for r in agg.points if r["sweep"] == "px"] == [5.0]
    assert len(agg.warnings) == 2 and any("point 2" in w for w in agg.warnings)
    assert any("'odd'" in r.getMessage() for r in caplog.records)


def test_parse_overrides_types_values_as_hydra_does():
    got = agg_mod.parse_overrides(["a.b=0.5", "+c=x", "~d", "e=[1,2]", "f=true", "g=null",
                                   "h=1e23", "i='2'", "experiment=colossus_lease",
                                   "hydra.verbose=true", "j=2026-01-01"])
    assert got == {"a.b": 0.5, "c": "x", "d": None, "e": "[1,2]", "f": True, "g": None,
                   "h": 1e23, "i": "2", "experiment": "colossus_lease",
                   "j": "2026-01-01"}
    assert type(got["a.b"]) is float
    # a line outside Hydra's grammar is split by hand, the others still typed by Hydra
    assert agg_mod.parse_overrides(["k=3", "m=a=b)", "n=0.5"]) == {"k": 3, "m": "a=b)",
                                                                   "n": 0.5}


# ------------------------------------------------------------------------------ figures


def _fig(specs, name):
    return next(s for s in specs if s.file == name)


def test_seeds_are_averaged_never_an_axis(pristine):
    root, summaries = pristine
    agg = collect(root)
    specs = agg_mod.figures(agg, agg_mod.resolve_metrics(agg, ["final_milestone_day"]))
    files = {s.file for s in specs}
    assert files == {f"line_final_milestone_day_vs_{SHARE}.png",
                     f"line_final_milestone_day_vs_{NODES}.png",
                     f"heatmap_final_milestone_day_{SHARE}_x_{NODES}.png",
                     "sweep_sh_final_milestone_day.png"}
    assert not any(SEED in f for f in files)
    spec = _fig(specs, f"line_final_milestone_day_vs_{SHARE}.png")
    assert spec.lines == ["150", "300"]  # one line per value of the other lever
    ax = spec.figure.axes[0]
    lines = [ln for ln in ax.lines if ln.get_label() in ("150", "300")]
    assert [ln.get_label() for ln in lines] == ["150", "300"]
    assert "mean over its runs' seeds (sim.seed in 1, 2)" in spec.figure._suptitle.get_text()
    for line, nodes in zip(lines, (150, 300), strict=True):
        assert len(line.get_xdata()) == 2
        for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True):
            # shares in percent; a roadmap unfinished at the horizon counts as the horizon
            vals = [_get(s, f"{FMD}.p50") or s["horizon_days"]
                    for s, g in zip(summaries, GRID, strict=True)
                    if 100 * g[0] == x and g[1] == nodes]
            assert len(vals) == (2 if nodes == 150 else 1)
            assert y == pytest.approx(sum(vals) / len(vals))
    # the band is the mean over seeds of P10 and P90
    cs = agg_mod.curves(agg.runs, SHARE, agg_mod.resolve_metric(FMD, agg.run_columns(), []),
                        [NODES])
    one = [s for s, g in zip(summaries, GRID, strict=True) if g[:2] == (1.0, 150)]
    assert cs[0].n == [2, 2] and cs[1].n == [1, 1]
    assert cs[0].lo[1] == pytest.approx(_mean_or_nan([_get(s, f"{FMD}.p10") for s in one]))
    assert cs[0].hi[1] == pytest.approx(_mean_or_nan([_get(s, f"{FMD}.p90") for s in one]))


def test_heatmap_over_the_two_levers(pristine):
    root, summaries = pristine
    agg = collect(root)
    specs = agg_mod.figures(agg, agg_mod.resolve_metrics(agg, ["dependency_share"]))
    spec = _fig(specs, f"heatmap_dependency_share_{SHARE}_x_{NODES}.png")
    fig = spec.figure
    ax = fig.axes[0]
    assert len(fig.axes) == 2  # the heatmap and its colorbar
    assert [t.get_text() for t in ax.get_xticklabels()] == ["50 %", "100 %"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["150", "300"]
    assert ax.get_xlabel() == "share of its pool leased under colossus_one"
    assert ax.get_ylabel() == "nodes in pool tenant_other"
    assert "." not in fig._suptitle.get_text().split("\n")[0].replace("1, 2", "")
    assert ax.images[0].get_clim() == (0.0, 100.0)  # a share on its whole range
    z = ax.images[0].get_array()
    col = "tenants.anthropic.dependency_share.p50"
    for i, nodes in enumerate((150, 300)):
        for j, share in enumerate((0.5, 1.0)):
            vals = [_get(s, col) for s, g in zip(summaries, GRID, strict=True)
                    if g[:2] == (share, nodes)]
            assert z[i, j] == pytest.approx(100 * sum(vals) / len(vals))
            assert f"{100 * sum(vals) / len(vals):.0f} %" in [t.get_text() for t in ax.texts]


def test_no_heatmap_unless_exactly_two_levers(sweep):
    root, _ = sweep
    for n, (_share, nodes, _seed) in enumerate(GRID):
        if nodes == 300:
            shutil.rmtree(root / str(n))
    (root / "multirun.yaml").unlink()
    agg = collect(root)
    assert agg.params == [SHARE, SEED]
    specs = agg_mod.figures(agg, agg_mod.resolve_metrics(agg))
    assert not any(s.kind == "heatmap" for s in specs)
    assert {s.file for s in specs if s.kind == "line"} == {
        f"line_{m}_vs_{SHARE}.png" for m in ("final_milestone_day", "no_lease_delay_days",
                                             "dependency_share", "control_index",
                                             "effective_usd_per_gpu_hour")}


def test_categorical_lever_and_missing_cells():
    rows = [{"job": str(i), "experiment": e, "k": k, "sim.seed": seed,
             "m.p10": v and v - 1, "m.p50": v, "m.p90": v and v + 1}
            for i, (e, k, seed, v) in enumerate([("b", 1, 1, 2.0), ("a", 1, 1, 4.0),
                                                 ("a", 1, 2, 6.0), ("a", 2, 1, None)])]
    metric = agg_mod.resolve_metric("m", rows[0], [])
    assert metric.mid == "m.p50" and metric.lo == "m.p10"
    cs = agg_mod.curves(rows, "experiment", metric, ["k"])
    assert [c.label for c in cs] == ["1", "2"] and cs[0].x == ["a", "b"]
    assert list(cs[0].mid) == [5.0, 2.0] and cs[0].n == [2, 1]
    assert math.isnan(cs[1].mid[0])  # a null value cannot be measured
    fig = agg_mod.line_figure(cs, "experiment", metric, "m against experiment", ["k"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    crosses = [ln for ln in ax.lines if ln.get_marker() == "x"]
    assert sum(len(ln.get_xdata()) for ln in crosses) == 1  # drawn, not dropped
    assert any("null" in t.get_text() for leg in fig.legends for t in leg.get_texts())
    xs, ys, z = agg_mod.grid(rows, "experiment", "k", "m.p50")
    assert xs == ["a", "b"] and ys == [1, 2]
    assert z[0].tolist() == [5.0, 2.0] and math.isnan(z[1, 0]) and math.isnan(z[1, 1])
    fig = agg_mod.heatmap_figure(xs, ys, z, "experiment", "k", metric)
    assert sum(t.get_text() == "n/a" for t in fig.axes[0].texts) == 2
    scalar = agg_mod.resolve_metric("m.p50", rows[0], [])
    assert scalar.lo is None and scalar.mid == "m.p50"


# ------------------------------------------------------------------------------ writing


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_write_tables_figures_and_aggregate_json(sweep, monkeypatch):
    root, summaries = sweep
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if not installed
    agg = collect(root)
    written = write(agg)
    out = root / "aggregate"
    assert written[-1] == out / "aggregate.json"
    names = {p.name for p in out.iterdir()}
    assert names == {p.name for p in written}  # nothing else, no temporary files
    assert not any(n.endswith(".parquet") for n in names)
    assert {"runs.csv", "points.csv", f"heatmap_final_milestone_day_{SHARE}_x_{NODES}.png",
            "sweep_sh_dependency_share.png"} <= names
    for p in written:
        if p.suffix == ".png":
            assert p.read_bytes().startswith(b"\x89PNG")
    header, rows = _read_csv(out / "runs.csv")
    assert header == agg.run_columns()
    assert [r[SHARE] for r in rows] == [str(g[0]) for g in GRID]
    assert float(rows[2][f"{FMD}.p50"]) == _get(summaries[2], f"{FMD}.p50")
    header, rows = _read_csv(out / "points.csv")
    assert header == agg.point_columns() and len(rows) == 2 * len(GRID)
    doc = json.loads((out / "aggregate.json").read_text())
    assert doc["schema"] == "simgpu.aggregate/1"
    assert doc["params"] == [SHARE, NODES, SEED] and doc["seeds"] == [1, 2]
    assert doc["counts"] == {"job_dirs": 6, "complete": 6, "incomplete": 0, "points": 12}
    assert doc["metrics"]["final_milestone_day"] == {"runs": FMD, "points": FMD}
    assert set(doc["files"]) == names - {"aggregate.json"}
    assert {f["file"] for f in doc["figures"]} <= names
    # the default figures: delay, control index and money, not only dependency
    for name in (f"line_control_index_vs_{SHARE}.png", f"line_no_lease_delay_days_vs_{SHARE}.png",
                 f"line_effective_usd_per_gpu_hour_vs_{SHARE}.png", "sweep_sh_delay_days.png",
                 "sweep_sh_effective_usd_per_gpu_hour.png"):
        assert name in names, name
    assert doc["metrics"]["effective_usd_per_gpu_hour"]["runs"] == \
        "leases.colossus_one.effective_usd_per_gpu_hour"
    # the control index has no in-batch points: that is no figure left out
    assert not any("sweep_sh_control_index" in w for w in doc["warnings"])


def test_incomplete_jobs_are_skipped_listed_and_warned(sweep, caplog, capsys):
    root, _ = sweep
    (root / "1" / "COMPLETE").unlink()  # failed or cut off
    text = (root / "3" / "summary.json").read_text()
    (root / "3" / "summary.json").write_text(text[: len(text) // 2])  # half written
    (root / "4" / ".hydra" / "overrides.yaml").unlink()  # the marker still has them
    (root / "5" / "summary.json").write_text("[]")
    (root / "6").mkdir()  # cut off before it started
    (root / "7" / ".hydra").mkdir(parents=True)
    (root / "7" / "COMPLETE").write_text("{}")  # marker but no summary
    with caplog.at_level(logging.WARNING):
        agg = collect(root)
    assert [r["job"] for r in agg.runs] == ["0", "2", "4"]
    assert agg.runs[2][NODES] == 300  # overrides from the COMPLETE marker
    reasons = {i["job"]: i["reason"] for i in agg.incomplete}
    assert set(reasons) == {"1", "3", "5", "6", "7"}
    assert "COMPLETE" in reasons["1"] and "COMPLETE" in reasons["6"]
    assert "unreadable" in reasons["3"] and "not a simgpu summary" in reasons["5"]
    assert "no summary.json" in reasons["7"]
    msgs = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("job 3 skipped" in m for m in msgs)
    assert any("5 of 8 sweep jobs incomplete" in m for m in msgs)
    assert agg.params == [SHARE, NODES, SEED]
    assert _exit_code([str(root), "--metric", "final_milestone_day"]) == 0
    out = capsys.readouterr().out
    assert "aggregated 3 of 8 jobs" in out and "5 incomplete, skipped: 1, 3, 5, 6, 7" in out
    doc = json.loads((root / "aggregate" / "aggregate.json").read_text())
    assert [i["job"] for i in doc["incomplete"]] == ["1", "3", "5", "6", "7"]
    assert doc["counts"]["complete"] == 3 and doc["counts"]["incomplete"] == 5


def test_partial_sweep_keeps_the_swept_columns_from_multirun_yaml(sweep):
    root, _ = sweep
    for n in range(1, len(GRID)):
        (root / str(n) / "COMPLETE").unlink()
    agg = collect(root)
    assert len(agg.runs) == 1 and agg.params == [SHARE, NODES, SEED]
    (root / "multirun.yaml").write_text("{not: [valid")  # unreadable: jobs alone decide
    assert collect(root).params == []


def test_only_incomplete_jobs_writes_aggregate_json_and_exits_1(sweep, capsys):
    root, _ = sweep
    for n in range(len(GRID)):
        (root / str(n) / "COMPLETE").unlink()
    assert _exit_code([str(root)]) == 1
    assert "no complete job" in capsys.readouterr().err
    out = root / "aggregate"
    assert [p.name for p in out.iterdir()] == ["aggregate.json"]
    doc = json.loads((out / "aggregate.json").read_text())
    assert doc["counts"]["complete"] == 0 and len(doc["incomplete"]) == len(GRID)
    assert doc["files"] == [] and doc["figures"] == []


def test_bad_input_exits_2_and_writes_nothing(tmp_path, sweep, capsys):
    missing = tmp_path / "nope"
    assert _exit_code([str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("simgpu-aggregate: ") and err.count("\n") == 1
    assert not missing.exists()
    empty = tmp_path / "empty"
    (empty / "notes").mkdir(parents=True)
    (empty / "multirun.yaml").write_text("{}")
    assert _exit_code([str(empty)]) == 2
    assert "no job directory" in capsys.readouterr().err
    assert sorted(p.name for p in empty.iterdir()) == ["multirun.yaml", "notes"]
    root, _ = sweep
    assert _exit_code([str(root), "--metric", "no_such_metric"]) == 2
    err = capsys.readouterr().err
    assert "no_such_metric" in err and err.count("\n") == 1
    assert not (root / "aggregate").exists()


def test_metric_option_and_stale_figures(sweep):
    root, _ = sweep
    out = root / "elsewhere"
    assert _exit_code([str(root), "--out", str(out), "--metric", "dependency_share"]) == 0
    assert (out / f"line_dependency_share_vs_{NODES}.png").is_file()
    assert not (root / "aggregate").exists()
    assert _exit_code([str(root), "--out", str(out), "--metric", "jobs.frontier_1.finish_day",
                       "--metric", "leases.colossus_one.paid_usd"]) == 0
    names = {p.name for p in out.iterdir()}
    assert f"line_jobs.frontier_1.finish_day_vs_{SHARE}.png" in names
    assert f"heatmap_leases.colossus_one.paid_usd_{SHARE}_x_{NODES}.png" in names
    assert "sweep_sh_leases.colossus_one.paid_usd.png" in names  # also in the points
    assert "sweep_sh_jobs.frontier_1.finish_day.png" not in names  # not in the points
    assert not any("dependency_share" in n for n in names)  # the previous ones removed
    doc = json.loads((out / "aggregate.json").read_text())
    assert doc["metrics"]["jobs.frontier_1.finish_day"] == {
        "runs": "jobs.frontier_1.finish_day", "points": None}
    assert set(doc["files"]) == names - {"aggregate.json"}


# ------------------------------------------------------------------------------ parquet


def _fake_pyarrow(monkeypatch) -> None:
    """A stand-in for pyarrow that records each column's type and values as JSON."""
    pa = types.ModuleType("pyarrow")
    pq = types.ModuleType("pyarrow.parquet")
    for t in ("bool_", "int64", "float64", "string"):
        setattr(pa, t, lambda t=t: t)
    pa.array = lambda vals, type=None: {"type": type, "values": list(vals)}
    pa.table = dict

    class Sink:
        data = b""

        def getvalue(self):
            return types.SimpleNamespace(to_pybytes=lambda: self.data)

    pa.BufferOutputStream = Sink

    def write_table(table, sink):
        sink.data = json.dumps(table).encode()

    pq.write_table = write_table
    pa.parquet = pq
    monkeypatch.setitem(sys.modules, "pyarrow", pa)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", pq)


def test_parquet_copies_when_pyarrow_imports(sweep, monkeypatch):
    root, _ = sweep
    _fake_pyarrow(monkeypatch)
    agg = collect(root)
    write(agg, metrics=["final_milestone_day"])
    out = root / "aggregate"
    runs = json.loads((out / "runs.parquet").read_bytes())
    assert list(runs) == agg.run_columns()
    assert runs[SHARE] == {"type": "float64", "values": [g[0] for g in GRID]}
    assert runs[NODES]["type"] == "int64" and runs["name"]["type"] == "string"
    assert runs["job"]["values"] == [str(n) for n in range(len(GRID))]
    points = json.loads((out / "points.parquet").read_bytes())
    assert list(points) == agg.point_columns() and len(points["value"]["values"]) == 12
    assert {"runs.parquet", "points.parquet"} <= set(
        json.loads((out / "aggregate.json").read_text())["files"])


def test_parquet_with_the_real_pyarrow(sweep):
    pq = pytest.importorskip("pyarrow.parquet")
    root, _ = sweep
    agg = collect(root)
    write(agg, metrics=["final_milestone_day"])
    table = pq.read_table(root / "aggregate" / "runs.parquet")
    assert table.column_names == agg.run_columns() and table.num_rows == len(GRID)
    assert table.column(SHARE).to_pylist() == [g[0] for g in GRID]


# ------------------------------------------------------------------------------ console


@pytest.mark.skipif(SCRIPT is None, reason="simgpu-aggregate console script not installed")
def test_console_script(sweep, tmp_path):
    root, _ = sweep
    (root / "2" / "COMPLETE").unlink()
    proc = subprocess.run([SCRIPT, str(root), "--metric", "final_milestone_day"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "aggregated 5 of 6 jobs" in proc.stdout
    assert "sweep job 2 skipped" in proc.stderr and "Traceback" not in proc.stderr
    out = root / "aggregate"
    assert str(out / "runs.csv") in proc.stdout
    assert (out / f"heatmap_final_milestone_day_{SHARE}_x_{NODES}.png").is_file()
    proc = subprocess.run([SCRIPT, str(tmp_path / "missing")], capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("simgpu-aggregate: ") and proc.stderr.count("\n") == 1


# --------------------------------------------------------------- words, bounds, baselines


def test_metrics_and_parameters_in_words():
    w = agg_mod.describe_metric("tenants.anthropic.dependency_share")
    assert w.kind == "share" and w.unit == "%"
    assert w.phrase == "share of anthropic's training compute on landlord hardware"
    assert agg_mod.describe_metric("tenants.t.final_milestone_day").kind == "time"
    assert agg_mod.describe_metric("tenants.t.control_index").kind == "index"
    w = agg_mod.describe_metric("leases.lease1.effective_usd_per_gpu_hour")
    assert w.kind == "usd" and "lease lease1" in w.phrase
    w = agg_mod.describe_metric("tenants.tn.by_landlord.l1.no_lease_delay_days")
    assert w.kind == "days" and w.phrase.endswith("(l1 alone)")
    w = agg_mod.describe_metric("jobs.frontier_1.lost_flops_share")  # not in the table
    assert w.kind == "share" and "." not in w.phrase
    assert agg_mod.describe_param(SHARE) == ("share of its pool leased under colossus_one",
                                             True)
    assert agg_mod.describe_param(NODES) == ("nodes in pool tenant_other", False)
    assert "." not in agg_mod.describe_param("scenario.counterfactuals.withhold_days")[0]


def _rows(values, bounds=(), key="m", horizon=None):
    rows = []
    for i, (x, v) in enumerate(values):
        r = {"job": str(i), "k": x, f"{key}.p10": v, f"{key}.p50": v, f"{key}.p90": v,
             f"{key}.lower_bound": i in bounds}
        if horizon is not None:
            r["horizon_days"] = horizon
        rows.append(r)
    return rows


def _hollow(ax):
    return [y for ln in ax.lines if ln.get_marker() == "o"
            and ln.get_markerfacecolor() == "white" for y in ln.get_ydata()]


def test_censored_points_are_drawn_as_bounds_not_dropped():
    rows = _rows([(1, 2.0), (2, 5.0), (3, None)], bounds={1}, key="tenants.t.delay_days")
    metric = agg_mod.resolve_metric("delay_days", rows[0], ["t"])
    assert metric.bound == "tenants.t.delay_days.lower_bound"
    (c,) = agg_mod.curves(rows, "k", metric)
    assert c.bound.tolist() == [False, True, False] and math.isnan(c.mid[2])
    fig = agg_mod.line_figure([c], "k", metric, "delay against k")
    ax = fig.axes[0]
    assert _hollow(ax) == [5.0]  # the lower bound: hollow, with an arrow up
    assert any(t.arrow_patch is not None for t in ax.texts)
    assert sum(len(ln.get_xdata()) for ln in ax.lines if ln.get_marker() == "x") == 1
    assert ax.get_ylim()[0] <= 0.0  # a delay on an axis from 0
    assert "delay of t's roadmap" in ax.get_ylabel()
    # a time beyond the horizon is at least the horizon
    rows = _rows([(1, 10.0), (2, None)], key="tenants.t.final_milestone_day", horizon=20.0)
    metric = agg_mod.resolve_metric("final_milestone_day", rows[0], ["t"])
    (c,) = agg_mod.curves(rows, "k", metric)
    assert c.mid.tolist() == [10.0, 20.0] and c.bound.tolist() == [False, True]
    # a baseline beyond the horizon: a hollow star with an arrow
    ax = agg_mod.line_figure([c], "k", metric, "finish against k", stars=[(0, 20.0, True)],
                             hline=(20.0, "horizon")).axes[0]
    (star,) = [ln for ln in ax.lines if ln.get_marker() == "*"]
    assert star.get_markerfacecolor() == "white" and list(star.get_xdata()) == [0.0]
    assert sum(t.arrow_patch is not None for t in ax.texts) == 2  # the bound and the star
    assert any(ln.get_label() == "horizon" for ln in ax.lines)


def test_shares_in_percent_on_their_whole_range():
    rows = _rows([(0.25, 0.1321), (0.5, 0.1325)], key="tenants.t.dependency_share")
    metric = agg_mod.resolve_metric("dependency_share", rows[0], ["t"])
    fig = agg_mod.line_figure(agg_mod.curves(rows, "k", metric), "share leased", metric,
                              "dependency against share", x_share=True)
    ax = fig.axes[0]
    assert ax.get_ylim() == (0.0, 102.0)  # not 13.21-13.25 %: the difference is tiny
    line = next(ln for ln in ax.lines if len(ln.get_xdata()) == 2)
    assert list(line.get_xdata()) == [25.0, 50.0]
    assert list(line.get_ydata()) == pytest.approx([13.21, 13.25])
    assert ax.get_xlabel() == "share leased (%)"


def test_a_figure_left_out_is_named_in_warnings(sweep):
    root, _ = sweep
    agg = collect(root)
    for r in agg.runs:
        r["tenants.anthropic.control_index"] = None
    warn: list[str] = []
    specs = agg_mod.figures(agg, agg_mod.resolve_metrics(agg, ["control_index"]), warn)
    assert specs == []
    assert sum("left out" in w for w in warn) == 3  # two lines and the heatmap
    assert all("tenants.anthropic.control_index" in w for w in warn)


def test_baselines_are_marked(pristine):
    root, summaries = pristine
    agg = collect(root)
    assert agg.sweep_base[("0", "sh")] == 0.5 and agg.sweep_base[("2", "sh")] == 1.0
    assert agg_mod.base_values(agg)[SHARE] == 1.0  # the experiment's own share
    specs = agg_mod.figures(agg, agg_mod.resolve_metrics(agg, ["dependency_share"]),
                            base=agg_mod.base_values(agg))
    line = _fig(specs, f"line_dependency_share_vs_{SHARE}.png").figure
    assert "as configured: 1" in [t.get_text() for leg in line.legends
                                  for t in leg.get_texts()]
    ax = _fig(specs, "sweep_sh_dependency_share.png").figure.axes[0]
    stars = [ln for ln in ax.lines if ln.get_marker() == "*"]
    col = "tenants.anthropic.dependency_share.p50"
    want = set()
    for share, nodes in ((0.5, 150), (1.0, 150), (0.5, 300), (1.0, 300)):
        vals = [_get(s, col) for s, g in zip(summaries, GRID, strict=True)
                if g[:2] == (share, nodes)]
        want.add((100 * share, round(100 * sum(vals) / len(vals), 9)))
    got = {(ln.get_xdata()[0], round(ln.get_ydata()[0], 9)) for ln in stars}
    assert got == want


def test_a_single_run_is_aggregated(tmp_path):
    """One run's directory (here written from Python: no marker, no overrides) with an
    in-batch sweep and two landlords' leases."""
    from simgpu.cases import two_landlords
    from simgpu.config import load

    cfg = two_landlords()
    cfg["scenario"]["sweeps"] = {"wh": {"lever": "withhold", "values": [0.25, 0.5]}}
    res = simgpu.run(load(cfg))
    res.write(tmp_path / "run")
    agg = collect(tmp_path / "run")
    assert agg.single and len(agg.runs) == 1 and agg.params == []
    assert len(agg.points) == 2 and agg.lease_landlords == {"lease1": "l1", "lease2": "l2"}
    assert _exit_code([str(tmp_path / "run")]) == 0
    doc = json.loads((tmp_path / "run" / "aggregate" / "aggregate.json").read_text())
    files = set(doc["files"])
    assert {"sweep_wh_delay_days.png", "sweep_wh_dependency_share.png",
            "sweep_wh_leases.lease1.effective_usd_per_gpu_hour.png",
            "sweep_wh_leases.lease2.effective_usd_per_gpu_hour.png"} <= files
    assert any("no parameter differs" in w for w in doc["warnings"])
    # one lease's price on one line: in its landlord's colour, the baseline a star at 0 %
    from matplotlib import colors as mcolors

    from simgpu.report.figures import landlord_colours

    specs = agg_mod.figures(agg, agg_mod.resolve_metrics(agg, ["effective_usd_per_gpu_hour"]))
    ax = _fig(specs, "sweep_wh_leases.lease2.effective_usd_per_gpu_hour.png").figure.axes[0]
    (line,) = [ln for ln in ax.lines if ln.get_label() == "P50 over replicas"]
    assert mcolors.to_hex(line.get_color()) == landlord_colours(["l1", "l2"])["l2"]
    (star,) = [ln for ln in ax.lines if ln.get_marker() == "*"]
    assert star.get_xdata()[0] == 0.0 and star.get_ydata()[0] == pytest.approx(12.5)


def test_every_in_batch_lever_has_words_for_the_axis():
    from simgpu.config.schema import Lever
    from simgpu.sweep.aggregate import LEVER_WORDS

    assert {lv.value for lv in Lever} == set(LEVER_WORDS)
    assert all("_" not in words for words, _ in LEVER_WORDS.values() if "sim.start" not in words)
