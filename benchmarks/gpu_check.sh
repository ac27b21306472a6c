#!/usr/bin/env bash
# The field check of simgpu's GPU path, for a GPU box (about 10 minutes on one H100).
#
#   bash benchmarks/gpu_check.sh [OUT_DIR]     # default benchmarks/results/gpu_check_<UTC>
#
# Stages, each under its own time limit; each writes its JSON as it ends, and
# OUT_DIR/gpu_check.json (machine, date, every stage's status, seconds and files) is
# rewritten after every stage, so a check cut short keeps what it measured:
#
#   1. gpu_tests   the GPU tests (pytest -m gpu with SIMGPU_REQUIRE_GPU=1: a skip is a
#                  failure): kernel parity, every preset, random configs, edge cases, a run
#                  (junit XML in OUT_DIR/gpu_tests.xml);                             <= 240 s
#   2. goal        the goal workload (1,024 replicas x 8 variants x 3 years hourly) after a
#                  parity spot-check on the device, kernel-only and end-to-end times, and
#                  kernel-only timing over replica counts and cluster sizes at the full
#                  horizon (bench_gpu.py --engines cupy);                            <= 150 s
#   3. benchmark   the GPU benchmark against the compiled CPU engine, NumPy and the DES
#                  on subsets, with the scaling runs (bench_gpu.py);                 <= 180 s
#
# Needs: pip install -e ".[test,cuda12]" (or cuda13) and an NVIDIA driver. Exit status: 0
# when every stage passed. SIMGPU_GPU_CHECK_QUICK=1 runs a smoke version of every stage
# (the probe's GPU test, --quick benchmarks): how the test suite checks this script.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
OUT=${1:-benchmarks/results/gpu_check_$(date -u +%Y%m%dT%H%M%SZ)}
PY=${PYTHON:-python}
mkdir -p "$OUT"
STAGES="$OUT/.stages.tsv"
: > "$STAGES"
export SIMGPU_REQUIRE_GPU=1 PYTHONUNBUFFERED=1

summarise() {
  "$PY" - "$OUT" "$STAGES" <<'PYEOF'
import datetime, json, os, platform, sys
from pathlib import Path
out, stages = Path(sys.argv[1]), Path(sys.argv[2])
rows = [line.rstrip("\n").split("\t") for line in stages.read_text().splitlines() if line]
gpu = None
try:
    from simgpu.backend import probe_cuda
    p = probe_cuda(0)
    gpu = {"ok": p.ok, "device": p.device if p.ok else None, "reason": None if p.ok else p.reason}
except Exception as exc:  # noqa: BLE001
    gpu = {"ok": False, "reason": repr(exc)}
data = {"check": "gpu_check", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpu_count": os.cpu_count(), "gpu": gpu},
        "stages": [{"name": n, "status": "passed" if rc == "0" else
                    ("timed out" if rc in ("124", "137") else f"failed (exit {rc})"),
                    "exit_code": int(rc), "seconds": float(sec), "limit_s": int(lim),
                    "log": f"{n}.log",
                    "files": sorted(str(f.relative_to(out)) for f in (out / n).rglob("*")
                                    if f.is_file())}
                   for n, rc, sec, lim in rows]}
data["all_passed"] = bool(rows) and all(r[1] == "0" for r in rows)
tmp = out / "gpu_check.json.tmp"
tmp.write_text(json.dumps(data, indent=2) + "\n")
os.replace(tmp, out / "gpu_check.json")
PYEOF
}

stage() {  # stage NAME LIMIT_S COMMAND...
  local name=$1 limit=$2
  shift 2
  mkdir -p "$OUT/$name"
  echo "== $name (at most ${limit} s): $*"
  local t0 rc
  t0=$SECONDS
  timeout --kill-after=10 "$limit" "$@" > "$OUT/$name.log" 2>&1
  rc=$?
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - t0))" "$limit" >> "$STAGES"
  tail -n 5 "$OUT/$name.log"
  summarise
  return 0
}

if [ "${SIMGPU_GPU_CHECK_QUICK:-0}" = 1 ]; then
  TESTS=(-k probe_finds_the_gpu) GOAL=(--quick) BENCH=(--quick --engines cupy,cpu)
else
  TESTS=() BENCH=(--repeats 2)
  GOAL=(--replicas 1024 --horizon-days 1095 --repeats 2 --scale-days 1095
        --scale-replicas 1024 --sizes 1000,100000 --replica-counts 256,1024,4096)
fi
stage gpu_tests 240 "$PY" -m pytest -m gpu -q -p no:cacheprovider "${TESTS[@]}" \
  --junitxml="$OUT/gpu_tests/gpu_tests.xml" tests
stage goal 150 "$PY" benchmarks/bench_gpu.py --require-gpu --engines cupy "${GOAL[@]}" \
  --out "$OUT/goal"
stage benchmark 180 "$PY" benchmarks/bench_gpu.py --require-gpu "${BENCH[@]}" \
  --out "$OUT/benchmark"

"$PY" -c "import json,sys; d=json.load(open('$OUT/gpu_check.json')); \
print('gpu_check:', 'all stages passed' if d['all_passed'] else 'FAILED', '->', '$OUT'); \
sys.exit(0 if d['all_passed'] else 1)"
