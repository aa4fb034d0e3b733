/*
 * Winograd F(2x2, 3x3) convolution, stride 1, 'same' padding, NHWC, float32 (Lavin and Gray,
 * "Fast Algorithms for Convolutional Neural Networks", CVPR 2016). Each 2x2 output tile is
 * A^T [ (G g G^T) . (B^T d B) ] A over a 4x4 input tile d: 16 multiplies per tile and channel
 * pair where the direct convolution takes 36. The 16 elementwise products over all channels
 * are 16 matrix products, [tiles x C] x [C x K], done by a register-blocked kernel; the
 * transforms only add and subtract (and halve, for the filter, once at load).
 *
 * This file is a template, included once per instruction set with:
 *   VW      floats per vector (16: AVX-512, 8: AVX2)
 *   MR      tiles per micro-kernel call (12 with 32 vector registers, 6 with 16)
 *   SUFFIX  appended to every exported name (_avx512, _avx2)
 * GCC's vector extensions keep it free of intrinsics; -m flags per file pick the instructions.
 *
 * Layouts: x [N][H][W][C], y [N][H][W][K], filter g [3][3][C][K] (HWIO, tfjs's conv2d filter),
 * transformed filter U [16][K/NR][C][NR] (NR = 2 VW output channels per panel).
 * Requires C % VW == 0 and K % NR == 0, and for the input gradient C % NR == 0 as well (the
 * caller checks, winograd-op.c).
 */
#include <omp.h>
#include <stddef.h>
#include <string.h>

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define FN(name) CAT(name, SUFFIX)
#define NR (2 * VW)
#define KC 256

typedef float vf __attribute__((vector_size(VW * 4)));
/* The same vector at float alignment: every load and store goes through it. */
typedef float vfu __attribute__((vector_size(VW * 4), aligned(4), may_alias));

static inline vf FN(ld)(const float *p) { return *(const vfu *)p; }
static inline void FN(st)(float *p, vf v) { *(vfu *)p = v; }

int FN(wino_nr)(void) { return NR; }
int FN(wino_mr)(void) { return MR; }

/* g [3][3][C][K] (HWIO) -> U [16][K/NR][C][NR] */
void FN(wino_filter)(const float *g, int C, int K, float *U) {
  int np = K / NR;
  for (int c = 0; c < C; c++)
    for (int k = 0; k < K; k++) {
      float w[3][3], t[4][3], u[4][4];
      for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) w[i][j] = g[((size_t)(i * 3 + j) * C + c) * K + k];
      for (int j = 0; j < 3; j++) {
        t[0][j] = w[0][j];
        t[1][j] = 0.5f * (w[0][j] + w[1][j] + w[2][j]);
        t[2][j] = 0.5f * (w[0][j] - w[1][j] + w[2][j]);
        t[3][j] = w[2][j];
      }
      for (int i = 0; i < 4; i++) {
        u[i][0] = t[i][0];
        u[i][1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
        u[i][2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
        u[i][3] = t[i][2];
      }
      int q = k / NR, r = k % NR;
      for (int p = 0; p < 16; p++) U[(((size_t)p * np + q) * C + c) * NR + r] = u[p / 4][p % 4];
    }
}

/* V [16][Tpad][C]: the input tiles transformed, B^T d B */
static void FN(input_transform)(const float *xn, int H, int W, int C, int TW, int t0, int T, int Tpad, float *V) {
#pragma omp for schedule(static)
  for (int t = 0; t < Tpad; t++) {
    if (t >= T) {
      for (int p = 0; p < 16; p++) memset(V + ((size_t)p * Tpad + t) * C, 0, C * sizeof(float));
      continue;
    }
    int th = (t0 + t) / TW, tw = (t0 + t) % TW, r0 = 2 * th - 1, c0 = 2 * tw - 1;
    for (int c = 0; c < C; c += VW) {
      vf d[4][4], s[4][4];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
          int r = r0 + i, cc = c0 + j;
          if (r >= 0 && r < H && cc >= 0 && cc < W) d[i][j] = FN(ld)(xn + ((size_t)r * W + cc) * C + c);
          else d[i][j] = (vf){0};
        }
      for (int j = 0; j < 4; j++) {
        s[0][j] = d[0][j] - d[2][j];
        s[1][j] = d[1][j] + d[2][j];
        s[2][j] = d[2][j] - d[1][j];
        s[3][j] = d[1][j] - d[3][j];
      }
      for (int i = 0; i < 4; i++) {
        float *v = V + ((size_t)(i * 4) * Tpad + t) * C + c;
        size_t ps = (size_t)Tpad * C;
        FN(st)(v, s[i][0] - s[i][2]);
        FN(st)(v + ps, s[i][1] + s[i][2]);
        FN(st)(v + 2 * ps, s[i][2] - s[i][1]);
        FN(st)(v + 3 * ps, s[i][1] - s[i][3]);
      }
    }
  }
}

