// engine.cu -- the fused step loop of simgpu; twin of simgpu/engine/numpy_engine.py.
//
// Thread mapping: one thread per history b = v * R + r (variant-major, as in NumPy). A
// thread runs steps [t0, t1) of its history without leaving the kernel: the host launches
// the kernel a few times per run (for progress reports) and never synchronises per step.
// The physical process of a replica (capacity, failures, repairs, outages) depends only
// on the replica's random numbers, so every variant's thread recomputes it identically;
// the per-replica records are read from the threads of variant 0.
//
// Memory: state lives in two global blocks, SI (int64) and SF (double), with element
// (field i, history b) at off + i * B + b, so the threads of a warp touch consecutive
// words; per-step scratch (healthy nodes, entitlements, layout) lives in local arrays
// bounded by SG_MAXP/A/L/D/J (the CuPy engine compiles with the plan's exact sizes).
//
// Determinism: every random number is Philox4x32-10 keyed by (seed, replica, stream,
// step, index, sub), the same keys as the NumPy engine; every floating-point expression
// mirrors numpy_engine.py and progress.py operation for operation with FMA contraction
// off. Integer results (counts, steps, allocations) are therefore identical to NumPy's and
// floating results identical or within rounding of the summation order of a reduction.
// Failure hits are not stored: the hits of a job are recomputed from the generator in
// time order (ties broken by NumPy's concatenation order), so no step needs a buffer
// sized by its number of failures.
#include "compat.cuh"
#include "philox.cuh"
#include "distributions.cuh"
#include "progress.cuh"

#ifndef SG_MAXP
#define SG_MAXP 16
#endif
#ifndef SG_MAXA
#define SG_MAXA 8
#endif
#ifndef SG_MAXL
#define SG_MAXL 32
#endif
#ifndef SG_MAXD
#define SG_MAXD 32
#endif
#ifndef SG_MAXJ
#define SG_MAXJ 64
#endif

// Parameter block I (int64): dimensions, then offsets of the arrays in I, in F (double)
// and in the state blocks SI / SF. The order is simgpu.engine.cuda_engine.PARAMS; a test
// checks that the two lists agree.
enum {
  // dimensions
  I_B, I_R, I_V, I_J, I_P, I_A, I_L, I_D, I_NC, I_NCT, I_T, I_G, I_K, I_NDAYS, I_NRANK0,
  I_REPOFF, I_DAILY,
  // int64 arrays in I
  I_ONLINE_N, I_ONLINE_L, I_DOM_UNITS, I_POOL_OWNER, I_POOL_GPN, I_REPAIR_KIND, I_DOM_POOL,
  I_DOM_CAUSE, I_DOM_NODES, I_DOM_KIND, I_LEASE_POOL, I_LEASE_TENANT, I_LEASE_OWNER,
  I_LEASE_GPUS, I_LEASE_REPLACED, I_LEASE_LF, I_JOB_PARTY, I_JOB_PREF, I_JOB_TGT, I_JOB_MIN,
  I_JOB_DEPS, I_JOB_AUTO, I_STEP_DAY,
  // float64 arrays in F
  F_FAIL_N, F_FAIL_L, F_CAUSE_CUM, F_REPAIR_P1, F_REPAIR_P2, F_REPAIR_MAX, F_DOM_RATE,
  F_DOM_P1, F_DOM_P2, F_DOM_MAX, F_LEASE_SHARE, F_LEASE_FRAC, F_PEAK, F_JOB_FLOPS, F_JOB_MFU,
  F_JOB_EARLIEST, F_JOB_WRITE, F_JOB_RESTART, F_NODE_RATE, F_DAY_W,
  // int64 state SI
  S_RING, S_DOWN, S_POOLJ, S_NODES, S_HITLAST, S_NINT, S_INTCAUSE, S_NPRE, S_FAILS,
  S_FAILSCAUSE, S_OUTAGES,
  // float64 state SF
  S_RLEFT, S_TOTAL, S_UNC, S_SINCE, S_START, S_FIN, S_TAU, S_LOSTF, S_LOSTGH, S_USEFULGH,
  S_FLOPSPOOL, S_ALLOCPOOL, S_CAPGH, S_DELIVGH, S_ONLINEGH, S_HEALTHYGH,
  N_PARAMS
};

