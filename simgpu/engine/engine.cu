// engine.cu -- the fused step loop of simgpu; twin of simgpu/engine/numpy_engine.py.
//
// Thread mapping: one warp per replica (one host thread per range of replicas in the host
// build). A replica's physical process (capacity, failures, repairs, outages) does not
// depend on the variant, so each step it is computed once, by the warp's lanes together:
// lanes over pools and domains for the repairs and the Poisson counts, lanes over the
// step's failure events for their draws, repair times and positions. The events are kept
// in the replica's workspace, sorted per pool by time, and then every variant reads them:
// lane v runs variant v's contracts, allocation and node layout (variants v, v + 32, ...
// when there are more than 32), then the lanes take the (job, variant) pairs for the
// jobs' progress, which are independent of each other. A job's hits are the events of its pool
// whose position meets its node range, read in time order: one pass over the pool's
// events per job and step, whatever the number of hits. The host launches the kernel a
// few times per run (for progress reports) and never synchronises per step.
//
// Memory: a replica's state is one record in each of three global blocks (SI int32, SC
// int64 counters, SF double), per-variant fields laid out [element][variant] so that the
// lanes of a warp touch consecutive words; the repair ring is int32 in global memory.
// Each replica has a workspace (per-step scratch, the step's events and their order) in
// shared memory on the GPU when it fits (simgpu.engine.cuda_engine chooses), where the
// record is also staged for the launch (copied in at the start, back at the end); else
// the workspace is in global memory and the record is used in place. Only the records
// and the per-day series travel to the host; the ring and the workspace stay on the device.
//
// Determinism: every random number is Philox4x32-10 keyed by (seed, replica, stream,
// step, index, sub), the same keys as the NumPy engine; every floating-point expression
// mirrors numpy_engine.py and progress.py operation for operation with FMA contraction
// off. Lanes only share integer sums (order-free) and write disjoint words otherwise, so
// the results do not depend on the launch shape: they are bit-identical to NumPy's.
#include "compat.cuh"
#include "philox.cuh"
#include "distributions.cuh"
#include "progress.cuh"
#if !SG_GPU
#include <algorithm>
#endif

#define STREAM_COUNT 1u
#define STREAM_FAIL_EVENT 2u
#define STREAM_DOM_EVENT 3u
#define STREAM_JOB_EVENT 4u
#define SG_JOB_EVENT_MAX 65535  // draws per job and step (the 16-bit sub)
#define POISSON_PTRS_MIN_LAM 10.0
#define TAU_MIN_HOURS 1e-3
#define TAU_MAX_HOURS 1e6
#define SG_ENGINE_THREADS 128  // 4 warps (replicas) per block
#define SG_ENGINE_MIN_BLOCKS 3   // caps registers at 65536 / (128 * 3) = 170 (168) per thread
#define SG_EV_BIG (1LL << 30)    // event counts are clamped here (far beyond any workspace)

// The launch's arguments, passed by value (the kernel's parameter space on the GPU).
// Field order and types are simgpu.engine.cuda_engine.ARGS (a test checks that the two
// agree): pointers, then 64-bit scalars, then 32-bit integers. I (int32) and F (double)
// hold the plan's arrays at the offsets i_* and f_*; SI/SC/SF hold one record per replica
// (NSI, NSC, NSF elements) with fields at the offsets r_*; WS holds WS_BYTES per replica
// (regions at the byte offsets w_*).
struct SgArgs {
  const int* I;
  const double* F;
  int* SI;
  long long* SC;
  double* SF;
  int* RING;
  unsigned char* WS;
  float* DAILY;
  int* FLAG;
  sg_u64 seed;
  double dt;
  int R, V, J, P, A, L, D, NC, NCT, T, G, K, NRANK0, NDAYS, DAILY_ON, CAP, REPOFF;
  int t0, t1, r0, r1, STAGE, WS_SHARED, WS_BYTES, NSI, NSC, NSF;
  int i_online_n, i_online_l, i_dom_units, i_pool_owner, i_pool_gpn, i_repair_kind;
  int i_dom_pool, i_dom_cause, i_dom_nodes, i_dom_kind, i_lease_pool, i_lease_tenant;
  int i_lease_owner, i_lease_contract, i_lease_replaced, i_lease_lf, i_job_party;
  int i_job_pref, i_job_tgt, i_job_min, i_dep_start, i_dep_list, i_job_auto, i_step_day;
  int i_job_causes, i_job_migrate;
  int f_fail_n, f_fail_l, f_cause_cum, f_repair_p1, f_repair_p2, f_repair_max, f_dom_lam;
  int f_dom_rate, f_dom_p1, f_dom_p2, f_dom_max, f_lease_frac, f_peak, f_job_flops;
  int f_job_mfu, f_job_earliest, f_job_write, f_job_restart, f_node_rate, f_day_w;
  int f_job_s16k, f_job_rexp, f_cause_detect, f_fabric_rate, f_planned_rate, f_fail_mult;
  int r_down, r_poolj, r_nodes, r_hitlast;
  int r_fails, r_failscause, r_outages, r_nint, r_intcause, r_npre, r_nmig;
  int r_onlinegh, r_healthygh, r_rleft, r_total, r_unc, r_since, r_start, r_fin, r_tau;
  int r_lostf, r_lostgh, r_usefulgh, r_flopspool, r_allocpool, r_capgh, r_delivgh, r_rst;
  int r_mfum, r_waitgh, r_waitj, r_restartgh;
  int w_sf, w_sc, w_si, w_phd, w_ph, w_lane, w_ev, w_order, w_offs;
};

// One failure event of a step: its sort key (the time word r3 of its Philox block, then
// its place in NumPy's concatenation of the pool's events), the failed node's position,
// the block of nodes it takes down (1 for a node failure), its cause and its return step.
struct SgEv {
  sg_u64 key;
  int pos, size, cause, back;
};