/* Cm[MR][NR] (+)= A[MR rows, stride lda][kc] * B[kc][NR]; MR is 6 or 12, accumulators named so they stay in registers. */
#define ACC_DECL(i) vf c##i##0 = (vf){0}, c##i##1 = (vf){0}; const float *a##i = A + (i) * lda;
#define ACC_FMA(i) { float s = a##i[k]; c##i##0 += s * b0; c##i##1 += s * b1; }
#define ACC_ST(i) { float *cp = Cm + (size_t)(i) * ldc; if (accumulate) { c##i##0 += FN(ld)(cp); c##i##1 += FN(ld)(cp + VW); } FN(st)(cp, c##i##0); FN(st)(cp + VW, c##i##1); }
#if MR == 12
#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#elif MR == 6
#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#else
#error "MR must be 6 or 12"
#endif
static inline void FN(micro)(const float *A, size_t lda, const float *B, int kc, float *Cm, size_t ldc, int accumulate) {
  ROWS(ACC_DECL)
  for (int k = 0; k < kc; k++) {
    vf b0 = FN(ld)(B + (size_t)k * NR), b1 = FN(ld)(B + (size_t)k * NR + VW);
    ROWS(ACC_FMA)
  }
  ROWS(ACC_ST)
}
#undef ROWS
#undef ACC_DECL
#undef ACC_FMA
#undef ACC_ST

typedef int vi __attribute__((vector_size(VW * 4)));

/* dst[c][r] = src[r][c] for a VW x VW block (row strides in floats), in registers: log2(VW)
 * rounds that swap the off-diagonal sub-blocks of side d = VW/2, ..., 1. */
static inline void FN(transpose)(const float *src, size_t ls, float *dst, size_t ld) {
  vf a[VW];
  for (int i = 0; i < VW; i++) a[i] = FN(ld)(src + (size_t)i * ls);
  for (int d = VW / 2; d >= 1; d /= 2) {
    vi lo, hi;
    for (int l = 0; l < VW; l++) {
      lo[l] = (l & d) ? VW + l - d : l;
      hi[l] = (l & d) ? VW + l : l + d;
    }
    for (int i = 0; i < VW; i++)
      if (!(i & d)) {
        vf x = a[i], y = a[i + d];
        a[i] = __builtin_shuffle(x, y, lo);
        a[i + d] = __builtin_shuffle(x, y, hi);
      }
  }
  for (int i = 0; i < VW; i++) FN(st)(dst + (size_t)i * ld, a[i]);
}

/* Flipping a 3x3 filter in space permutes the rows of G (row 0 <-> row 3), so the Winograd
 * domain of the flipped filter is U at positions (P(a), P(b)) with P = (3, 1, 2, 0). */
static inline int FN(flipped)(int p) {
  static const int P[4] = {3, 1, 2, 0};
  return P[p / 4] * 4 + P[p % 4];
}

/*
 * M [16][Tpad][Cout] = V [16][Tpad][Cin] x (the filter's matrices).
 * Forward (transposed = 0): U [16][Cout/NR][Cin][NR] is packed already: each panel is read in place.
 * Input gradient (transposed = 1): U was made from the filter [3][3][Cout][Cin] and is read at the
 * flipped position, transposed: dx = conv(dy, filter flipped in space, in and out swapped). Its
 * panels [Cin][NR] are packed per (position, panel) into `panels` (NR * Cin floats a thread): one
 * pass over U per call, where keeping a second transformed filter would cost 16/9 of the weights.
 */
