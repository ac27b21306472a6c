// distributions.cuh -- CUDA/C++ twins of simgpu/rng/distributions.py (one element each)
// and of simgpu.rng.distributions.draw_duration.
//
// Every expression keeps the parenthesisation of the NumPy code (which is the evaluation
// order); with no fused multiply-add (nvcc -fmad=false, g++ -ffp-contract=off), IEEE sqrt,
// and detmath's log/exp, every result is bit-identical to the NumPy function named.
// Decimal constants are written exactly as in distributions.py, so both languages round
// the same decimal string to the same double.
#ifndef SIMGPU_DISTRIBUTIONS_CUH
#define SIMGPU_DISTRIBUTIONS_CUH

#include "compat.cuh"
#include "detmath.cuh"
#include "philox.cuh"

// ---------------------------------------------------------------------------------------
// normal quantile: Wichura (1988), AS 241 PPND16 (distributions.normal_ppf)
// ---------------------------------------------------------------------------------------

// distributions._horner7: (((((((c7*r + c6)*r + c5)*r + c4)*r + c3)*r + c2)*r + c1)*r + c0).
SG_DEV double sg_horner7(double r, double c0, double c1, double c2, double c3, double c4,
                         double c5, double c6, double c7) {
  double acc = c7 * r;
  acc = (acc + c6) * r;
  acc = (acc + c5) * r;
  acc = (acc + c4) * r;
  acc = (acc + c3) * r;
  acc = (acc + c2) * r;
  acc = (acc + c1) * r;
  return acc + c0;
}

// distributions.normal_ppf for one p in (0, 1) (not validated here).
SG_DEV double sg_normal_ppf(double p) {
  const double q = p - 0.5;
  if (fabs(q) <= 0.425) {  // central region
    const double r = 0.180625 - (q * q);
    const double a = sg_horner7(r, 3.3871328727963666080e0, 1.3314166789178437745e2,
                                1.9715909503065514427e3, 1.3731693765509461125e4,
                                4.5921953931549871457e4, 6.7265770927008700853e4,
                                3.3430575583588128105e4, 2.5090809287301226727e3);
    const double b = sg_horner7(r, 1.0, 4.2313330701600911252e1, 6.8718700749205790830e2,
                                5.3941960214247511077e3, 2.1213794301586595867e4,
                                3.9307895800092710610e4, 2.8729085735721942674e4,
                                5.2264952788528545610e3);
    return (q * a) / b;
  }
  // tails: r = p or 1 - p (exact on the uniform grid), r = sqrt(-log(r))
  double r = sqrt(-sg_log(q < 0.0 ? p : 1.0 - p));
  double z;
  if (r <= 5.0) {
    r = r - 1.6;
    z = sg_horner7(r, 1.42343711074968357734e0, 4.63033784615654529590e0,
                   5.76949722146069140550e0, 3.64784832476320460504e0,
                   1.27045825245236838258e0, 2.41780725177450611770e-1,
                   2.27238449892691845833e-2, 7.74545014278341407640e-4) /
        sg_horner7(r, 1.0, 2.05319162663775882187e0, 1.67638483018380384940e0,
                   6.89767334985100004550e-1, 1.48103976427480074590e-1,
                   1.51986665636164571966e-2, 5.47593808499534494600e-4,
                   1.05075007164441684324e-9);
  } else {
    r = r - 5.0;
    z = sg_horner7(r, 6.65790464350110377720e0, 5.46378491116411436990e0,
                   1.78482653991729133580e0, 2.96560571828504891230e-1,
                   2.65321895265761230930e-2, 1.24266094738807843860e-3,
                   2.71155556874348757815e-5, 2.01033439929228813265e-7) /
        sg_horner7(r, 1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1,
                   1.48753612908506148525e-2, 7.86869131145613259100e-4,
                   1.84631831751005468180e-5, 1.42151175831644588870e-7,
                   2.04426310338993978564e-15);
  }
  return q < 0.0 ? -z : z;
}

// ---------------------------------------------------------------------------------------
// continuous transforms
// ---------------------------------------------------------------------------------------

// distributions.exponential_from_uniform: (-mean) * log(u).
SG_DEV double sg_exponential_from_uniform(double u, double mean) {
  return (-mean) * sg_log(u);
}

// distributions.lognormal_from_uniform: exp(mu + (sigma * normal_ppf(u))).
SG_DEV double sg_lognormal_from_uniform(double u, double mu, double sigma) {
  return sg_exp(mu + (sigma * sg_normal_ppf(u)));
}

