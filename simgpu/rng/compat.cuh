// compat.cuh -- one source, two compilers.
//
// SG_DEV marks free device functions, SG_METHOD member functions, SG_KERNEL kernels.
// Every simgpu kernel is written once in the subset of C++ that both NVCC/NVRTC and a
// host C++ compiler accept. Compiled for the GPU (__CUDACC__ or __CUDACC_RTC__), the
// qualifiers are CUDA's and SG_FOR_EACH_THREAD is a grid-stride loop; compiled for the
// host (SIMGPU_HOST, by simgpu.engine.kernels.host_library), kernels are plain extern "C"
// functions and the loop runs every "thread" in turn, so the CPU test suite exercises the
// very kernel bodies that run on the GPU.
//
// Warp-cooperative code (one warp works on one item, its lanes share the loops) uses
// SG_LANES(i, n): on the GPU lane l takes i = l, l + 32, ...; on the host the one thread
// takes every i in turn. SG_SYNCWARP() orders the phases (a memory barrier for the warp;
// nothing on the host), SG_ONE_LANE runs a block on lane 0 only, and SG_ATOMIC_ADD adds to
// an integer that several lanes may update in the same phase (integer sums do not depend
// on their order, so both builds give the same result). SG_CONSTANT marks a table read by
// every thread (constant memory on the GPU). SG_HOST_RESTRICT marks pointers that alias
// nothing else in their scope but point to data the kernel also writes: restrict on the
// host, nothing on the GPU, where a const restrict pointer may be read through the
// non-coherent read-only cache (SG_RESTRICT is for data no launch writes).
//
// Determinism: kernels use only IEEE-754 basic operations (+ - * / sqrt, correctly
// rounded), floor/ceil/trunc/frexp/ldexp (exact) and integer arithmetic. Both builds
// disable contraction into fused multiply-adds (nvcc -fmad=false, g++ -ffp-contract=off),
// so each operation rounds exactly as NumPy's does.
#ifndef SIMGPU_COMPAT_CUH
#define SIMGPU_COMPAT_CUH

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define SG_DEV __device__ __forceinline__
#define SG_METHOD __device__ __forceinline__
#define SG_RESTRICT __restrict__
#define SG_HOST_RESTRICT  // data the kernel also writes: never through the read-only cache
#define SG_KERNEL extern "C" __global__
#define SG_FOR_EACH_THREAD(i, n)                                                           \
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n);             \
       i += (long long)blockDim.x * gridDim.x)
#define SG_INF __longlong_as_double(0x7FF0000000000000LL)
#define SG_NAN __longlong_as_double(0x7FF8000000000000LL)
#define SG_GPU 1
#define SG_WARP 32
#define SG_LANE_ID ((int)(threadIdx.x & 31u))
#define SG_LANES(i, n) for (int i = SG_LANE_ID; i < (n); i += SG_WARP)
#define SG_SYNCWARP() __syncwarp()
#define SG_ONE_LANE if (SG_LANE_ID == 0)
#define SG_ATOMIC_ADD(ptr, v) atomicAdd((ptr), (v))
#define SG_ATOMIC_ADD64(ptr, v) \
  atomicAdd((unsigned long long*)(ptr), (unsigned long long)(v))
#define SG_LAUNCH_BOUNDS(threads, blocks) __launch_bounds__(threads, blocks)
#define SG_CONSTANT __constant__ const
typedef unsigned int sg_u32;
typedef unsigned long long sg_u64;
#else
#include <cmath>
#include <cstdint>
#include <limits>
#define SG_DEV static inline
#define SG_METHOD inline
#define SG_RESTRICT __restrict__
#define SG_HOST_RESTRICT __restrict__
#define SG_KERNEL extern "C"
#define SG_FOR_EACH_THREAD(i, n) for (long long i = 0; i < (n); ++i)
#define SG_INF (std::numeric_limits<double>::infinity())
#define SG_NAN (std::numeric_limits<double>::quiet_NaN())
#define SG_GPU 0
#define SG_WARP 1
#define SG_LANE_ID 0
#define SG_LANES(i, n) for (int i = 0; i < (n); ++i)
#define SG_SYNCWARP() ((void)0)
#define SG_ONE_LANE
#define SG_ATOMIC_ADD(ptr, v) (*(ptr) += (v))
#define SG_ATOMIC_ADD64(ptr, v) (*(ptr) += (v))
#define SG_LAUNCH_BOUNDS(threads, blocks)
#define SG_CONSTANT static const
typedef uint32_t sg_u32;
typedef uint64_t sg_u64;
using std::ceil;
using std::fabs;
using std::floor;
using std::frexp;
using std::isfinite;
using std::isinf;
using std::isnan;
using std::ldexp;
using std::sqrt;
using std::trunc;
#endif

SG_DEV double sg_min(double a, double b) { return a < b ? a : b; }  // np.minimum (no NaN)
SG_DEV double sg_max(double a, double b) { return a > b ? a : b; }
SG_DEV long long sg_imin(long long a, long long b) { return a < b ? a : b; }
SG_DEV long long sg_imax(long long a, long long b) { return a > b ? a : b; }
SG_DEV int sg_i32min(int a, int b) { return a < b ? a : b; }
SG_DEV int sg_i32max(int a, int b) { return a > b ? a : b; }

#endif  // SIMGPU_COMPAT_CUH
