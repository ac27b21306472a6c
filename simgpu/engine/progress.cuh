// progress.cuh -- one step of job progress in closed form; twin of simgpu/engine/progress.py.
//
// Scalar form of `advance` for ONE job: segments [0, t1), [t1, t2), ..., [tn, dt) between
// the step's hits, visited in time order. The hits come from a source object with
//   bool next(double* time, double* extra, bool* graceful)
//                             -- the next hit time (hours into the step), the hours its
//                                detection adds to the restart after it and whether it
//                                checkpoints first (keeps its work); false at the end
//   void interrupted()        -- the hit just returned interrupted the job
// so the engine can produce hits lazily (they are recomputed from the counter-based
// generator) and the `sg_advance` kernel can read them from an array.
//
// Determinism: every expression mirrors progress.py operation for operation; the sums
// over segments accumulate left to right, as NumPy's cumsum does there.
#ifndef SIMGPU_PROGRESS_CUH
#define SIMGPU_PROGRESS_CUH

#include "compat.cuh"

SG_DEV double sg_compute_time(double s, double tau, double cyc) {
  double k = floor(s / cyc);
  return (k * tau) + sg_min(s - (k * cyc), tau);
}

SG_DEV double sg_wall_time(double c, double tau, double cyc) {
  double k = sg_max(ceil(c / tau) - 1.0, 0.0);
  return (k * cyc) + (c - (k * tau));
}

struct SgStep {
  double total, unc, since, rleft;  // state, updated in place
  double gained, lost, fin_off;     // outcome of the step
  double restarted;                 // hours of the step spent restarting
  long long interruptions;
};

// Advance one job that holds GPUs through one step of `dt` hours.
template <class Hits>
SG_DEV void sg_advance_one(double dt, double rate, double flops, double restart, double tau,
                           double cyc, SgStep* st, Hits& hits) {
  const double total0 = st->total;
  double cs = 0.0;      // cumsum of delta over the segments before this one
  double lost = 0.0;    // cumsum of lost_seg
  double rs = 0.0;      // cumsum of the hours spent restarting
  double begin = 0.0;
  int n_int = 0;
  double extra = 0.0;   // detection time of the hit that began this segment
  st->fin_off = SG_INF;
  for (bool first = true;; first = false) {
    double hit_t;
    double hit_extra = 0.0;
    bool graceful = false;
    const bool ends_in_hit = hits.next(&hit_t, &hit_extra, &graceful);
    const double end = ends_in_hit ? hit_t : dt;
    const double r = first ? st->rleft : restart + extra;
    const double sigma = first ? st->since : 0.0;
    const double w_b = first ? st->unc : 0.0;
    const double length = end - begin;
    const double run = sg_max(length - r, 0.0);
    rs = first ? sg_min(r, length) : rs + sg_min(r, length);
    const double c_sigma = sg_compute_time(sigma, tau, cyc);
    const double s_end = sigma + run;
    const double k = floor(s_end / cyc);
    const double gross = rate * (sg_compute_time(s_end, tau, cyc) - c_sigma);
    const bool committed = k >= 1.0;
    const double delta =
        ends_in_hit ? (graceful ? gross : (committed ? rate * ((k * tau) - c_sigma) : -w_b)) : gross;
    const double cum = first ? delta : cs + delta;
    const double before = (total0 + cum) - delta;
    if (rate > 0.0 && before + gross >= flops) {  // finishes in this segment
      const double need = flops - before;
      const double c_fin = c_sigma + (need / rate);
      const double wall = sg_wall_time(c_fin, tau, cyc) - sigma;
      st->fin_off = sg_min((begin + r) + sg_max(wall, 0.0), dt);
      st->gained = flops - total0;
      st->total = flops;
      st->unc = 0.0;
      st->since = 0.0;
      st->rleft = 0.0;
      st->lost = lost;
      st->restarted = rs;
      st->interruptions = n_int;
      return;
    }
    if (!ends_in_hit) {  // the last segment: the state at the end of the step
      const double rem = s_end - (k * cyc);
      st->unc = committed ? rate * sg_min(rem, tau) : w_b + gross;
      st->since = committed ? rem : s_end;
      st->rleft = sg_max(r - length, 0.0);
      st->total = total0 + cum;
      st->gained = st->total - total0;
      st->lost = lost;
      st->restarted = rs;
      st->interruptions = n_int;
      return;
    }
    // a hit ends this segment: the uncommitted work is lost
    const double lost_seg =
        graceful ? 0.0 : (w_b + gross) - (committed ? (w_b + (rate * ((k * tau) - c_sigma))) : 0.0);
    lost = lost + lost_seg;
    ++n_int;
    hits.interrupted();
    cs = cum;
    begin = end;
    extra = hit_extra;
  }
}

#endif  // SIMGPU_PROGRESS_CUH