// Int scratch of the physical step, per replica: its layout (in ints) from P and D.
#define SG_PH_HN(P, D) 0
#define SG_PH_HL(P, D) (P)
#define SG_PH_H(P, D) (2 * (P))
#define SG_PH_ON(P, D) (3 * (P))
#define SG_PH_KN(P, D) (4 * (P))
#define SG_PH_KL(P, D) (5 * (P))
#define SG_PH_HNL(P, D) (6 * (P))
#define SG_PH_HLL(P, D) (7 * (P))
#define SG_PH_CNT(P, D) (8 * (P))
#define SG_PH_KD(P, D) (10 * (P) + (D))
#define SG_PH_NF(P, D) (10 * (P) + 2 * (D))
#define SG_PH_EVS(P, D) (11 * (P) + 2 * (D) + 1)
#define SG_PH_OD(P, D) (12 * (P) + 2 * (D) + 2)
#define SG_PH_ODS(P, D) (12 * (P) + 3 * (D) + 3)
#define SG_PH_INTS(P, D) (12 * (P) + 4 * (D) + 3)
// Int scratch of one variant's step, per lane: its layout (in ints) from P, A, L, J.
#define SG_LN_REM(P, A, L) 0
#define SG_LN_OWN(P, A, L) (P)
#define SG_LN_ACC(P, A, L) (2 * (P))
#define SG_LN_AVAIL(P, A, L) (3 * (P))
#define SG_LN_CAPN(P, A, L) (3 * (P) + (A) * (P))
#define SG_LN_ENT(P, A, L) (3 * (P) + 2 * (A) * (P))
#define SG_LN_LFE(P, A, L) (3 * (P) + 2 * (A) * (P) + (L))
#define SG_LN_DLV(P, A, L) (3 * (P) + 2 * (A) * (P) + 2 * (L))
#define SG_LN_INTS(P, A, L, J) (3 * (P) + 2 * (A) * (P) + 3 * (L))

#if !SG_GPU
// The layouts above, for the host side's workspace sizes (checked by a test).
SG_KERNEL int sg_engine_layout(int what, int P, int A, int L, int D, int J) {
  if (what == 0) return (int)sizeof(SgArgs);
  if (what == 1) return (int)sizeof(SgEv);
  if (what == 2) return SG_PH_INTS(P, D);
  return SG_LN_INTS(P, A, L, J);
}
#endif

// One failure event's draws (numpy_engine.event_draws, block sub = 0): the repair-time
// uniform, the position (r2 * healthy) >> 32 and the time word r3 (the time in the step
// is (r3 + 0.5) / 2**32 of it).
struct SgDraw {
  double u;
  long long pos;
  sg_u32 r3;
};

SG_DEV SgDraw sg_event(sg_u64 seed, sg_u32 rep, sg_u32 stream, sg_u32 t, sg_u32 index,
                       long long healthy) {
  sg_u32 w[4];
  sg_bits(seed, rep, stream, t, index, 0u, w);
  SgDraw e;
  e.u = sg_u01(w[0], w[1]);
  e.pos = (long long)(((sg_u64)w[2] * (sg_u64)healthy) >> 32);
  e.r3 = w[3];
  return e;
}

SG_DEV double sg_phase(sg_u32 r3) { return ((double)r3 + 0.5) * 2.3283064365386963e-10; }

// The cause of node failure `index` (block sub = 1): how many cumulative shares its
// uniform exceeds.
SG_DEV int sg_event_cause(sg_u64 seed, sg_u32 rep, sg_u32 t, sg_u32 index,
                          const double* cause_cum, int NC) {
  if (NC <= 1) return 0;
  sg_u32 w[4];
  sg_bits(seed, rep, STREAM_FAIL_EVENT, t, index, 1u, w);
  const double uc = sg_u01(w[0], w[1]);
  int c = 0;
  for (int i = 0; i < NC - 1; ++i) c += (uc > cause_cum[i]) ? 1 : 0;
  return c;
}

SG_DEV int sg_back_steps(double phase, double d, double dt) {
  return (int)sg_max(1.0, ceil((((phase * dt) + d) / dt) - 1e-9));
}

// numpy_engine._overlap: node range [off, off + n) meets circular block [x, x + k) mod h.
SG_DEV bool sg_overlap(long long off, long long n, long long x, long long k, long long h) {
  const bool direct = (off < x + k) && (x < off + n);
  const bool wrap = (x + k > h) && (off < x + k - h);
  return (n > 0) && (k > 0) && (direct || wrap);
}

// checkpoint.daly_interval for one job.
SG_DEV double sg_daly(double d, double m) {
  if (!isfinite(m)) return TAU_MAX_HOURS;
  const double two_m = 2.0 * m;
  const double x = d / two_m;
  double tau = (d < two_m) ? (sqrt((2.0 * d) * m) * ((1.0 + (sqrt(x) / 3.0)) + (x / 9.0))) - d
                           : m;
  if (isnan(tau)) return tau;
  return sg_min(sg_max(tau, TAU_MIN_HOURS), TAU_MAX_HOURS);
}

// Plan.restart_hours: a (re)start on `gpus` GPUs, hours.
SG_DEV double sg_restart_hours(double base, double s16k, double rexp, double gpus) {
  const double grow = s16k > 0.0 ? s16k * sg_exp(rexp * sg_log(gpus / 16384.0)) : 0.0;
  return base + (grow / 3600.0);
}

// Plan.job_mtbf_hours: the mean time between failures of a job on `nn` nodes of `pool` at
// step t (node failures at the pool's per-node rate times its nodes' age multiplier, plus
// the outages of the domains its node range meets on average), hours; inf where nothing
// can fail.
SG_DEV double sg_job_mtbf(const SgArgs& a, int pool, double nn, int t) {
  const int* I = a.I;
  const double* F = a.F;
  double lam = nn * (F[a.f_node_rate + pool] * F[a.f_fail_mult + pool * a.T + t]);
  for (int d = 0; d < a.D; ++d) {
    if (I[a.i_dom_pool + d] != pool) continue;
    const int kk = I[a.i_dom_nodes + d];
    if (kk == 0) {
      lam = lam + F[a.f_dom_rate + d];
    } else {
      lam = lam + (F[a.f_dom_rate + d] * sg_min((double)I[a.i_dom_units + d * a.T + t],
                                               ((nn + (double)kk) - 1.0) / (double)kk));
    }
  }
  return lam > 0.0 ? 1.0 / lam : SG_INF;
}

