// philox.cuh -- CUDA/C++ twin of simgpu/rng/philox.py.
//
// Philox4x32-10 and the simgpu key/counter layout (the normative table in philox.py's
// module docstring), plus the uniform doubles on the open 52-bit mid-point grid. Integer
// arithmetic only, apart from sg_u01, whose every intermediate is exact; the results are
// therefore bit-identical to philox.bits / philox.uniform on any compiler and device.
#ifndef SIMGPU_PHILOX_CUH
#define SIMGPU_PHILOX_CUH

#include "compat.cuh"

#define SG_PHILOX_M0 0xD2511F53u  // philox.PHILOX_M0, multiplies counter word 0
#define SG_PHILOX_M1 0xCD9E8D57u  // philox.PHILOX_M1, multiplies counter word 2
#define SG_PHILOX_W0 0x9E3779B9u  // philox.PHILOX_W0, Weyl increment of k0
#define SG_PHILOX_W1 0xBB67AE85u  // philox.PHILOX_W1, Weyl increment of k1

// philox.philox4x32_10 / _rounds_inplace: ten rounds on the counter (c0..c3) under the key
// (k0, k1), the key bumped before rounds 2..10. The 32x32 -> 64-bit products are formed in
// sg_u64 and split with shifts and masks, as in the NumPy code.
// One round; SG_PHILOX_BUMP advances the key (before rounds 2..10). Written out ten times
// below rather than looped, so that both compilers see straight-line code.
#define SG_PHILOX_ROUND                                                                 \
  {                                                                                     \
    const sg_u64 p0 = (sg_u64)SG_PHILOX_M0 * (sg_u64)c0;                                \
    const sg_u64 p1 = (sg_u64)SG_PHILOX_M1 * (sg_u64)c2;                                \
    c0 = (sg_u32)(p1 >> 32) ^ c1 ^ k0; /* hi(M1*c2) ^ c1 ^ k0 */                        \
    c1 = (sg_u32)(p1 & 0xFFFFFFFFull); /* lo(M1*c2) */                                  \
    c2 = (sg_u32)(p0 >> 32) ^ c3 ^ k1; /* hi(M0*c0) ^ c3 ^ k1 */                        \
    c3 = (sg_u32)(p0 & 0xFFFFFFFFull); /* lo(M0*c0) */                                  \
  }
#define SG_PHILOX_BUMP   \
  k0 += SG_PHILOX_W0;    \
  k1 += SG_PHILOX_W1; /* mod 2**32 (unsigned wrap-around) */
SG_DEV void sg_philox(sg_u32 c0, sg_u32 c1, sg_u32 c2, sg_u32 c3, sg_u32 k0, sg_u32 k1,
                      sg_u32 r[4]) {
  SG_PHILOX_ROUND
  SG_PHILOX_BUMP SG_PHILOX_ROUND
  SG_PHILOX_BUMP SG_PHILOX_ROUND
  SG_PHILOX_BUMP SG_PHILOX_ROUND
  SG_PHILOX_BUMP SG_PHILOX_ROUND
  SG_PHILOX_BUMP SG_PHILOX_ROUND
  SG_PHILOX_BUMP SG_PHILOX_ROUND
  SG_PHILOX_BUMP SG_PHILOX_ROUND
  SG_PHILOX_BUMP SG_PHILOX_ROUND
  SG_PHILOX_BUMP SG_PHILOX_ROUND
  r[0] = c0;
  r[1] = c1;
  r[2] = c2;
  r[3] = c3;
}

// philox.bits (_layout): c0 = index, c1 = step, c2 = stream | (sub << 16), c3 = replica,
// k0 = low and k1 = high 32 bits of seed. Arguments are assumed in range (philox.py
// validates them); stream and sub are masked to 16 bits as the layout table says.
SG_DEV void sg_bits(sg_u64 seed, sg_u32 replica, sg_u32 stream, sg_u32 step, sg_u32 index,
                    sg_u32 sub, sg_u32 r[4]) {
  const sg_u32 c2 = (stream & 0xFFFFu) | ((sub & 0xFFFFu) << 16);
  sg_philox(index, step, c2, replica, (sg_u32)(seed & 0xFFFFFFFFull), (sg_u32)(seed >> 32), r);
}

// philox._u01: ((a >> 6) * 2**26 + (b >> 6) + 0.5) * 2**-52, in exactly this order (every
// intermediate is exact, so the result is (j + 0.5) / 2**52 with j = (a>>6 << 26) | b>>6).
SG_DEV double sg_u01(sg_u32 a, sg_u32 b) {
  const double hi = (double)(a >> 6);
  const double lo = (double)(b >> 6);
  double u = hi * 67108864.0;     // 2**26
  u += lo;
  u += 0.5;
  u *= 2.220446049250313e-16;     // 2**-52 (0x3CB0000000000000), exact
  return u;
}

// philox.uniform: word 0 uses (r0, r1), word 1 uses (r2, r3) of the block.
SG_DEV double sg_uniform(sg_u64 seed, sg_u32 replica, sg_u32 stream, sg_u32 step,
                         sg_u32 index, sg_u32 sub, int word) {
  sg_u32 r[4];
  sg_bits(seed, replica, stream, step, index, sub, r);
  return word == 0 ? sg_u01(r[0], r[1]) : sg_u01(r[2], r[3]);
}

#endif  // SIMGPU_PHILOX_CUH
