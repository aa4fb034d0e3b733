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
 * transformed filter U [16][K/NR][C][NR] (NR = 2 VW output channels per panel). The end of the
 * file does the same for the 2x upscale convolution's four sub-pixel phases by F(2x2, 2x2).
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
static void FN(input_transform)(const float *x, int H, int W, int C, int TW, int Timg, int t0, int T, int Tpad, float *V) {
#pragma omp for schedule(static)
  for (int t = 0; t < Tpad; t++) {
    if (t >= T) {
      for (int p = 0; p < 16; p++) memset(V + ((size_t)p * Tpad + t) * C, 0, C * sizeof(float));
      continue;
    }
    int g = t0 + t, n = g / Timg, th = g % Timg / TW, tw = g % Timg % TW, r0 = 2 * th - 1, c0 = 2 * tw - 1;
    const float *xn = x + (size_t)n * H * W * C;
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

/*
 * M [P][Tpad][Cout] (+)= V [P][Tpad][Cin] x (the filter's P matrices), P = 16 for F(2x2, 3x3)
 * and 9 for F(2x2, 2x2).
 * Forward (transposed = 0): U [P][Cout/NR][Cin][NR] is packed already: each panel is read in place.
 * Input gradient (transposed = 1): U was made from the filter [.][.][Cout][Cin] and is read at the
 * flipped position flip[p], transposed: dx = conv(dy, filter flipped in space, in and out swapped).
 * Its panels [Cin][NR] are packed per (position, panel) into `panels` (NR * Cin floats a thread):
 * one pass over U per call, where keeping a second transformed filter would cost as much memory
 * as the first. accumulate = 1 adds to M (the upscale's input gradient sums four phases).
 */
static void FN(gemm_positions)(const float *V, const float *U, int P, const int *flip, int Cin, int Cout, int Tpad, float *M,
                               int transposed, int accumulate, float *panels) {
  int np = Cout / NR;
  float *panel = panels + (size_t)omp_get_thread_num() * Cin * NR;
#pragma omp for schedule(static) collapse(2)
  for (int p = 0; p < P; p++)
    for (int q = 0; q < np; q++) {
      const float *Up;
      if (!transposed) Up = U + ((size_t)p * np + q) * Cin * NR;
      else {
        /* U of the filter [Cout][Cin]: [P][Cin/NR][Cout][NR]; panel[k][j] = U[flip p][k / NR][q NR + j][k % NR] */
        const float *Uf = U + (size_t)flip[p] * Cin * Cout;
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
        for (int t = 0; t < Tpad; t += MR)
          FN(micro)(Vp + (size_t)t * Cin + c0, Cin, Up + (size_t)c0 * NR, kc, Mp + (size_t)t * Cout, Cout, accumulate || c0 > 0);
      }
    }
}

/* Flipping a 3x3 filter in space permutes the rows of G (row 0 <-> row 3): position (a, b) of
 * the flipped filter's U is (P(a), P(b)) of the filter's, P = (3, 1, 2, 0). */
static const int FN(flip16)[16] = {15, 13, 14, 12, 7, 5, 6, 4, 11, 9, 10, 8, 3, 1, 2, 0};

static void FN(gemms)(const float *V, const float *U, int Cin, int Cout, int Tpad, float *M, int transposed, float *panels) {
  FN(gemm_positions)(V, U, 16, FN(flip16), Cin, Cout, Tpad, M, transposed, 0, panels);
}

/* y = A^T m A per tile */
static void FN(output_transform)(const float *M, int H, int W, int K, int TW, int Timg, int t0, int T, int Tpad, float *y) {
#pragma omp for schedule(static)
  for (int t = 0; t < T; t++) {
    int g = t0 + t, n = g / Timg, th = g % Timg / TW, tw = g % Timg % TW;
    float *yn = y + (size_t)n * H * W * K;
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
size_t FN(wino_workspace)(int N, int H, int W, int C, int K, int threads) {
  int T = N * ((H + 1) / 2) * ((W + 1) / 2);
  return (size_t)16 * FN(chunk_tiles)(T, C, K) * (C + K) + (size_t)threads * C * NR;
}

/*
 * y [N][H][W][K] = conv(x [N][H][W][C]) by the filter U was made from (transposed = 0: U from a
 * filter [3][3][C][K]), or by that filter's input gradient (transposed = 1: U from a filter
 * [3][3][K][C], so that x is a gradient dy and y is dx). work: wino_workspace floats.
 */
void FN(wino_conv)(const float *x, int N, int H, int W, int C, const float *U, int K, float *y, float *work, int threads, int transposed) {
  /* The tiles of all N images form one sequence, so that a batch reads the filter once per chunk. */
  int TW = (W + 1) / 2, Timg = ((H + 1) / 2) * TW, T = N * Timg, Tc = FN(chunk_tiles)(T, C, K);
  float *V = work, *M = work + (size_t)16 * Tc * C, *panels = M + (size_t)16 * Tc * K;
#pragma omp parallel num_threads(threads)
  for (int t0 = 0; t0 < T; t0 += Tc) {
    int Tn = T - t0 < Tc ? T - t0 : Tc, Tp = (Tn + MR - 1) / MR * MR;
    FN(input_transform)(x, H, W, C, TW, Timg, t0, Tn, Tp, V);
    FN(gemms)(V, U, C, K, Tp, M, transposed, panels);
    FN(output_transform)(M, H, W, K, TW, Timg, t0, Tn, Tp, y);
  }
}

/*
 * The 2x upscale convolution (nearest upscale + 3x3 conv, or the official fused stride-2
 * transposed 4x4 conv) as four sub-pixel phases (src/stylegan/frozen-ops.ts, subPixelFilters):
 * output pixel (2m + a, 2n + b) is a 2x2 convolution of x by phase (a, b)'s filter over rows
 * m - 1 + a, m + a and columns n - 1 + b, n + b. Each phase runs as Winograd F(2x2, 2x2): a 3x3
 * input tile gives a 2x2 output tile with 9 products per channel pair where the direct 2x2
 * convolution takes 16. B^T = [1 -1 0; 0 1 0; 0 -1 1], G = [1 0; 1 1; 0 1], A^T = [1 1 0; 0 1 1].
 * Filters: phases [4][2][2][C][K] -> U [4][9][K/NR][C][NR].
 */
void FN(up_filter)(const float *phases, int C, int K, float *U) {
  int np = K / NR;
  for (int ph = 0; ph < 4; ph++)
    for (int c = 0; c < C; c++)
      for (int k = 0; k < K; k++) {
        float w[2][2], t[3][2], u[3][3];
        for (int i = 0; i < 2; i++)
          for (int j = 0; j < 2; j++) w[i][j] = phases[(((size_t)ph * 4 + i * 2 + j) * C + c) * K + k];
        for (int j = 0; j < 2; j++) {
          t[0][j] = w[0][j];
          t[1][j] = w[0][j] + w[1][j];
          t[2][j] = w[1][j];
        }
        for (int i = 0; i < 3; i++) {
          u[i][0] = t[i][0];
          u[i][1] = t[i][0] + t[i][1];
          u[i][2] = t[i][1];
        }
        int q = k / NR, r = k % NR;
        for (int p = 0; p < 9; p++) U[((((size_t)ph * 9 + p) * np + q) * C + c) * NR + r] = u[p / 3][p % 3];
      }
}

/* V [9][Tpad][C]: B^T d B of the 3x3 tiles of one plane of x, tile t's first row and column at
 * (2 th + dr, 2 tw + dc); `x` rows are `rowStride` floats apart and a plane row r is row
 * (r * step + offsetRow) of x (step 2 reads one phase plane of a 2x image). */
static void FN(up_input_transform)(const float *x, int H, int W, int C, int TW, int Timg, size_t imgStride, int t0, int T, int Tpad,
                                   int dr, int dc, int step, int offR, int offC, size_t rowStride, float *V) {
#pragma omp for schedule(static)
  for (int t = 0; t < Tpad; t++) {
    if (t >= T) {
      for (int p = 0; p < 9; p++) memset(V + ((size_t)p * Tpad + t) * C, 0, C * sizeof(float));
      continue;
    }
    int g = t0 + t, n = g / Timg, th = g % Timg / TW, tw = g % Timg % TW, r0 = 2 * th + dr, c0 = 2 * tw + dc;
    const float *xn = x + (size_t)n * imgStride;
    for (int c = 0; c < C; c += VW) {
      vf d[3][3], s[3][3];
      for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
          int r = r0 + i, cc = c0 + j;
          if (r >= 0 && r < H && cc >= 0 && cc < W) d[i][j] = FN(ld)(xn + (size_t)(r * step + offR) * rowStride + (size_t)(cc * step + offC) * C + c);
          else d[i][j] = (vf){0};
        }
      for (int j = 0; j < 3; j++) {
        s[0][j] = d[0][j] - d[1][j];
        s[1][j] = d[1][j];
        s[2][j] = d[2][j] - d[1][j];
      }
      size_t ps = (size_t)Tpad * C;
      for (int i = 0; i < 3; i++) {
        float *v = V + ((size_t)(i * 3) * Tpad + t) * C + c;
        FN(st)(v, s[i][0] - s[i][1]);
        FN(st)(v + ps, s[i][1]);
        FN(st)(v + 2 * ps, s[i][2] - s[i][1]);
      }
    }
  }
}

/* A^T m A per tile: the 2x2 outputs of tile t at plane rows 2 th + i, written at row
 * (row * step + offR) and column (col * step + offC) of y (rows `rowStride` floats apart). */
static void FN(up_output_transform)(const float *M, int H, int W, int K, int TW, int Timg, size_t imgStride, int t0, int T, int Tpad,
                                    int step, int offR, int offC, size_t rowStride, float *y) {
#pragma omp for schedule(static)
  for (int t = 0; t < T; t++) {
    int g = t0 + t, n = g / Timg, th = g % Timg / TW, tw = g % Timg % TW;
    float *yn = y + (size_t)n * imgStride;
    for (int k = 0; k < K; k += VW) {
      vf m[9], s[2][3];
      for (int p = 0; p < 9; p++) m[p] = FN(ld)(M + ((size_t)p * Tpad + t) * K + k);
      for (int j = 0; j < 3; j++) {
        s[0][j] = m[j] + m[3 + j];
        s[1][j] = m[3 + j] + m[6 + j];
      }
      for (int i = 0; i < 2; i++) {
        int r = 2 * th + i;
        if (r >= H) continue;
        float *row = yn + (size_t)(r * step + offR) * rowStride + k;
        FN(st)(row + (size_t)((2 * tw) * step + offC) * K, s[i][0] + s[i][1]);
        if (2 * tw + 1 < W) FN(st)(row + (size_t)((2 * tw + 1) * step + offC) * K, s[i][1] + s[i][2]);
      }
    }
  }
}

/* Flipping a 2x2 filter reverses G's three rows: position (a, b) -> (2 - a, 2 - b). */
static const int FN(flip9)[9] = {8, 7, 6, 5, 4, 3, 2, 1, 0};

/* Floats of workspace for the upscale conv between C and K channels at low-res side H x W. */
size_t FN(up_workspace)(int N, int H, int W, int C, int K, int threads) {
  int T = N * ((H + 1) / 2) * ((W + 1) / 2);
  return (size_t)9 * FN(chunk_tiles)(T, C, K) * (C + K) + (size_t)threads * (C > K ? C : K) * NR;
}

/*
 * transposed = 0: x [N][H][W][C] -> y [N][2H][2W][K], phase (a, b) of U (from filters [.][.][C][K]).
 * transposed = 1: its input gradient, dy [N][2H][2W][C] -> dx [N][H][W][K], with U made from the
 * filters [.][.][K][C]: dx is the sum over phases of the 2x2 convolutions of dy's phase planes
 * by the flipped, transposed phase filters, over plane rows m - a, m + 1 - a, summed in the
 * Winograd domain before one output transform.
 */
void FN(up_conv)(const float *x, int N, int H, int W, int C, const float *U, int K, float *y, float *work, int threads, int transposed) {
  /* The tiles of all N images form one sequence, so that a batch reads the filter once per chunk. */
  int TW = (W + 1) / 2, Timg = ((H + 1) / 2) * TW, T = N * Timg, Tc = FN(chunk_tiles)(T, C, K);
  float *V = work, *M = work + (size_t)9 * Tc * C, *panels = M + (size_t)9 * Tc * K;
  size_t xRow = (size_t)(transposed ? 2 * W : W) * C, yRow = (size_t)(transposed ? W : 2 * W) * K;
  size_t xImg = (size_t)(transposed ? 4 : 1) * H * W * C, yImg = (size_t)(transposed ? 1 : 4) * H * W * K;
#pragma omp parallel num_threads(threads)
  for (int t0 = 0; t0 < T; t0 += Tc) {
    int Tn = T - t0 < Tc ? T - t0 : Tc, Tp = (Tn + MR - 1) / MR * MR;
    for (int a = 0; a < 2; a++)
      for (int b = 0; b < 2; b++) {
        const float *Uph = U + (size_t)(2 * a + b) * 9 * C * K;
        if (!transposed) {
          FN(up_input_transform)(x, H, W, C, TW, Timg, xImg, t0, Tn, Tp, a - 1, b - 1, 1, 0, 0, xRow, V);
          FN(gemm_positions)(V, Uph, 9, FN(flip9), C, K, Tp, M, 0, 0, panels);
          FN(up_output_transform)(M, H, W, K, TW, Timg, yImg, t0, Tn, Tp, 2, a, b, yRow, y);
        } else {
          FN(up_input_transform)(x, H, W, C, TW, Timg, xImg, t0, Tn, Tp, -a, -b, 2, a, b, xRow, V);
          FN(gemm_positions)(V, Uph, 9, FN(flip9), C, K, Tp, M, 1, a + b > 0, panels);
        }
      }
    if (transposed) FN(up_output_transform)(M, H, W, K, TW, Timg, yImg, t0, Tn, Tp, 1, 0, 0, yRow, y);
  }
}