// numpy_engine._migrate: the one alternative placement of job j, which keeps `got` nodes
// of pool `cur` (more preferred pool where its minimum fits, else growth in `cur` when it
// is running), and whether it is worth its restart: W x (1 - r_stay / r_alt) >
// max(0, R_alt - rho), W = min(hours to finish where it is, its MTBF there). Returns the
// pool it migrates to (it then takes min(target, available) nodes there), or -1.
// `avail` points at the party's available nodes of pool 0 (pool p at p * stride); `sf` is
// the replica's float record (per-variant fields of variant v at stride V).
SG_DEV int sg_migrate(const SgArgs& a, const int* avail, int stride, int j, int cur, int got,
                      int held, bool resize, const double* sf, int v, int t) {
  const int* I = a.I;
  const double* F = a.F;
  const int K = a.K, P = a.P;
  int alt = -1, alt_n = 0;
  for (int k = 0; k < K; ++k) {  // the pools before cur in the preference order
    const int p = I[a.i_job_pref + j * K + k];
    if (p < 0 || p == cur) break;
    const int av = avail[p * stride];
    if (av >= I[a.i_job_min + j * P + p]) {
      alt = p;
      alt_n = sg_i32min(I[a.i_job_tgt + j * P + p], av);
      break;
    }
  }
  if (alt < 0 && !resize) {
    const int gn = sg_i32min(I[a.i_job_tgt + j * P + cur], avail[cur * stride]);
    if (gn <= held) return -1;
    alt = cur;
    alt_n = gn;
  }
  if (alt < 0) return -1;
  const int V = a.V;
  const double m = sf[a.r_mfum + j];
  const double r_stay = ((((double)got * (double)I[a.i_pool_gpn + cur]) * F[a.f_peak + cur])
                         * F[a.f_job_mfu + j * P + cur]) * m;
  const double window = sg_min((F[a.f_job_flops + j] - sf[a.r_total + j * V + v]) / r_stay,
                               sg_job_mtbf(a, cur, (double)got, t));
  const double agpus = (double)alt_n * (double)I[a.i_pool_gpn + alt];
  const double gain =
      window * (1.0 - (r_stay / (((agpus * F[a.f_peak + alt]) * F[a.f_job_mfu + j * P + alt]) * m)));
  if (!(gain > 0.0)) return -1;  // the cost below is >= 0
  const double cost = sg_max(sg_restart_hours(F[a.f_job_restart + j], F[a.f_job_s16k + j],
                                              F[a.f_job_rexp + j], agpus)
                             - sf[a.r_rleft + j * V + v], 0.0);
  return gain > cost ? alt : -1;
}

// The hits of one job in one step, in time order: the events of its pool whose nodes meet
// the job's range (numpy_engine: node failures by position, outages by _overlap), merged
// with the job's own interruptions (numpy_engine.job_events: fabric hangs and planned
// maintenance, one Poisson process of both, drawn one event after the other; pool events
// first at equal times). Each hit brings the detection time of its cause (added to the
// restart that follows it); planned ones are graceful.
struct SgPoolHits {
  const SgEv* ev;
  const int* order;
  const double* detect;  // this pool's detection hours by cause
  int i, end;
  long long off, n, healthy;
  double dt;
  int cur_cause;
  long long* int_cause;  // this job's interruptions by cause (stride: variants)
  int stride;
  // the job's own interruptions: next time (inf: none left), the total rate and the
  // fabric's share of it, the draws so far (negative when the next event is a fabric
  // one), the launch's parameters (the seed; the two causes, read at use) and the keys
  double tj, rj, fab_share;
  int kj;
  const SgArgs* args;
  sg_u32 rep, step, jx;

  // The next job event after tj (inf past the step or after the last draw).
  SG_METHOD void draw() {
    const int k = kj < 0 ? -kj : kj;
    if (k >= SG_JOB_EVENT_MAX) {
      tj = SG_INF;
      return;
    }
    sg_u32 w[4];
    sg_bits(args->seed, rep, STREAM_JOB_EVENT, step, jx, (sg_u32)k, w);
    const double tn = tj + ((-sg_log(sg_u01(w[0], w[1]))) / rj);
    kj = sg_u01(w[2], w[3]) < fab_share ? -(k + 1) : k + 1;
    tj = tn < dt ? tn : SG_INF;
  }
  SG_METHOD bool job_event(double* time, double* extra, bool* graceful) {
    const bool fab = kj < 0;
    cur_cause = args->I[args->i_job_causes + (fab ? 0 : 1)];
    *time = tj;
    *extra = detect[cur_cause];
    *graceful = !fab;
    draw();
    return true;
  }
  SG_METHOD bool next(double* time, double* extra, bool* graceful) {
    *graceful = false;
    while (i < end) {
      const SgEv& e = ev[order[i++]];
      if (sg_overlap(off, n, e.pos, e.size, healthy)) {
        const double te = sg_phase((sg_u32)(e.key >> 32)) * dt;
        if (tj < te) {  // the job's own event comes first: read this one again next time
          --i;
          return job_event(time, extra, graceful);
        }
        cur_cause = e.cause;
        *time = te;
        *extra = detect[e.cause];
        return true;
      }
    }
    if (isinf(tj)) return false;
    return job_event(time, extra, graceful);
  }
  SG_METHOD void interrupted() { int_cause[cur_cause * stride] += 1; }
};

// Hits from a row of an inf-padded, sorted array (the sg_advance parity kernel).
struct SgArrayHits {
  const double* row;
  const double* extra;  // hours added to the restart after each hit
  const long long* graceful;  // 1 where the hit checkpoints first
  long long M, i, last;
  long long* flags;  // 1 where the hit interrupted the job
  SG_METHOD bool next(double* time, double* ex, bool* gr) {
    if (i >= M || !isfinite(row[i])) return false;
    last = i;
    *ex = extra[i];
    *gr = graceful[i] != 0;
    *time = row[i++];
    return true;
  }
  SG_METHOD void interrupted() { flags[last] = 1; }
};

SG_KERNEL void sg_advance(long long n, double dt, const double* rate, const double* flops,
                          const double* total, const double* unc, const double* since,
                          const double* rleft, const double* restart, const double* tau,
                          const double* cyc, const double* hits, const double* extra,
                          const long long* graceful, long long M, double* out_total,
                          double* out_unc, double* out_since, double* out_rleft,
                          double* out_gained, double* out_lost, long long* out_interruptions,
                          long long* out_flags, double* out_fin) {
  SG_FOR_EACH_THREAD(i, n) {
    SgStep st;
    st.total = total[i]; st.unc = unc[i]; st.since = since[i]; st.rleft = rleft[i];
    SgArrayHits h;
    h.row = hits + i * M; h.extra = extra + i * M; h.graceful = graceful + i * M; h.M = M; h.i = 0; h.last = 0; h.flags = out_flags + i * M;
    sg_advance_one(dt, rate[i], flops[i], restart[i], tau[i], cyc[i], &st, h);
    out_total[i] = st.total; out_unc[i] = st.unc; out_since[i] = st.since;
    out_rleft[i] = st.rleft; out_gained[i] = st.gained; out_lost[i] = st.lost;
    out_interruptions[i] = st.interruptions; out_fin[i] = st.fin_off;
  }
}