// distributions.draw_duration for one element: kind 0 (DIST_FIXED, and any unknown code)
// -> p1, 1 (DIST_EXPONENTIAL) -> -p1 log u, 2 (DIST_LOGNORMAL) -> exp(p1 + p2 ppf(u));
// then np.minimum(d, cap): a NaN in d (first) or cap propagates, and equal values (+0 vs
// -0) give cap, as NumPy's minimum does.
SG_DEV double sg_duration(long long kind, double p1, double p2, double cap, double u) {
  double d = p1;
  if (kind == 1) {
    d = sg_exponential_from_uniform(u, p1);
  } else if (kind == 2) {
    d = sg_lognormal_from_uniform(u, p1, p2);
  }
  if (d != d) return d;
  return d < cap ? d : cap;
}

// ---------------------------------------------------------------------------------------
// Poisson (distributions.poisson)
// ---------------------------------------------------------------------------------------

// distributions._log_factorial: log(k!) for integer-valued k >= 0; table below 10, else
// the Stirling series.
SG_CONSTANT double sg_log_factorial_table[10] = {0.0,
                                                 0.0,
                                                 0.6931471805599453,
                                                 1.791759469228055,
                                                 3.1780538303479458,
                                                 4.787491742782046,
                                                 6.579251212010101,
                                                 8.525161361065415,
                                                 10.60460290274525,
                                                 12.801827480081469};

SG_DEV double sg_log_factorial(double k) {
  if (k < 10.0) return sg_log_factorial_table[(int)k];
  const double rk = 1.0 / k;
  const double r2 = rk * rk;
  const double s =
      rk * (0.08333333333333333 +
            (r2 * (-0.002777777777777778 +
                   (r2 * (0.0007936507936507937 +
                          (r2 * (-0.0005952380952380953 +
                                 (r2 * (0.0008417508417508417 +
                                        (r2 * (-0.0019175269175269176 +
                                               (r2 * 0.00641025641025641))))))))))));
  return ((((k + 0.5) * sg_log(k)) - k) + 0.9189385332046728) + s;
}

// distributions.poisson_small_from_uniform / _poisson_inversion for one element:
// sequential search (the loop of _poisson_inversion's docstring; its cumprod/cumsum
// form accumulates the same products and sums left to right, and the cdf never
// decreases, so the first k with u <= cdf equals the count of cdf_k < u).
//
// sg_poisson_small_p0 takes p0 = sg_exp(-lam) from the caller (who may keep it while lam
// does not change); sg_poisson_small_from_uniform computes it.
SG_DEV long long sg_poisson_small_p0(double u, double lam, double p0) {
  if (!(lam > 0.0)) return 0;
  double p = p0;
  double cdf = p;
  long long k = 0;
  while ((u > cdf) && (k < 50)) {  // POISSON_INV_KMAX
    k = k + 1;
    p = p * (lam / (double)k);
    cdf = cdf + p;
  }
  return k;
}

SG_DEV long long sg_poisson_small_from_uniform(double u, double lam) {
  return sg_poisson_small_p0(u, lam, lam > 0.0 ? sg_exp(-lam) : 1.0);
}

// distributions.poisson for one element. lam == 0 -> 0; lam < 10 -> inversion with
// uniform(sub=0, word=0); lam >= 10 -> Hoermann's PTRS (_poisson_ptrs), attempt a taking
// U = uniform(sub=a, word=0), V = uniform(sub=a, word=1). Returns -1 where no attempt of
// POISSON_MAX_ATTEMPTS (1000) accepts (the NumPy code raises RuntimeError there).
SG_DEV long long sg_poisson(sg_u64 seed, sg_u32 replica, sg_u32 stream, sg_u32 step,
                            sg_u32 index, double lam) {
  if (!(lam > 0.0)) return 0;
  sg_u32 r[4];
  sg_bits(seed, replica, stream, step, index, 0, r);
  if (lam < 10.0) return sg_poisson_small_from_uniform(sg_u01(r[0], r[1]), lam);
  // PTRS setup
  const double slam = sqrt(lam);
  const double b = 0.931 + (2.53 * slam);
  const double a = -0.059 + (0.02483 * b);
  const double vr = 0.9277 - (3.6224 / (b - 2.0));
  for (int attempt = 0; attempt < 1000; ++attempt) {
    if (attempt) sg_bits(seed, replica, stream, step, index, (sg_u32)attempt, r);
    const double u = sg_u01(r[0], r[1]);
    const double v = sg_u01(r[2], r[3]);
    const double uu = u - 0.5;
    const double us = 0.5 - fabs(uu);
    const double k = floor((((((2.0 * a) / us) + b) * uu) + lam) + 0.43);
    if ((us >= 0.07) && (v <= vr)) return (long long)k;           // fast accept
    if ((k < 0.0) || ((us < 0.013) && (v > us))) continue;        // reject
    const double invalpha = 1.1239 + (1.1328 / (b - 3.4));
    const double lhs = (sg_log(v) + sg_log(invalpha)) - sg_log((a / (us * us)) + b);
    const double rhs = (-lam + (k * sg_log(lam))) - sg_log_factorial(k);
    if (lhs <= rhs) return (long long)k;
  }
  return -1;
}

#endif  // SIMGPU_DISTRIBUTIONS_CUH