#define STREAM_COUNT 1u
#define STREAM_FAIL_EVENT 2u
#define STREAM_DOM_EVENT 3u
#define POISSON_PTRS_MIN_LAM 10.0
#define TAU_MIN_HOURS 1e-3
#define TAU_MAX_HOURS 1e6

// One failure event's draws (numpy_engine.event_draws, block sub = 0).
struct SgEvent {
  double u, phase;
  long long pos;
};

SG_DEV SgEvent sg_event(sg_u64 seed, sg_u32 rep, sg_u32 stream, sg_u32 t, sg_u32 index,
                        long long healthy) {
  sg_u32 w[4];
  sg_bits(seed, rep, stream, t, index, 0u, w);
  SgEvent e;
  e.u = sg_u01(w[0], w[1]);
  e.pos = (long long)(((sg_u64)w[2] * (sg_u64)healthy) >> 32);
  e.phase = ((double)w[3] + 0.5) * 2.3283064365386963e-10;  // 2**-32
  return e;
}

// The cause of node failure `index` in pool p (block sub = 1): how many cumulative
// shares its uniform exceeds.
SG_DEV long long sg_event_cause(sg_u64 seed, sg_u32 rep, sg_u32 t, sg_u32 index,
                                const double* cause_cum, long long NC) {
  if (NC <= 1) return 0;
  sg_u32 w[4];
  sg_bits(seed, rep, STREAM_FAIL_EVENT, t, index, 1u, w);
  const double uc = sg_u01(w[0], w[1]);
  long long c = 0;
  for (long long i = 0; i < NC - 1; ++i) c += (uc > cause_cum[i]) ? 1 : 0;
  return c;
}