// One replica's pointers for a launch.
struct SgRep {
  sg_u32 rep;    // global replica id (the generator's key)
  int* si;       // record: int32 state
  long long* sc; // record: int64 counters
  double* sf;    // record: double state and sums
  int* ring;     // repair ring, (2P, G)
  int* ph;       // physical scratch (SG_PH_*)
  double* lam;   // Poisson means of the last step per count cell, and exp(-mean)
  int* ln;       // this lane's variant scratch (SG_LN_*), stride SG_WARP
  SgEv* ev;      // the step's events, grouped by pool
  int* order;    // per pool group: event indices in time order
  int* offs;     // (J, V): each job's first node in its pool's layout, this step
  float* daily;  // per-day series of this replica, or null
};

// Plan arrays and record fields, through locals (SG_PLAN and SG_USE declare them): a
// function reads each argument once, so stores through the record's int pointers cannot
// make the host compiler reload them (on the GPU they stay in the parameter space).
#define SG_USE(name) const int a_##name = a.name;
#define SG_PLAN                                  \
  const int* SG_RESTRICT a_I = a.I;             \
  const double* SG_RESTRICT a_F = a.F;
#define PI(name, i) a_I[a_##name + (i)]
#define PF(name, i) a_F[a_##name + (i)]
#define VI(name, i) si[a_##name + (i) * V + v]
#define VC(name, i) sc[a_##name + (i) * V + v]
#define VF(name, i) sf[a_##name + (i) * V + v]
#define LN(name, i) ln[(SG_LN_##name(P, A, L) + (i)) * SG_WARP]
#define PH(name, i) ph[SG_PH_##name(P, D) + (i)]

// Sorts the events of pool group [b, e) by key into order[b, e) (the key is unique).
SG_DEV void sg_sort_group(const SgEv* SG_HOST_RESTRICT ev, int* SG_HOST_RESTRICT order, int b, int e) {
#if SG_GPU || defined(SG_RANK_SORT)
  SG_LANES(k, e - b) {  // rank sort: lane k places event b + k
    const sg_u64 key = ev[b + k].key;
    int rank = 0;
    for (int m = b; m < e; ++m) rank += ev[m].key < key ? 1 : 0;
    order[b + rank] = b + k;
  }
#else
  int* o = order + b;
  for (int k = 0; k < e - b; ++k) o[k] = b + k;
  if (e - b <= 24) {  // insertion sort
    for (int k = 1; k < e - b; ++k) {
      const int x = o[k];
      const sg_u64 key = ev[x].key;
      int m = k;
      for (; m > 0 && ev[o[m - 1]].key > key; --m) o[m] = o[m - 1];
      o[m] = x;
    }
  } else {
    std::sort(o, o + (e - b), [ev](int x, int y) { return ev[x].key < ev[y].key; });
  }
#endif
}

