// rng_kernels.cu -- element-wise kernels of simgpu's random numbers.
//
// Thread mapping: one logical thread per element i in [0, n) (SG_FOR_EACH_THREAD: a
// grid-stride loop on the GPU, a plain loop in the host build). Element i reads entry i of
// every input array and writes entry i of every output array (entries 4i..4i+3 for
// sg_philox_bits); threads share nothing, so results do not depend on the launch shape.
//
// Determinism guarantee: each kernel is bit-identical to its NumPy twin, element by
// element, special values (NaN bits, -0.0, inf) included:
//   sg_philox_bits  simgpu.rng.philox.bits
//   sg_uniform      simgpu.rng.philox.uniform
//   sg_detmath      simgpu.rng.detmath.log and simgpu.rng.detmath.exp
//   sg_normal_ppf   simgpu.rng.distributions.normal_ppf
//   sg_durations    simgpu.rng.distributions.draw_duration
//   sg_poisson      simgpu.rng.distributions.poisson (-1 where NumPy raises RuntimeError)
// The parity cases in simgpu/rng/kernel_parity.py check this on the host build and on GPUs.
// Key arguments (replica, stream, step, index, sub) are taken as validated by the NumPy
// layer: replica, step, index in [0, 2**32), stream, sub in [0, 65535].
#include "compat.cuh"
#include "detmath.cuh"
#include "distributions.cuh"
#include "philox.cuh"

// philox.bits: the four Philox words of each key, out[4i + 0..3] = (r0, r1, r2, r3).
SG_KERNEL void sg_philox_bits(long long n, sg_u64 seed, const long long* replica,
                              const long long* stream, const long long* step,
                              const long long* index, const long long* sub,
                              unsigned int* out) {
  SG_FOR_EACH_THREAD(i, n) {
    sg_u32 r[4];
    sg_bits(seed, (sg_u32)replica[i], (sg_u32)stream[i], (sg_u32)step[i], (sg_u32)index[i],
            (sg_u32)sub[i], r);
    out[4 * i + 0] = r[0];
    out[4 * i + 1] = r[1];
    out[4 * i + 2] = r[2];
    out[4 * i + 3] = r[3];
  }
}

// philox.uniform with a per-element word (0: (r0, r1), 1: (r2, r3)).
SG_KERNEL void sg_uniform(long long n, sg_u64 seed, const long long* replica,
                          const long long* stream, const long long* step,
                          const long long* index, const long long* sub,
                          const long long* word, double* out) {
  SG_FOR_EACH_THREAD(i, n) {
    out[i] = sg_uniform(seed, (sg_u32)replica[i], (sg_u32)stream[i], (sg_u32)step[i],
                        (sg_u32)index[i], (sg_u32)sub[i], (int)word[i]);
  }
}

// detmath.log and detmath.exp of the same inputs.
SG_KERNEL void sg_detmath(long long n, const double* x, double* log_out, double* exp_out) {
  SG_FOR_EACH_THREAD(i, n) {
    log_out[i] = sg_log(x[i]);
    exp_out[i] = sg_exp(x[i]);
  }
}

// distributions.normal_ppf for p in (0, 1).
SG_KERNEL void sg_normal_ppf(long long n, const double* p, double* out) {
  SG_FOR_EACH_THREAD(i, n) { out[i] = sg_normal_ppf(p[i]); }
}

// distributions.draw_duration: durations of distribution codes kind from uniforms u, capped.
SG_KERNEL void sg_durations(long long n, const long long* kind, const double* p1,
                            const double* p2, const double* cap, const double* u,
                            double* out) {
  SG_FOR_EACH_THREAD(i, n) { out[i] = sg_duration(kind[i], p1[i], p2[i], cap[i], u[i]); }
}

// distributions.poisson: one variate per key; -1 marks PTRS exhaustion (never expected).
SG_KERNEL void sg_poisson(long long n, sg_u64 seed, const long long* replica,
                          const long long* stream, const long long* step,
                          const long long* index, const double* lam, long long* out) {
  SG_FOR_EACH_THREAD(i, n) {
    out[i] = sg_poisson(seed, (sg_u32)replica[i], (sg_u32)stream[i], (sg_u32)step[i],
                        (sg_u32)index[i], lam[i]);
  }
}
