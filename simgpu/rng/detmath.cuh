// detmath.cuh -- CUDA/C++ twin of simgpu/rng/detmath.py (fdlibm 5.3 log and exp).
//
// Porting contract (detmath.py's module docstring): every expression below mirrors the
// NumPy code line by line with the same parenthesisation, the same constants (given here
// by their IEEE-754 bit patterns) and no fused multiply-add (nvcc -fmad=false,
// g++ -ffp-contract=off). Only + - * /, comparisons, selection, frexp, ldexp and trunc are
// used, all exactly specified by IEEE-754 / C, so the results are bit-identical to
// detmath.log / detmath.exp, special values included.
#ifndef SIMGPU_DETMATH_CUH
#define SIMGPU_DETMATH_CUH

#include "compat.cuh"

// The double whose IEEE-754 bits are b (constant-folded by both compilers). Bit patterns
// keep the constants exact without C++17 hexadecimal floating literals.
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
SG_DEV double sg_f64(sg_u64 b) { return __longlong_as_double((long long)b); }
#else
#include <cstring>
SG_DEV double sg_f64(sg_u64 b) {
  double d;
  std::memcpy(&d, &b, sizeof d);
  return d;
}
#endif

// --- shared constants (fdlibm) ----------------------------------------------------------
#define SG_LN2_HI sg_f64(0x3FE62E42FEE00000ull)  // 6.93147180369123816490e-01
#define SG_LN2_LO sg_f64(0x3DEA39EF35793C76ull)  // 1.90821492927058770002e-10
// --- log: fdlibm e_log.c ----------------------------------------------------------------
#define SG_LG1 sg_f64(0x3FE5555555555593ull)  // 6.666666666666735130e-01
#define SG_LG2 sg_f64(0x3FD999999997FA04ull)  // 3.999999999940941908e-01
#define SG_LG3 sg_f64(0x3FD2492494229359ull)  // 2.857142874366239149e-01
#define SG_LG4 sg_f64(0x3FCC71C51D8E78AFull)  // 2.222219843214978396e-01
#define SG_LG5 sg_f64(0x3FC7466496CB03DEull)  // 1.818357216161805012e-01
#define SG_LG6 sg_f64(0x3FC39A09D078C69Full)  // 1.531383769920937332e-01
#define SG_LG7 sg_f64(0x3FC2F112DF3E5244ull)  // 1.479819860511658591e-01
#define SG_SQRT_HALF sg_f64(0x3FE6A09E667F3BCDull)  // 7.07106781186547524401e-01
#define SG_LOG_HFSQ_LO sg_f64(0x3FE6147AE147AE14ull)  // 0.69
#define SG_LOG_HFSQ_HI sg_f64(0x3FE6B851EB851EB8ull)  // 0.71
// --- exp: fdlibm e_exp.c ----------------------------------------------------------------
#define SG_EXP_O_THRESHOLD sg_f64(0x40862E42FEFA39EFull)  // 7.09782712893383973096e02
#define SG_EXP_U_THRESHOLD sg_f64(0xC0874910D52D3051ull)  // -7.45133219101941108420e02
#define SG_INV_LN2 sg_f64(0x3FF71547652B82FEull)  // 1.44269504088896338700e00
#define SG_P1 sg_f64(0x3FC555555555553Eull)  // 1.66666666666666019037e-01
#define SG_P2 sg_f64(0xBF66C16C16BEBD93ull)  // -2.77777777770155933842e-03
#define SG_P3 sg_f64(0x3F11566AAF25DE2Cull)  // 6.61375632143793436117e-05
#define SG_P4 sg_f64(0xBEBBBD41C5D26BF1ull)  // -1.65339022054652515390e-06
#define SG_P5 sg_f64(0x3E66376972BEA4D0ull)  // 4.13813679705723846039e-08

// detmath.log. log(0) = -inf, log(inf) = inf, log(x < 0) = log(nan) = nan (the canonical
// quiet NaN, as np.nan).
SG_DEV double sg_log(double x) {
  if (!(x > 0.0)) return x == 0.0 ? -SG_INF : SG_NAN;  // 0, negatives and nan
  if (x == SG_INF) return SG_INF;
  int e;
  double m = frexp(x, &e);  // x = m * 2**e, m in [0.5, 1); exact, subnormals included
  const bool hfsq_form = (m >= SG_LOG_HFSQ_LO) && (m <= SG_LOG_HFSQ_HI);
  int k = e;
  if (m < SG_SQRT_HALF) {  // now m in [sqrt(1/2), sqrt(2))
    m = m + m;
    k = e - 1;
  }
  const double f = m - 1.0;  // exact (Sterbenz)
  const double s = f / (2.0 + f);
  const double dk = (double)k;
  const double z = s * s;
  const double w = z * z;
  const double t1 = w * (SG_LG2 + (w * (SG_LG4 + (w * SG_LG6))));
  const double t2 = z * (SG_LG1 + (w * (SG_LG3 + (w * (SG_LG5 + (w * SG_LG7))))));
  const double r = t2 + t1;
  if (hfsq_form) {
    const double hfsq = (0.5 * f) * f;
    return (dk * SG_LN2_HI) - ((hfsq - ((s * (hfsq + r)) + (dk * SG_LN2_LO))) - f);
  }
  return (dk * SG_LN2_HI) - (((s * (f - r)) - (dk * SG_LN2_LO)) - f);
}

// detmath.exp. x > EXP_O_THRESHOLD gives inf, x < EXP_U_THRESHOLD gives 0, nan gives the
// canonical nan; results below 2**-1022 are subnormal, rounded once by ldexp.
SG_DEV double sg_exp(double x) {
  if (x != x) return SG_NAN;
  if (x > SG_EXP_O_THRESHOLD) return SG_INF;
  if (x < SG_EXP_U_THRESHOLD) return 0.0;
  const double kf = trunc((SG_INV_LN2 * x) + (x < 0.0 ? -0.5 : 0.5));  // round(x / ln2)
  const double hi = x - (kf * SG_LN2_HI);  // exact
  const double lo = kf * SG_LN2_LO;
  const double r = hi - lo;  // |r| <= ln2 / 2
  const double t = r * r;
  const double c = r - (t * (SG_P1 + (t * (SG_P2 + (t * (SG_P3 + (t * (SG_P4 + (t * SG_P5)))))))));
  const double y = 1.0 - ((lo - ((r * c) / (2.0 - c))) - hi);  // exp(r)
  return ldexp(y, (int)kf);
}

#endif  // SIMGPU_DETMATH_CUH