// The physical process of one replica in step t (numpy_engine.simulate, steps 1 and 4
// without the jobs): repairs, healthy nodes, failure counts, the events with their draws
// and repair times, the outages' effect on the ring, and the events' order per pool.
// Returns false when the step has more events than the workspace holds (the host then
// runs the batch again with a larger one).
SG_DEV bool sg_physical_step(const SgArgs& a, SgRep& c, int t) {
  const int P = a.P, D = a.D, G = a.G, T = a.T, NC = a.NC;
  const double dt = a.dt;
  const sg_u64 seed = a.seed;
  const int slot = t % G;
  SG_PLAN
  SG_USE(i_online_n) SG_USE(i_online_l) SG_USE(i_pool_gpn) SG_USE(i_dom_pool)
  SG_USE(i_repair_kind) SG_USE(i_dom_kind) SG_USE(i_dom_nodes) SG_USE(i_dom_cause)
  SG_USE(f_fail_n) SG_USE(f_fail_l) SG_USE(f_dom_lam) SG_USE(f_cause_cum) SG_USE(f_repair_p1)
  SG_USE(f_repair_p2) SG_USE(f_repair_max) SG_USE(f_dom_p1) SG_USE(f_dom_p2) SG_USE(f_dom_max)
  const int r_down = a.r_down, r_fails = a.r_fails, r_failscause = a.r_failscause;
  const int r_onlinegh = a.r_onlinegh, r_healthygh = a.r_healthygh, r_outages = a.r_outages;
  int* SG_HOST_RESTRICT si = c.si;
  long long* SG_HOST_RESTRICT sc = c.sc;
  double* SG_HOST_RESTRICT sf = c.sf;
  int* SG_HOST_RESTRICT ph = c.ph;
  int* SG_HOST_RESTRICT ring = c.ring;
  SgEv* SG_HOST_RESTRICT evs = c.ev;
  // ---- 1. capacity and repairs
  SG_LANES(q, 2 * P) {
    int* rp = ring + q * G + slot;
    si[r_down + q] -= *rp;
    *rp = 0;
  }
  SG_SYNCWARP();
  SG_LANES(p, P) {
    const int on_n = PI(i_online_n, p * T + t), on_l = PI(i_online_l, p * T + t);
    const int hn = sg_i32max(on_n - si[r_down + 2 * p], 0);
    const int hl = sg_i32max(on_l - si[r_down + 2 * p + 1], 0);
    PH(HN, p) = hn;
    PH(HL, p) = hl;
    PH(H, p) = hn + hl;
    PH(ON, p) = on_n + on_l;
    const double gpn = (double)PI(i_pool_gpn, p);
    sf[r_onlinegh + p] += ((double)(on_n + on_l) * gpn) * dt;
    sf[r_healthygh + p] += ((double)(hn + hl) * gpn) * dt;
  }
  SG_SYNCWARP();
  // ---- 4a. failure counts: nodes by class per pool, outages per domain kind
  SG_LANES(q, 2 * P + D) {
    const double lam = q < P       ? (PF(f_fail_n, q * T + t) * (double)PH(HN, q)) * dt
                       : q < 2 * P ? (PF(f_fail_l, (q - P) * T + t) * (double)PH(HL, q - P)) * dt
                                   : PF(f_dom_lam, (q - 2 * P) * T + t);
    long long k;
    if (lam < POISSON_PTRS_MIN_LAM) {
      if (!(c.lam[2 * q] == lam)) {  // exp(-lam) kept while the mean does not change
        c.lam[2 * q] = lam;
        c.lam[2 * q + 1] = lam > 0.0 ? sg_exp(-lam) : 1.0;
      }
      const double u = sg_uniform(seed, c.rep, STREAM_COUNT, (sg_u32)t, (sg_u32)q, 0u, 0);
      k = sg_poisson_small_p0(u, lam, c.lam[2 * q + 1]);
    } else {
      k = sg_poisson(seed, c.rep, STREAM_COUNT, (sg_u32)t, (sg_u32)q, lam);
    }
    // kn = min(count, hn), kl = min(count, hl) as NumPy; an outage count is only clamped
    // where it overflows the workspace anyway
    const long long cap = q < P ? PH(HN, q) : q < 2 * P ? PH(HL, q - P) : SG_EV_BIG;
    PH(CNT, q) = (int)sg_imin(k, cap);
  }
  SG_SYNCWARP();
  SG_ONE_LANE {
    long long nf = 0, od = 0, ev = 0;
    for (int p = 0; p < P; ++p) {
      const int kn = PH(CNT, p), kl = PH(CNT, P + p);
      PH(KN, p) = kn;
      PH(KL, p) = kl;
      PH(HNL, p) = PH(HN, p) - kn;
      PH(HLL, p) = PH(HL, p) - kl;
      sc[r_fails + p] += kn + kl;
      si[r_down + 2 * p] += kn;
      si[r_down + 2 * p + 1] += kl;
      PH(NF, p) = (int)sg_imin(nf, SG_EV_BIG);
      nf += kn + kl;
    }
    PH(NF, P) = (int)sg_imin(nf, SG_EV_BIG);
    for (int d = 0; d < D; ++d) {
      PH(KD, d) = PH(H, PI(i_dom_pool, d)) > 0 ? PH(CNT, 2 * P + d) : 0;
      PH(OD, d) = (int)sg_imin(od, SG_EV_BIG);
      od += PH(KD, d);
    }
    PH(OD, D) = (int)sg_imin(od, SG_EV_BIG);
    // pool groups: the pool's node failures (m order), then its outages (domain, index)
    for (int p = 0; p < P; ++p) {
      PH(EVS, p) = (int)sg_imin(ev, SG_EV_BIG);
      long long n = PH(KN, p) + PH(KL, p);
      for (int d = 0; d < D; ++d) {
        if (PI(i_dom_pool, d) != p) continue;
        PH(ODS, d) = (int)sg_imin(n, SG_EV_BIG);
        n += PH(KD, d);
      }
      ev += n;
    }
    PH(EVS, P) = (int)sg_imin(ev, SG_EV_BIG);
  }
  SG_SYNCWARP();
  if (PH(EVS, P) > a.CAP) return false;  // the same on every lane
  // ---- 4b. node failures: draws, cause, repair time, return slot
  const int n_nf = PH(NF, P);
  SG_LANES(e, n_nf) {
    int p = 0;
    while (PH(NF, p + 1) <= e) ++p;
    const int m = e - PH(NF, p);
    const sg_u32 idx = (sg_u32)(m * P + p);
    const int Hp = PH(H, p);
    const SgDraw dr = sg_event(seed, c.rep, STREAM_FAIL_EVENT, (sg_u32)t, idx, Hp);
    const int cz = sg_event_cause(seed, c.rep, (sg_u32)t, idx, a_F + a_f_cause_cum + p * NC, NC);
    SG_ATOMIC_ADD64(sc + r_failscause + p * NC + cz, 1);
    const int q = p * NC + cz;
    const double d = sg_duration(PI(i_repair_kind, q), PF(f_repair_p1, q), PF(f_repair_p2, q),
                                 PF(f_repair_max, q), dr.u);
    const int back = sg_back_steps(sg_phase(dr.r3), d, dt);
    const int cls = m >= PH(KN, p) ? 1 : 0;
    SG_ATOMIC_ADD(ring + (p * 2 + cls) * G + (t + back) % G, 1);
    SgEv& o = evs[PH(EVS, p) + m];
    o.key = ((sg_u64)dr.r3 << 32) | (sg_u64)m;
    o.pos = (int)dr.pos;
    o.size = 1;
    o.cause = cz;
    o.back = back;
  }
  // ---- 4c. outages: draws and durations (their effect on the nodes comes in order below)
  const int n_od = PH(OD, D);
  SG_LANES(e, n_od) {
    int di = 0;
    while (PH(OD, di + 1) <= e) ++di;
    const int i = e - PH(OD, di);
    const int p = PI(i_dom_pool, di), Hp = PH(H, p);
    const SgDraw dr = sg_event(seed, c.rep, STREAM_DOM_EVENT, (sg_u32)t, (sg_u32)(i * D + di), Hp);
    const double d = sg_duration(PI(i_dom_kind, di), PF(f_dom_p1, di), PF(f_dom_p2, di),
                                 PF(f_dom_max, di), dr.u);
    const int dn = PI(i_dom_nodes, di);
    const int seq = PH(ODS, di) + i;
    SgEv& o = evs[PH(EVS, p) + seq];
    o.key = ((sg_u64)dr.r3 << 32) | (sg_u64)seq;
    o.pos = (int)dr.pos;
    o.size = dn == 0 ? Hp : sg_i32min(dn, Hp);
    o.cause = PI(i_dom_cause, di);
    o.back = sg_back_steps(sg_phase(dr.r3), d, dt);
  }
  SG_SYNCWARP();
  // numpy_engine._domain_outages: each outage takes nodes from those still healthy, in order
  SG_ONE_LANE {
    for (int di = 0; di < D; ++di) {
      const int p = PI(i_dom_pool, di);
      for (int i = 0; i < PH(KD, di); ++i) {
        const SgEv& o = evs[PH(EVS, p) + PH(ODS, di) + i];
        const int hnl = PH(HNL, p), hll = PH(HLL, p);
        const int left = hnl + hll;
        const int k = sg_i32min(o.size, left);
        const int k_l = sg_i32min(
            left > 0 ? (int)(((long long)k * hll + left / 2) / sg_i32max(left, 1)) : 0, hll);
        const int k_n = sg_i32min(k - k_l, hnl);
        PH(HNL, p) = hnl - k_n;
        PH(HLL, p) = hll - k_l;
        const int s_idx = (t + o.back) % G;
        ring[(p * 2) * G + s_idx] += k_n;
        ring[(p * 2 + 1) * G + s_idx] += k_l;
        si[r_down + 2 * p] += k_n;
        si[r_down + 2 * p + 1] += k_l;
        sc[r_outages + p] += 1;
      }
    }
  }
  // ---- the events of each pool in time order (ties in NumPy's concatenation order)
  for (int p = 0; p < P; ++p) sg_sort_group(evs, c.order, PH(EVS, p), PH(EVS, p + 1));
  SG_SYNCWARP();
  return true;
}