SG_DEV long long sg_back_steps(double phase, double d, double dt) {
  return (long long)sg_max(1.0, ceil((((phase * dt) + d) / dt) - 1e-9));
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

// The hits of one job in one step, recomputed in time order (see the header).
struct SgJobHits {
  sg_u64 seed;
  sg_u32 rep, t;
  long long p, P, D, NC, off, n, healthy, kall;
  const long long* kd;
  const long long* dom_pool;
  const long long* dom_nodes;
  const long long* dom_cause;
  const double* cause_cum;  // row of pool p
  double dt;
  double prev_time;
  sg_u64 prev_key;
  bool started;
  long long cur_cause;
  long long* int_cause;  // SI base of this job's causes (stride B)
  long long B;

  SG_METHOD bool better(double tm, sg_u64 key, double bt, sg_u64 bk) const {
    return tm < bt || (tm == bt && key < bk);
  }
  SG_METHOD bool after_prev(double tm, sg_u64 key) const {
    return !started || tm > prev_time || (tm == prev_time && key > prev_key);
  }

  SG_METHOD bool next(double* time) {
    double bt = SG_INF;
    sg_u64 bk = ~(sg_u64)0;
    bool found = false;
    for (long long m = 0; m < kall; ++m) {  // node failures of the pool
      const SgEvent e = sg_event(seed, rep, STREAM_FAIL_EVENT, t, (sg_u32)(m * P + p), healthy);
      if (!(off <= e.pos && e.pos < off + n)) continue;
      const double tm = e.phase * dt;
      const sg_u64 key = (sg_u64)m;
      if (after_prev(tm, key) && (!found || better(tm, key, bt, bk))) {
        bt = tm; bk = key; found = true;
      }
    }
    for (long long di = 0; di < D; ++di) {  // correlated outages of the pool's domains
      if (dom_pool[di] != p) continue;
      const long long size = dom_nodes[di] == 0 ? healthy : sg_imin(dom_nodes[di], healthy);
      for (long long i = 0; i < kd[di]; ++i) {
        const SgEvent e = sg_event(seed, rep, STREAM_DOM_EVENT, t, (sg_u32)(i * D + di), healthy);
        if (!sg_overlap(off, n, e.pos, size, healthy)) continue;
        const double tm = e.phase * dt;
        const sg_u64 key = ((sg_u64)(di + 1) << 32) | (sg_u64)i;
        if (after_prev(tm, key) && (!found || better(tm, key, bt, bk))) {
          bt = tm; bk = key; found = true;
        }
      }
    }
    if (!found) return false;
    started = true;
    prev_time = bt;
    prev_key = bk;
    if ((bk >> 32) == 0) {
      cur_cause = sg_event_cause(seed, rep, t, (sg_u32)(bk * (sg_u64)P + (sg_u64)p), cause_cum, NC);
    } else {
      cur_cause = dom_cause[(bk >> 32) - 1];
    }
    *time = bt;
    return true;
  }
  SG_METHOD void interrupted() { int_cause[cur_cause * B] += 1; }
};

// Hits from a row of an inf-padded, sorted array (the sg_advance parity kernel).
struct SgArrayHits {
  const double* row;
  long long M, i, last;
  long long* flags;  // 1 where the hit interrupted the job
  SG_METHOD bool next(double* time) {
    if (i >= M || !isfinite(row[i])) return false;
    last = i;
    *time = row[i++];
    return true;
  }
  SG_METHOD void interrupted() { flags[last] = 1; }
};

SG_KERNEL void sg_advance(long long n, double dt, const double* rate, const double* flops,
                          const double* total, const double* unc, const double* since,
                          const double* rleft, const double* restart, const double* tau,
                          const double* cyc, const double* hits, long long M, double* out_total,
                          double* out_unc, double* out_since, double* out_rleft,
                          double* out_gained, double* out_lost, long long* out_interruptions,
                          long long* out_flags, double* out_fin) {
  SG_FOR_EACH_THREAD(i, n) {
    SgStep st;
    st.total = total[i]; st.unc = unc[i]; st.since = since[i]; st.rleft = rleft[i];
    SgArrayHits h;
    h.row = hits + i * M; h.M = M; h.i = 0; h.last = 0; h.flags = out_flags + i * M;
    sg_advance_one(dt, rate[i], flops[i], restart[i], tau[i], cyc[i], &st, h);
    out_total[i] = st.total; out_unc[i] = st.unc; out_since[i] = st.since;
    out_rleft[i] = st.rleft; out_gained[i] = st.gained; out_lost[i] = st.lost;
    out_interruptions[i] = st.interruptions; out_fin[i] = st.fin_off;
  }
}

SG_KERNEL void sg_engine_run(long long n, const long long* SG_RESTRICT I,
                             const double* SG_RESTRICT F, long long* SG_RESTRICT SI,
                             double* SG_RESTRICT SF, float* SG_RESTRICT DAILY, sg_u64 seed, double dt, long long t0,
                             long long t1) {
  const long long B = I[I_B], R = I[I_R], J = I[I_J], P = I[I_P], A = I[I_A], L = I[I_L];
  const long long D = I[I_D], NC = I[I_NC], NCT = I[I_NCT], T = I[I_T], G = I[I_G];
  const long long K = I[I_K], NRANK0 = I[I_NRANK0];
  const long long* online_n = I + I[I_ONLINE_N];
  const long long* online_l = I + I[I_ONLINE_L];
  const long long* dom_units = I + I[I_DOM_UNITS];
  const long long* pool_owner = I + I[I_POOL_OWNER];
  const long long* pool_gpn = I + I[I_POOL_GPN];
  const long long* repair_kind = I + I[I_REPAIR_KIND];
  const long long* dom_pool = I + I[I_DOM_POOL];
  const long long* dom_cause = I + I[I_DOM_CAUSE];
  const long long* dom_nodes = I + I[I_DOM_NODES];
  const long long* dom_kind = I + I[I_DOM_KIND];
  const long long* lease_pool = I + I[I_LEASE_POOL];
  const long long* lease_tenant = I + I[I_LEASE_TENANT];
  const long long* lease_owner = I + I[I_LEASE_OWNER];
  const long long* lease_gpus = I + I[I_LEASE_GPUS];
  const long long* lease_replaced = I + I[I_LEASE_REPLACED];
  const long long* lease_lf = I + I[I_LEASE_LF];
  const long long* job_party = I + I[I_JOB_PARTY];
  const long long* job_pref = I + I[I_JOB_PREF];
  const long long* job_tgt = I + I[I_JOB_TGT];
  const long long* job_min = I + I[I_JOB_MIN];
  const long long* job_deps = I + I[I_JOB_DEPS];
  const long long* job_auto = I + I[I_JOB_AUTO];
  const long long* step_day = I + I[I_STEP_DAY];
  const double* fail_n = F + I[F_FAIL_N];
  const double* fail_l = F + I[F_FAIL_L];
  const double* cause_cum = F + I[F_CAUSE_CUM];
  const double* repair_p1 = F + I[F_REPAIR_P1];
  const double* repair_p2 = F + I[F_REPAIR_P2];
  const double* repair_max = F + I[F_REPAIR_MAX];
  const double* dom_rate = F + I[F_DOM_RATE];
  const double* dom_p1 = F + I[F_DOM_P1];
  const double* dom_p2 = F + I[F_DOM_P2];
  const double* dom_max = F + I[F_DOM_MAX];
  const double* lease_share = F + I[F_LEASE_SHARE];
  const double* lease_frac = F + I[F_LEASE_FRAC];
  const double* peak = F + I[F_PEAK];
  const double* job_flops = F + I[F_JOB_FLOPS];
  const double* job_mfu = F + I[F_JOB_MFU];
  const double* job_earliest = F + I[F_JOB_EARLIEST];
  const double* job_write = F + I[F_JOB_WRITE];
  const double* job_restart = F + I[F_JOB_RESTART];
  const double* node_rate = F + I[F_NODE_RATE];
  const double* day_w = F + I[F_DAY_W];  // dt / hours simulated in the step's day
  // state offsets, loaded once (SI/SF element (field, i, b) at o_field + i * B + b)
  const long long o_S_RING = I[S_RING];
  const long long o_S_DOWN = I[S_DOWN];
  const long long o_S_POOLJ = I[S_POOLJ];
  const long long o_S_NODES = I[S_NODES];
  const long long o_S_HITLAST = I[S_HITLAST];
  const long long o_S_NINT = I[S_NINT];
  const long long o_S_INTCAUSE = I[S_INTCAUSE];
  const long long o_S_NPRE = I[S_NPRE];
  const long long o_S_FAILS = I[S_FAILS];
  const long long o_S_FAILSCAUSE = I[S_FAILSCAUSE];
  const long long o_S_OUTAGES = I[S_OUTAGES];
  const long long o_S_RLEFT = I[S_RLEFT];
  const long long o_S_TOTAL = I[S_TOTAL];
  const long long o_S_UNC = I[S_UNC];
  const long long o_S_SINCE = I[S_SINCE];
  const long long o_S_START = I[S_START];
  const long long o_S_FIN = I[S_FIN];
  const long long o_S_TAU = I[S_TAU];
  const long long o_S_LOSTF = I[S_LOSTF];
  const long long o_S_LOSTGH = I[S_LOSTGH];
  const long long o_S_USEFULGH = I[S_USEFULGH];
  const long long o_S_FLOPSPOOL = I[S_FLOPSPOOL];
  const long long o_S_ALLOCPOOL = I[S_ALLOCPOOL];
  const long long o_S_CAPGH = I[S_CAPGH];
  const long long o_S_DELIVGH = I[S_DELIVGH];
  const long long o_S_ONLINEGH = I[S_ONLINEGH];
  const long long o_S_HEALTHYGH = I[S_HEALTHYGH];
  const bool daily = I[I_DAILY] != 0;

  SG_FOR_EACH_THREAD(b, n) {
    const long long v = b / R;
    const sg_u32 rep = (sg_u32)(I[I_REPOFF] + b % R);
    // state of this history: element i of field `off` is at off + i * B + b
#define SI_(f, i) SI[o_##f + (long long)(i) * B + b]
#define SF_(f, i) SF[o_##f + (long long)(i) * B + b]
    long long H[SG_MAXP], hn[SG_MAXP], hl[SG_MAXP], kn[SG_MAXP], kl[SG_MAXP];
    long long remaining[SG_MAXP], owner_start[SG_MAXP], online[SG_MAXP];
    long long avail[SG_MAXA * SG_MAXP], capn[SG_MAXA * SG_MAXP];
    long long ent[SG_MAXL], lf_ent[SG_MAXL], deliv[SG_MAXL], kd[SG_MAXD], offs[SG_MAXJ];

    for (long long t = t0; t < t1; ++t) {
      const double h = (double)t * dt;
      // ---- 1. capacity and repairs
      const long long slot = t % G;
      for (long long p = 0; p < P; ++p) {
        for (long long c = 0; c < 2; ++c) {
          const long long ri = (p * 2 + c) * G + slot;
          SI_(S_DOWN, p * 2 + c) -= SI_(S_RING, ri);
          SI_(S_RING, ri) = 0;
        }
        const long long on_n = online_n[p * T + t], on_l = online_l[p * T + t];
        online[p] = on_n + on_l;
        hn[p] = sg_imax(on_n - SI_(S_DOWN, p * 2), 0);
        hl[p] = sg_imax(on_l - SI_(S_DOWN, p * 2 + 1), 0);
        H[p] = hn[p] + hl[p];
        const double gpn = (double)pool_gpn[p];
        SF_(S_ONLINEGH, p) += ((double)online[p] * gpn) * dt;
        SF_(S_HEALTHYGH, p) += ((double)H[p] * gpn) * dt;
      }
      // ---- 2. contracts
      for (long long p = 0; p < P; ++p) remaining[p] = H[p];
      for (long long li = 0; li < L; ++li) {
        const long long p = lease_pool[li], on_p = online[p];
        ent[li] = 0;
        if (on_p <= 0) continue;
        long long contracted;
        const double share = lease_share[v * L + li];  // the contract of this variant
        if (isnan(share)) {
          contracted = sg_imin(lease_gpus[v * L + li] / pool_gpn[p], on_p);
        } else {
          contracted = (long long)floor((share * (double)on_p) + 1e-9);
        }
        const long long deliv_r = lease_replaced[li] ? sg_imin(contracted, H[p])
                                                     : (contracted * H[p]) / on_p;
        long long e = (long long)floor(((double)deliv_r * lease_frac[(v * L + li) * T + t]) + 1e-9);
        e = sg_imin(e, remaining[p]);
        remaining[p] -= e;
        ent[li] = e;
      }
      for (long long i = 0; i < A * P; ++i) avail[i] = 0;
      for (long long p = 0; p < P; ++p) avail[pool_owner[p] * P + p] += remaining[p];
      for (long long li = 0; li < L; ++li) avail[lease_tenant[li] * P + lease_pool[li]] += ent[li];
      for (long long i = 0; i < A * P; ++i) capn[i] = avail[i];
      for (long long li = 0; li < L; ++li) {
        lf_ent[li] = lease_lf[(v * L + li) * T + t] ? ent[li] : 0;
        avail[lease_owner[li] * P + lease_pool[li]] += lf_ent[li];
        deliv[li] = ent[li];
      }
      for (long long p = 0; p < P; ++p) owner_start[p] = avail[pool_owner[p] * P + p];

      // ---- 3. allocation, jobs in plan order
      for (long long j = 0; j <= J; ++j) {
        if (j == NRANK0) {  // numpy_engine._landlord_first_take
          for (long long p = 0; p < P; ++p) {
            const long long ow = pool_owner[p];
            long long over = sg_imax(owner_start[p] - avail[ow * P + p] - remaining[p], 0);
            for (long long li = 0; li < L; ++li) {
              if (lease_pool[li] != p) continue;
              const long long take = sg_imin(over, lf_ent[li]);
              const long long tn = lease_tenant[li];
              avail[tn * P + p] -= take;
              capn[tn * P + p] -= take;
              capn[ow * P + p] += take;
              deliv[li] -= take;
              over -= take;
            }
          }
        }
        if (j == J) break;
        long long* av = avail + job_party[j] * P;
        bool run = isinf(SF_(S_FIN, j)) && (h >= job_earliest[j]);
        for (long long d = 0; d < J; ++d) {
          if (job_deps[j * J + d] && !(SF_(S_FIN, d) <= h)) run = false;
        }
        const long long cur = SI_(S_POOLJ, j), held = SI_(S_NODES, j);
        const bool resize = (SF_(S_RLEFT, j) > 0.0) || (held == 0) || (SI_(S_HITLAST, j) != 0);
        const long long curc = sg_imax(cur, 0);
        const long long want = resize ? job_tgt[j * P + curc] : held;
        const long long got = sg_imin(want, av[curc]);
        const bool stay = run && (cur >= 0) && (got >= job_min[j * P + curc]) && (got > 0);
        long long new_pool = stay ? cur : -1;
        long long new_n = stay ? got : 0;
        bool need = run && !stay;
        for (long long k = 0; k < K && need; ++k) {
          const long long p = job_pref[j * K + k];
          if (p < 0) break;
          if (av[p] >= job_min[j * P + p]) {
            new_pool = p;
            new_n = sg_imin(job_tgt[j * P + p], av[p]);
            need = false;
          }
        }
        av[sg_imax(new_pool, 0)] -= new_n;
        const bool was = cur >= 0;
        const bool moved = new_pool != cur;
        const bool shrink = (new_pool == cur) && (new_n < held) && !resize;
        const bool stop = was && (moved || shrink) && run;
        if (stop) {  // a stop forced by capacity checkpoints first: the work is kept
          SF_(S_UNC, j) = 0.0;
          SF_(S_SINCE, j) = 0.0;
          SI_(S_NPRE, j) += 1;
        }
        const bool restart = (new_pool >= 0) && (moved || shrink);
        if (restart) {
          SF_(S_RLEFT, j) = job_restart[j];
        } else if (new_pool < 0) {
          SF_(S_RLEFT, j) = 0.0;
        }
        if (job_auto[j] && new_pool >= 0 && (new_pool != cur || new_n != held)) {
          // Plan.job_mtbf_hours, then the Daly interval for the new allocation
          const double nn = (double)new_n;
          double lam = nn * node_rate[new_pool];
          for (long long d = 0; d < D; ++d) {
            if (dom_pool[d] != new_pool) continue;
            const long long kk = dom_nodes[d];
            if (kk == 0) {
              lam = lam + dom_rate[d];
            } else {
              lam = lam + (dom_rate[d] * sg_min((double)dom_units[d * T + t],
                                                ((nn + (double)kk) - 1.0) / (double)kk));
            }
          }
          const double mtbf = lam > 0.0 ? 1.0 / lam : SG_INF;
          SF_(S_TAU, j) = sg_daly(job_write[j], mtbf);
        }
        SI_(S_POOLJ, j) = new_pool;
        SI_(S_NODES, j) = new_n;
        if (isinf(SF_(S_START, j)) && new_n > 0) SF_(S_START, j) = h;
      }
      for (long long a = 0; a < A; ++a) {
        for (long long p = 0; p < P; ++p) {
          SF_(S_CAPGH, a * P + p) += ((double)capn[a * P + p] * (double)pool_gpn[p]) * dt;
        }
      }
      for (long long li = 0; li < L; ++li) {
        SF_(S_DELIVGH, li) += ((double)deliv[li] * (double)pool_gpn[lease_pool[li]]) * dt;
      }
      // node layout: in each pool, jobs hold contiguous ranges in plan order
      for (long long j = 0; j < J; ++j) {
        const long long pj = SI_(S_POOLJ, j);
        long long o = 0;
        for (long long k = 0; k < j; ++k) {
          if (SI_(S_POOLJ, k) == pj) o += SI_(S_NODES, k);
        }
        offs[j] = o;
      }

      // ---- 4. failures during the step: counts, then the physical effect of each event
      for (long long p = 0; p < P; ++p) {
        long long cnt[2];
        for (long long c = 0; c < 2; ++c) {
          const long long idx = c * P + p;
          const double lam = c == 0 ? (fail_n[p] * (double)hn[p]) * dt
                                    : (fail_l[p] * (double)hl[p]) * dt;
          cnt[c] = lam < POISSON_PTRS_MIN_LAM
                       ? sg_poisson_small_from_uniform(
                             sg_uniform(seed, rep, STREAM_COUNT, (sg_u32)t, (sg_u32)idx, 0u, 0),
                             lam)
                       : sg_poisson(seed, rep, STREAM_COUNT, (sg_u32)t, (sg_u32)idx, lam);
        }
        kn[p] = sg_imin(cnt[0], hn[p]);
        kl[p] = sg_imin(cnt[1], hl[p]);
      }
      for (long long d = 0; d < D; ++d) {
        const long long idx = 2 * P + d;
        const double lam = (dom_rate[d] * (double)dom_units[d * T + t]) * dt;
        const long long c =
            lam < POISSON_PTRS_MIN_LAM
                ? sg_poisson_small_from_uniform(
                      sg_uniform(seed, rep, STREAM_COUNT, (sg_u32)t, (sg_u32)idx, 0u, 0), lam)
                : sg_poisson(seed, rep, STREAM_COUNT, (sg_u32)t, (sg_u32)idx, lam);
        kd[d] = H[dom_pool[d]] > 0 ? c : 0;
      }
      for (long long p = 0; p < P; ++p) {
        const long long kall = kn[p] + kl[p];
        SI_(S_FAILS, p) += kall;
        SI_(S_DOWN, p * 2) += kn[p];
        SI_(S_DOWN, p * 2 + 1) += kl[p];
        for (long long m = 0; m < kall; ++m) {
          const sg_u32 idx = (sg_u32)(m * P + p);
          const SgEvent e = sg_event(seed, rep, STREAM_FAIL_EVENT, (sg_u32)t, idx, H[p]);
          const long long cz = sg_event_cause(seed, rep, (sg_u32)t, idx, cause_cum + p * NC, NC);
          SI_(S_FAILSCAUSE, p * NC + cz) += 1;
          const long long q = p * NC + cz;
          const double d = sg_duration(repair_kind[q], repair_p1[q], repair_p2[q], repair_max[q], e.u);
          const long long back = sg_back_steps(e.phase, d, dt);
          const long long cls = m >= kn[p] ? 1 : 0;
          SI_(S_RING, (p * 2 + cls) * G + (t + back) % G) += 1;
        }
      }
      long long hn_left[SG_MAXP], hl_left[SG_MAXP];
      for (long long p = 0; p < P; ++p) {
        hn_left[p] = hn[p] - kn[p];
        hl_left[p] = hl[p] - kl[p];
      }
      for (long long di = 0; di < D; ++di) {  // numpy_engine._domain_outages
        const long long p = dom_pool[di], Hp = H[p];
        const long long size = dom_nodes[di] == 0 ? Hp : sg_imin(dom_nodes[di], Hp);
        for (long long i = 0; i < kd[di]; ++i) {
          const SgEvent e = sg_event(seed, rep, STREAM_DOM_EVENT, (sg_u32)t, (sg_u32)(i * D + di), Hp);
          const double d = sg_duration(dom_kind[di], dom_p1[di], dom_p2[di], dom_max[di], e.u);
          const long long back = sg_back_steps(e.phase, d, dt);
          const long long left = hn_left[p] + hl_left[p];
          const long long k = sg_imin(size, left);
          const long long k_l = sg_imin(
              left > 0 ? (k * hl_left[p] + left / 2) / sg_imax(left, 1) : 0, hl_left[p]);
          const long long k_n = sg_imin(k - k_l, hn_left[p]);
          hn_left[p] -= k_n;
          hl_left[p] -= k_l;
          const long long s_idx = (t + back) % G;
          SI_(S_RING, (p * 2) * G + s_idx) += k_n;
          SI_(S_RING, (p * 2 + 1) * G + s_idx) += k_l;
          SI_(S_DOWN, p * 2) += k_n;
          SI_(S_DOWN, p * 2 + 1) += k_l;
          SI_(S_OUTAGES, p) += 1;
        }
      }

      // ---- 5. progress and 6. records
      for (long long j = 0; j < J; ++j) {
        const long long nodes = SI_(S_NODES, j);
        if (nodes <= 0) {
          SI_(S_HITLAST, j) = 0;
          continue;
        }
        const long long p = SI_(S_POOLJ, j);
        const double gpus = (double)nodes * (double)pool_gpn[p];
        const double rate = (gpus * peak[p]) * job_mfu[j * P + p];
        SgJobHits hits;
        hits.seed = seed; hits.rep = rep; hits.t = (sg_u32)t; hits.p = p; hits.P = P;
        hits.D = D; hits.NC = NC; hits.off = offs[j]; hits.n = nodes; hits.healthy = H[p];
        hits.kall = kn[p] + kl[p]; hits.kd = kd; hits.dom_pool = dom_pool;
        hits.dom_nodes = dom_nodes; hits.dom_cause = dom_cause; hits.cause_cum = cause_cum + p * NC;
        hits.dt = dt; hits.prev_time = 0.0; hits.prev_key = 0; hits.started = false;
        hits.cur_cause = 0; hits.int_cause = &SI_(S_INTCAUSE, j * NCT); hits.B = B;
        SgStep st;
        st.total = SF_(S_TOTAL, j); st.unc = SF_(S_UNC, j); st.since = SF_(S_SINCE, j);
        st.rleft = SF_(S_RLEFT, j);
        const double tau = SF_(S_TAU, j);
        sg_advance_one(dt, rate, job_flops[j], job_restart[j], tau, tau + job_write[j], &st, hits);
        SF_(S_TOTAL, j) = st.total; SF_(S_UNC, j) = st.unc; SF_(S_SINCE, j) = st.since;
        SF_(S_RLEFT, j) = st.rleft;
        SI_(S_NINT, j) += st.interruptions;
        SI_(S_HITLAST, j) = st.interruptions > 0 ? 1 : 0;
        const double safe_rate = rate > 0.0 ? rate : 1.0;
        SF_(S_LOSTF, j) += st.lost;
        SF_(S_LOSTGH, j) += (st.lost / safe_rate) * gpus;
        SF_(S_USEFULGH, j) += (st.gained / safe_rate) * gpus;
        SF_(S_FLOPSPOOL, j * P + p) += st.gained;
        const bool finished = isfinite(st.fin_off);
        if (finished) SF_(S_FIN, j) = h + st.fin_off;
        SF_(S_ALLOCPOOL, j * P + p) += gpus * (finished ? st.fin_off : dt);
      }
      if (daily) {
        const long long day = step_day[t];
        for (long long a = 0; a < A; ++a) {
          for (long long a2 = 0; a2 < A; ++a2) {
            double s = 0.0;
            for (long long p = 0; p < P; ++p) {
              if (pool_owner[p] == a2) s += (double)capn[a * P + p] * (double)pool_gpn[p];
            }
            DAILY[((day * A + a) * A + a2) * B + b] += (float)(s * day_w[t]);
          }
        }
      }
    }
#undef SI_
#undef SF_
  }
}