static void FN(gemms)(const float *V, const float *U, int Cin, int Cout, int Tpad, float *M, int transposed, float *panels) {
  int np = Cout / NR;
  float *panel = panels + (size_t)omp_get_thread_num() * Cin * NR;
#pragma omp for schedule(static) collapse(2)
  for (int p = 0; p < 16; p++)
    for (int q = 0; q < np; q++) {
      const float *Up;
      if (!transposed) Up = U + ((size_t)p * np + q) * Cin * NR;
      else {
        /* U of the filter [Cout][Cin]: [16][Cin/NR][Cout][NR]; panel[k][j] = U[flipped p][k / NR][q NR + j][k % NR] */
        const float *Uf = U + (size_t)FN(flipped)(p) * Cin * Cout;
        for (int kb = 0; kb < Cin; kb += NR) {
          const float *block = Uf + ((size_t)(kb / NR) * Cout + (size_t)q * NR) * NR;
          for (int bj = 0; bj < NR; bj += VW)
            for (int br = 0; br < NR; br += VW) FN(transpose)(block + (size_t)bj * NR + br, NR, panel + (size_t)(kb + br) * NR + bj, NR);
        }
        Up = panel;
      }
      const float *Vp = V + (size_t)p * Tpad * Cin;
      float *Mp = M + (size_t)p * Tpad * Cout + (size_t)q * NR;
      for (int c0 = 0; c0 < Cin; c0 += KC) {
        int kc = Cin - c0 < KC ? Cin - c0 : KC;
        for (int t = 0; t < Tpad; t += MR) FN(micro)(Vp + (size_t)t * Cin + c0, Cin, Up + (size_t)c0 * NR, kc, Mp + (size_t)t * Cout, Cout, c0 > 0);
      }
    }
}

/* y = A^T m A per tile */
static void FN(output_transform)(const float *M, int H, int W, int K, int TW, int t0, int T, int Tpad, float *yn) {
#pragma omp for schedule(static)
  for (int t = 0; t < T; t++) {
    int th = (t0 + t) / TW, tw = (t0 + t) % TW;
    for (int k = 0; k < K; k += VW) {
      vf m[16], s[2][4];
      for (int p = 0; p < 16; p++) m[p] = FN(ld)(M + ((size_t)p * Tpad + t) * K + k);
      for (int j = 0; j < 4; j++) {
        s[0][j] = m[j] + m[4 + j] + m[8 + j];
        s[1][j] = m[4 + j] - m[8 + j] - m[12 + j];
      }
      for (int i = 0; i < 2; i++) {
        int r = 2 * th + i;
        if (r >= H) continue;
        FN(st)(yn + ((size_t)r * W + 2 * tw) * K + k, s[i][0] + s[i][1] + s[i][2]);
        if (2 * tw + 1 < W) FN(st)(yn + ((size_t)r * W + 2 * tw + 1) * K + k, s[i][1] - s[i][2] - s[i][3]);
      }
    }
  }
}

/* Tiles per chunk: V and M of a chunk stay near WORK_BYTES, so the workspace is bounded at every image size. */
#define WORK_BYTES (24u << 20)
static int FN(chunk_tiles)(int T, int C, int K) {
  long per_tile = 16L * (C + K) * 4;
  long tc = WORK_BYTES / per_tile;
  if (tc < MR) tc = MR;
  tc = tc / MR * MR;
  long tpad = (T + MR - 1) / MR * MR;
  return (int)(tc < tpad ? tc : tpad);
}

/* Floats of workspace wino_conv needs for x [., H, W, C] -> y [., H, W, K] on `threads` threads. */
size_t FN(wino_workspace)(int H, int W, int C, int K, int threads) {
  int T = ((H + 1) / 2) * ((W + 1) / 2);
  return (size_t)16 * FN(chunk_tiles)(T, C, K) * (C + K) + (size_t)threads * C * NR;
}

/*
 * y [N][H][W][K] = conv(x [N][H][W][C]) by the filter U was made from (transposed = 0: U from a
 * filter [3][3][C][K]), or by that filter's input gradient (transposed = 1: U from a filter
 * [3][3][K][C], so that x is a gradient dy and y is dx). work: wino_workspace floats.
 */
void FN(wino_conv)(const float *x, int N, int H, int W, int C, const float *U, int K, float *y, float *work, int threads, int transposed) {
  int TW = (W + 1) / 2, T = ((H + 1) / 2) * TW, Tc = FN(chunk_tiles)(T, C, K);
  float *V = work, *M = work + (size_t)16 * Tc * C, *panels = M + (size_t)16 * Tc * K;
#pragma omp parallel num_threads(threads)
  for (int n = 0; n < N; n++)
    for (int t0 = 0; t0 < T; t0 += Tc) {
      int Tn = T - t0 < Tc ? T - t0 : Tc, Tp = (Tn + MR - 1) / MR * MR;
      FN(input_transform)(x + (size_t)n * H * W * C, H, W, C, TW, t0, Tn, Tp, V);
      FN(gemms)(V, U, C, K, Tp, M, transposed, panels);
      FN(output_transform)(M, H, W, K, TW, t0, Tn, Tp, y + (size_t)n * H * W * K);
    }
}