// numpy_engine._wait_records: each party's usable nodes that none of its jobs holds, in the
// pools where one of its waiting jobs may run, as GPU-hours.
SG_DEV void sg_wait_records(const SgArgs& a, const SgRep& c, int v) {
  const int V = a.V, J = a.J, P = a.P, A = a.A, L = a.L;
  const int* I = a.I;
  const int* si = c.si;
  double* sf = c.sf;
  const int* ln = c.ln;
  for (int a_ = 0; a_ < A; ++a_) {
    for (int p = 0; p < P; ++p) {
      bool w = false;
      int held = 0;
      for (int j = 0; j < J; ++j) {
        if (I[a.i_job_party + j] != a_) continue;
        if (si[a.r_waitj + j * V + v] && I[a.i_job_tgt + j * P + p] > 0) w = true;
        if (si[a.r_poolj + j * V + v] == p) held += si[a.r_nodes + j * V + v];
      }
      if (w) {
        sf[a.r_waitgh + (a_ * P + p) * V + v] +=
            ((double)(LN(CAPN, a_ * P + p) - held) * (double)I[a.i_pool_gpn + p]) * a.dt;
      }
    }
  }
}

// Variant v of one replica in step t (numpy_engine.simulate, steps 2 and 3): the
// contracts, the allocation in plan order and its records, the node layout, and the
// per-day series (the jobs' progress follows in sg_job_step).
SG_DEV void sg_variant_step(const SgArgs& a, SgRep& c, int v, int t) {
  const int V = a.V, J = a.J, P = a.P, A = a.A, L = a.L, D = a.D, T = a.T, K = a.K;
  const int NRANK0 = a.NRANK0;
  const double dt = a.dt;
  const double h = (double)t * dt;
  SG_PLAN
  SG_USE(i_pool_gpn) SG_USE(i_pool_owner) SG_USE(i_lease_pool) SG_USE(i_lease_tenant)
  SG_USE(i_lease_owner) SG_USE(i_lease_contract) SG_USE(i_lease_replaced) SG_USE(i_lease_lf)
  SG_USE(i_job_party) SG_USE(i_job_pref) SG_USE(i_job_tgt) SG_USE(i_job_min)
  SG_USE(i_dep_start) SG_USE(i_dep_list) SG_USE(i_job_auto) SG_USE(i_dom_pool)
  SG_USE(i_dom_nodes) SG_USE(i_dom_units) SG_USE(i_step_day)
  SG_USE(f_lease_frac) SG_USE(f_job_earliest) SG_USE(f_job_restart) SG_USE(f_node_rate)
  SG_USE(f_dom_rate) SG_USE(f_job_write) SG_USE(f_day_w) SG_USE(f_job_s16k) SG_USE(f_job_rexp)
  SG_USE(r_rst)
  SG_USE(r_poolj) SG_USE(r_nodes) SG_USE(r_hitlast) SG_USE(r_npre) SG_USE(r_rleft)
  SG_USE(r_unc) SG_USE(r_since) SG_USE(r_start) SG_USE(r_fin) SG_USE(r_tau) SG_USE(r_capgh)
  SG_USE(r_delivgh) SG_USE(r_nmig) SG_USE(i_job_migrate) SG_USE(r_waitj)
  int* SG_HOST_RESTRICT si = c.si;
  long long* SG_HOST_RESTRICT sc = c.sc;
  double* SG_HOST_RESTRICT sf = c.sf;
  int* SG_HOST_RESTRICT ln = c.ln;
  const int* SG_HOST_RESTRICT ph = c.ph;
  // ---- 2. contracts
  for (int p = 0; p < P; ++p) LN(REM, p) = PH(H, p);
  for (int li = 0; li < L; ++li) {
    const int p = PI(i_lease_pool, li), on_p = PH(ON, p);
    LN(ENT, li) = 0;
    if (on_p <= 0) continue;
    const int vl = v * L + li;
    const long long contracted = PI(i_lease_contract, vl * T + t);  // this variant's contract
    const long long Hp = PH(H, p);
    const long long deliv_r = PI(i_lease_replaced, li) ? sg_imin(contracted, Hp)
                                                        : (contracted * Hp) / on_p;
    long long e = (long long)floor(((double)deliv_r * PF(f_lease_frac, vl * T + t)) + 1e-9);
    e = sg_imin(e, LN(REM, p));
    LN(REM, p) -= (int)e;
    LN(ENT, li) = (int)e;
  }
  for (int i = 0; i < A * P; ++i) LN(AVAIL, i) = 0;
  for (int p = 0; p < P; ++p) LN(AVAIL, PI(i_pool_owner, p) * P + p) += LN(REM, p);
  for (int li = 0; li < L; ++li) LN(AVAIL, PI(i_lease_tenant, li) * P + PI(i_lease_pool, li)) += LN(ENT, li);
  for (int i = 0; i < A * P; ++i) LN(CAPN, i) = LN(AVAIL, i);
  bool any_lf = false;  // no landlord-first entitlement: every take below would be 0
  for (int li = 0; li < L; ++li) {
    const int lfe = PI(i_lease_lf, (v * L + li) * T + t) ? LN(ENT, li) : 0;
    any_lf = any_lf || lfe > 0;
    LN(LFE, li) = lfe;
    LN(AVAIL, PI(i_lease_owner, li) * P + PI(i_lease_pool, li)) += lfe;
    LN(DLV, li) = LN(ENT, li);
  }
  for (int p = 0; p < P; ++p) LN(OWN, p) = LN(AVAIL, PI(i_pool_owner, p) * P + p);

  // ---- 3. allocation, jobs in plan order
  bool any_wait = false;
  for (int j = 0; j <= J; ++j) {
    if (j == NRANK0 && any_lf) {  // numpy_engine._landlord_first_take
      for (int p = 0; p < P; ++p) {
        const int ow = PI(i_pool_owner, p);
        int over = sg_i32max(LN(OWN, p) - LN(AVAIL, ow * P + p) - LN(REM, p), 0);
        for (int li = 0; li < L; ++li) {
          if (PI(i_lease_pool, li) != p) continue;
          const int take = sg_i32min(over, LN(LFE, li));
          const int tn = PI(i_lease_tenant, li);
          LN(AVAIL, tn * P + p) -= take;
          LN(CAPN, tn * P + p) -= take;
          LN(CAPN, ow * P + p) += take;
          LN(DLV, li) -= take;
          over -= take;
        }
      }
    }
    if (j == J) break;
    const int avb = PI(i_job_party, j) * P;  // this job's party's row of avail
    bool run = isinf(VF(r_fin, j)) && (h >= PF(f_job_earliest, j));
    for (int k = PI(i_dep_start, j); k < PI(i_dep_start, j + 1); ++k) {
      if (!(VF(r_fin, PI(i_dep_list, k)) <= h)) run = false;
    }
    const int cur = VI(r_poolj, j), held = VI(r_nodes, j);
    VI(r_waitj, j) = 0;
    if (!run && cur < 0) continue;  // waiting or finished, holding nothing: nothing changes
    const bool resize = (VF(r_rleft, j) > 0.0) || (held == 0) || (VI(r_hitlast, j) != 0);
    const int curc = sg_i32max(cur, 0);
    const int want = resize ? PI(i_job_tgt, j * P + curc) : held;
    const int got = sg_i32min(want, LN(AVAIL, avb + curc));
    const bool stay = run && (cur >= 0) && (got >= PI(i_job_min, j * P + curc)) && (got > 0);
    int new_pool = stay ? cur : -1;
    int new_n = stay ? got : 0;
    bool need = run && !stay;
    for (int k = 0; k < K && need; ++k) {
      const int p = PI(i_job_pref, j * K + k);
      if (p < 0) break;
      if (LN(AVAIL, avb + p) >= PI(i_job_min, j * P + p)) {
        new_pool = p;
        new_n = sg_i32min(PI(i_job_tgt, j * P + p), LN(AVAIL, avb + p));
        need = false;
      }
    }
    const int alt = (stay && PI(i_job_migrate, j))
        ? sg_migrate(a, &LN(AVAIL, avb), SG_WARP, j, cur, got, held, resize, sf, v, t) : -1;
    const bool mig = alt >= 0;
    if (mig) {  // min(target, available) nodes of the alternative
      new_pool = alt;
      new_n = sg_i32min(PI(i_job_tgt, j * P + alt), LN(AVAIL, avb + alt));
    }
    LN(AVAIL, avb + sg_i32max(new_pool, 0)) -= new_n;
    const bool was = cur >= 0;
    const bool moved = new_pool != cur;
    const bool shrink = (new_pool == cur) && (new_n < held) && !resize;
    const bool stop = was && (moved || shrink) && run;
    if (stop || mig) {  // a stop forced by capacity, or a migration, checkpoints first
      VF(r_unc, j) = 0.0;
      VF(r_since, j) = 0.0;
      if (mig) {
        VC(r_nmig, j) += 1;
      } else {
        VC(r_npre, j) += 1;
      }
    }
    const bool restart = (new_pool >= 0) && (moved || shrink || mig);
    if (new_pool >= 0 && (moved || new_n != held)) {  // the restart time on this allocation
      VF(r_rst, j) = sg_restart_hours(PF(f_job_restart, j), PF(f_job_s16k, j), PF(f_job_rexp, j),
                                      (double)new_n * (double)PI(i_pool_gpn, new_pool));
    }
    if (restart) {
      VF(r_rleft, j) = VF(r_rst, j);
    } else if (new_pool < 0) {
      VF(r_rleft, j) = 0.0;
    }
    if (PI(i_job_auto, j) && new_pool >= 0 && (new_pool != cur || new_n != held)) {
      // Plan.job_mtbf_hours, then the Daly interval for the new allocation
      VF(r_tau, j) = sg_daly(PF(f_job_write, j), sg_job_mtbf(a, new_pool, (double)new_n, t));
    }
    VI(r_poolj, j) = new_pool;
    VI(r_nodes, j) = new_n;
    if (run && new_pool < 0) {  // runnable, but its gang fits nowhere
      VI(r_waitj, j) = 1;
      any_wait = true;
    }
    if (isinf(VF(r_start, j)) && new_n > 0) VF(r_start, j) = h;
  }
  for (int a_ = 0; a_ < A; ++a_) {
    for (int p = 0; p < P; ++p) {
      VF(r_capgh, a_ * P + p) += ((double)LN(CAPN, a_ * P + p) * (double)PI(i_pool_gpn, p)) * dt;
    }
  }
  for (int li = 0; li < L; ++li) {
    VF(r_delivgh, li) += ((double)LN(DLV, li) * (double)PI(i_pool_gpn, PI(i_lease_pool, li))) * dt;
  }
  if (any_wait) sg_wait_records(a, c, v);
  // node layout: in each pool, jobs hold contiguous ranges in plan order
  for (int p = 0; p < P; ++p) LN(ACC, p) = 0;
  for (int j = 0; j < J; ++j) {
    const int pj = VI(r_poolj, j);
    if (pj < 0) continue;
    c.offs[j * V + v] = LN(ACC, pj);
    LN(ACC, pj) += VI(r_nodes, j);
  }
  if (c.daily) {
    const int day = PI(i_step_day, t);
    const double w = PF(f_day_w, t);
    for (int a_ = 0; a_ < A; ++a_) {
      for (int a2 = 0; a2 < A; ++a2) {
        double s = 0.0;
        for (int p = 0; p < P; ++p) {
          if (PI(i_pool_owner, p) == a2) s += (double)LN(CAPN, a_ * P + p) * (double)PI(i_pool_gpn, p);
        }
        c.daily[((day * A + a_) * A + a2) * V + v] += (float)(s * w);
      }
    }
  }
}

// Job j of variant v in step t (numpy_engine.simulate, steps 5 and 6): its progress
// through its hits, and its records. Jobs are independent here, so on the GPU the lanes
// take (job, variant) pairs, consecutive lanes consecutive variants of one job.
SG_DEV void sg_job_step(const SgArgs& a, SgRep& c, int v, int j, int t) {
  const int V = a.V, P = a.P, D = a.D, NCT = a.NCT;
  const double dt = a.dt;
  const double h = (double)t * dt;
  SG_PLAN
  SG_USE(i_pool_gpn) SG_USE(f_peak) SG_USE(f_job_mfu) SG_USE(f_job_flops) SG_USE(f_cause_detect)
  SG_USE(f_job_write) SG_USE(r_rst) SG_USE(f_fabric_rate) SG_USE(f_planned_rate)
  SG_USE(i_job_causes) SG_USE(r_mfum) SG_USE(r_restartgh)
  SG_USE(r_poolj) SG_USE(r_nodes) SG_USE(r_hitlast) SG_USE(r_nint) SG_USE(r_intcause)
  SG_USE(r_rleft) SG_USE(r_total) SG_USE(r_unc) SG_USE(r_since) SG_USE(r_fin) SG_USE(r_tau)
  SG_USE(r_lostf) SG_USE(r_lostgh) SG_USE(r_usefulgh) SG_USE(r_flopspool) SG_USE(r_allocpool)
  int* SG_HOST_RESTRICT si = c.si;
  long long* SG_HOST_RESTRICT sc = c.sc;
  double* SG_HOST_RESTRICT sf = c.sf;
  const int* SG_HOST_RESTRICT ph = c.ph;
  const SgEv* SG_HOST_RESTRICT evs = c.ev;
  const int* SG_HOST_RESTRICT order = c.order;
  const int nodes = VI(r_nodes, j);
  if (nodes <= 0) {
    VI(r_hitlast, j) = 0;
    return;
  }
  const int p = VI(r_poolj, j);
  const double gpus = (double)nodes * (double)PI(i_pool_gpn, p);
  const double rate = ((gpus * PF(f_peak, p)) * PF(f_job_mfu, j * P + p)) * sf[a_r_mfum + j];
  SgPoolHits hits;
  hits.ev = evs; hits.order = order; hits.i = PH(EVS, p); hits.end = PH(EVS, p + 1);
  hits.detect = a_F + a_f_cause_detect + p * NCT;
  hits.off = c.offs[j * V + v]; hits.n = nodes; hits.healthy = PH(H, p); hits.dt = dt;
  hits.cur_cause = 0; hits.int_cause = &VC(r_intcause, j * NCT); hits.stride = V;
  hits.args = &a; hits.rep = c.rep; hits.step = (sg_u32)t; hits.jx = (sg_u32)j;
  const double rf = nodes > 1 ? PF(f_fabric_rate, p) * (double)nodes : 0.0;
  hits.rj = rf + (PF(f_planned_rate, p) * (double)nodes);
  hits.fab_share = hits.rj > 0.0 ? rf / hits.rj : 0.0;
  hits.kj = 0; hits.tj = 0.0;
  if (hits.rj > 0.0) {
    hits.draw();
  } else {
    hits.tj = SG_INF;
  }
  SgStep st;
  st.total = VF(r_total, j); st.unc = VF(r_unc, j); st.since = VF(r_since, j);
  st.rleft = VF(r_rleft, j);
  const double tau = VF(r_tau, j);
  sg_advance_one(dt, rate, PF(f_job_flops, j), VF(r_rst, j), tau,
                 tau + PF(f_job_write, j), &st, hits);
  VF(r_total, j) = st.total; VF(r_unc, j) = st.unc; VF(r_since, j) = st.since;
  VF(r_rleft, j) = st.rleft;
  VC(r_nint, j) += st.interruptions;
  VI(r_hitlast, j) = st.interruptions > 0 ? 1 : 0;
  const double safe_rate = rate > 0.0 ? rate : 1.0;
  VF(r_lostf, j) += st.lost;
  VF(r_lostgh, j * P + p) += (st.lost / safe_rate) * gpus;
  VF(r_usefulgh, j * P + p) += (st.gained / safe_rate) * gpus;
  VF(r_restartgh, j * P + p) += st.restarted * gpus;
  VF(r_flopspool, j * P + p) += st.gained;
  const bool finished = isfinite(st.fin_off);
  if (finished) VF(r_fin, j) = h + st.fin_off;
  VF(r_allocpool, j * P + p) += gpus * (finished ? st.fin_off : dt);
}

// Steps [t0, t1) of replica r, its workspace at ws.
SG_DEV void sg_replica_run(const SgArgs& a, int r, unsigned char* ws) {
  SgRep c;
  c.rep = (sg_u32)a.REPOFF + (sg_u32)r;
  int* gsi = a.SI + (long long)r * a.NSI;
  long long* gsc = a.SC + (long long)r * a.NSC;
  double* gsf = a.SF + (long long)r * a.NSF;
  if (a.STAGE) {  // the record in the workspace for the launch
    c.sf = (double*)(ws + a.w_sf);
    c.sc = (long long*)(ws + a.w_sc);
    c.si = (int*)(ws + a.w_si);
    SG_LANES(i, a.NSF) c.sf[i] = gsf[i];
    SG_LANES(i, a.NSC) c.sc[i] = gsc[i];
    SG_LANES(i, a.NSI) c.si[i] = gsi[i];
  } else {
    c.sf = gsf;
    c.sc = gsc;
    c.si = gsi;
  }
  c.ring = a.RING + (long long)r * (2 * a.P * a.G);
  c.ph = (int*)(ws + a.w_ph);
  c.lam = (double*)(ws + a.w_phd);
  c.ln = (int*)(ws + a.w_lane) + SG_LANE_ID;
  c.ev = (SgEv*)(ws + a.w_ev);
  c.order = (int*)(ws + a.w_order);
  c.offs = (int*)(ws + a.w_offs);
  c.daily = a.DAILY_ON ? a.DAILY + (long long)r * ((long long)a.NDAYS * a.A * a.A * a.V) : 0;
  SG_LANES(q, 2 * a.P + a.D) c.lam[2 * q] = -1.0;  // no mean cached yet
  SG_SYNCWARP();
  if (a.FLAG[r] == 0) {  // not already failed on an event overflow
    for (int t = a.t0; t < a.t1; ++t) {
      if (!sg_physical_step(a, c, t)) {
        SG_ONE_LANE { a.FLAG[r] = c.ph[SG_PH_EVS(a.P, a.D) + a.P]; }  // the events needed
        break;
      }
      for (int v = SG_LANE_ID; v < a.V; v += SG_WARP) sg_variant_step(a, c, v, t);
      SG_SYNCWARP();
      SG_LANES(k, a.V * a.J) sg_job_step(a, c, k % a.V, k / a.V, t);
      SG_SYNCWARP();
    }
  }
  if (a.STAGE) {
    SG_SYNCWARP();
    SG_LANES(i, a.NSF) gsf[i] = c.sf[i];
    SG_LANES(i, a.NSC) gsc[i] = c.sc[i];
    SG_LANES(i, a.NSI) gsi[i] = c.si[i];
  }
}

// The step loop for replicas [r0, r1) over steps [t0, t1). GPU: one warp per replica,
// SG_ENGINE_THREADS / 32 replicas per block, the workspaces in dynamic shared memory when
// WS_SHARED (else in WS). Host: one call runs its replicas in turn.
SG_KERNEL void SG_LAUNCH_BOUNDS(SG_ENGINE_THREADS, SG_ENGINE_MIN_BLOCKS)
    sg_engine_run(const SgArgs a) {
#if SG_GPU
  extern __shared__ __align__(16) unsigned char sg_smem[];
  const int warp = (int)(threadIdx.x >> 5);
  const int r = a.r0 + (int)blockIdx.x * (int)(blockDim.x >> 5) + warp;
  if (r >= a.r1) return;  // whole warps only
  unsigned char* ws = a.WS_SHARED ? sg_smem + (long long)warp * a.WS_BYTES
                                  : a.WS + (long long)r * a.WS_BYTES;
  sg_replica_run(a, r, ws);
#else
  for (int r = a.r0; r < a.r1; ++r) sg_replica_run(a, r, a.WS + (long long)r * a.WS_BYTES);
#endif
}
