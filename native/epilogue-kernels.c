/*
 * StyleGAN v1's layer epilogue for a PULSE search, fused: noise, LeakyReLU(0.2), instance norm and
 * the style modulation in two passes over the maps forward and two backward, where tfjs's ops
 * take about a dozen full-size kernels each way (src/stylegan/layers.ts has the same maths as
 * tfjs ops: the reference these kernels are tested against, test/epilogue-native.test.ts).
 *
 * Per image n and channel c, over the P = H W pixels (NHWC, channels innermost):
 *   forward   z = x + bias[c] + noise[p] nw[c];  a = z > 0 ? z : 0.2 z
 *             mean = sum(a) / P;  r = 1 / sqrt(sum(a^2) / P - mean^2 + 1e-5)
 *             y = ((a - mean) r) scale1 + shift
 *   backward  xn = (a - mean) r;  dShift = sum(dy);  dScale1 = sum(dy xn)
 *             da = (dy - dShift / P - xn dScale1 / P) (scale1 r);  dz = a > 0 ? da : 0.2 da
 *             dNoise[p] = sum over c of dz nw[c]  (only where the noise map is searched)
 * The sums run in double, one pass for both moments (in double the cancellation in
 * E[a^2] - mean^2 costs nothing at float precision); tfjs sums in float, two passes. The pixels
 * are split among the OpenMP threads, each with its own partial sums, added in thread order: the
 * same thread count gives the same bits.
 *
 * target_clones compiles each loop for AVX-512, AVX2 and plain x86-64; the loader picks one.
 */
#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "epilogue-kernels.h"

#define SLOPE 0.2f
#define EPS 1e-5
#define CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default")))

/* Below this many values per image one thread does it all: the threads' start-up would cost more. */
#define MIN_PARALLEL 65536

static int threads_for(size_t values) { return values < MIN_PARALLEL ? 1 : omp_get_max_threads(); }

/* acc[2][C] (+)= sums of a and a^2 over pixels [p0, p1) of one image, writing a. */
CLONES static void forward_pass(const float *x, const float *bias, const float *noise, const float *nw, int C, size_t p0, size_t p1, float *a,
                                double *sum, double *sq) {
  for (size_t p = p0; p < p1; p++) {
    const float *xp = x + p * C;
    float *ap = a + p * C;
    float np = noise ? noise[p] : 0.0f;
#pragma omp simd
    for (int c = 0; c < C; c++) {
      /* In the order the tfjs ops add: (x + bias) + noise nw. */
      float z = bias ? xp[c] + bias[c] : xp[c];
      if (noise) z += np * nw[c];
      float v = z > 0.0f ? z : SLOPE * z;
      ap[c] = v;
      sum[c] += v;
      sq[c] += (double)v * v;
    }
  }
}

CLONES static void style_pass(const float *a, const float *mean, const float *r, const float *scale1, const float *shift, int C, size_t p0,
                              size_t p1, float *y) {
  for (size_t p = p0; p < p1; p++) {
    const float *ap = a + p * C;
    float *yp = y + p * C;
#pragma omp simd
    for (int c = 0; c < C; c++) yp[c] = (ap[c] - mean[c]) * r[c] * scale1[c] + shift[c];
  }
}

CLONES static void grad_sums_pass(const float *dy, const float *a, const float *mean, const float *r, int C, size_t p0, size_t p1, double *dshift,
                                  double *dscale) {
  for (size_t p = p0; p < p1; p++) {
    const float *dp = dy + p * C, *ap = a + p * C;
#pragma omp simd
    for (int c = 0; c < C; c++) {
      dshift[c] += dp[c];
      dscale[c] += (double)dp[c] * ((ap[c] - mean[c]) * r[c]);
    }
  }
}

CLONES static void grad_pass(const float *dy, const float *a, const float *mean, const float *r, const float *k0, const float *k1,
                             const float *k2, const float *nw, int C, size_t p0, size_t p1, float *dz, float *dnoise) {
  for (size_t p = p0; p < p1; p++) {
    const float *dp = dy + p * C, *ap = a + p * C;
    float *zp = dz + p * C;
    float dn = 0.0f;
#pragma omp simd reduction(+ : dn)
    for (int c = 0; c < C; c++) {
      /* da = (dy - dShift/P - xn dScale1/P) (scale1 r), with k0 = dShift/P, k1 = dScale1/P, k2 = scale1 r */
      float xn = (ap[c] - mean[c]) * r[c];
      float da = (dp[c] - k0[c] - xn * k1[c]) * k2[c];
      float d = ap[c] > 0.0f ? da : SLOPE * da;
      zp[c] = d;
      if (nw) dn += d * nw[c];
    }
    if (dnoise) dnoise[p] = dn;
  }
}

/* The pixel range of thread t of T over P pixels. */
static void range(size_t P, int t, int T, size_t *p0, size_t *p1) {
  *p0 = P * t / T;
  *p1 = P * (t + 1) / T;
}

int epilogue_forward(const float *x, int N, size_t P, int C, const float *bias, const float *noise, const float *nw, const float *scale1,
                     const float *shift, float *y, float *a, float *stats) {
  int T = threads_for(P * C);
  double *acc = calloc((size_t)T * 2 * C, sizeof(double));
  if (!acc) return -1;
  for (int n = 0; n < N; n++) {
    const float *xn = x + (size_t)n * P * C, *nn = noise ? noise + (size_t)n * P : NULL;
    float *an = a + (size_t)n * P * C, *yn = y + (size_t)n * P * C;
    float *mean = stats + (size_t)n * C, *r = stats + (size_t)(N + n) * C;
    memset(acc, 0, (size_t)T * 2 * C * sizeof(double));
#pragma omp parallel num_threads(T)
    {
      int t = omp_get_thread_num();
      size_t p0, p1;
      range(P, t, T, &p0, &p1);
      forward_pass(xn, bias, nn, nw, C, p0, p1, an, acc + (size_t)t * 2 * C, acc + (size_t)t * 2 * C + C);
#pragma omp barrier
#pragma omp single
      for (int c = 0; c < C; c++) {
        double s = 0, q = 0;
        for (int u = 0; u < T; u++) s += acc[(size_t)u * 2 * C + c], q += acc[(size_t)u * 2 * C + C + c];
        double m = s / (double)P, v = q / (double)P - m * m;
        mean[c] = (float)m;
        r[c] = (float)(1.0 / sqrt((v > 0 ? v : 0) + EPS));
      }
      style_pass(an, mean, r, scale1 + (size_t)n * C, shift + (size_t)n * C, C, p0, p1, yn);
    }
  }
  free(acc);
  return 0;
}

int epilogue_backward(const float *dy, const float *a, int N, size_t P, int C, const float *stats, const float *scale1, const float *nw,
                      float *dz, float *dscale1, float *dshift, float *dnoise) {
  int T = threads_for(P * C);
  double *acc = calloc((size_t)T * 2 * C, sizeof(double));
  float *k = malloc((size_t)3 * C * sizeof(float));
  if (!acc || !k) {
    free(acc);
    free(k);
    return -1;
  }
  for (int n = 0; n < N; n++) {
    const float *dyn = dy + (size_t)n * P * C, *an = a + (size_t)n * P * C;
    const float *mean = stats + (size_t)n * C, *r = stats + (size_t)(N + n) * C, *s1 = scale1 + (size_t)n * C;
    float *dzn = dz + (size_t)n * P * C, *dnn = dnoise ? dnoise + (size_t)n * P : NULL;
    memset(acc, 0, (size_t)T * 2 * C * sizeof(double));
#pragma omp parallel num_threads(T)
    {
      int t = omp_get_thread_num();
      size_t p0, p1;
      range(P, t, T, &p0, &p1);
      grad_sums_pass(dyn, an, mean, r, C, p0, p1, acc + (size_t)t * 2 * C, acc + (size_t)t * 2 * C + C);
#pragma omp barrier
#pragma omp single
      for (int c = 0; c < C; c++) {
        double sh = 0, sc = 0;
        for (int u = 0; u < T; u++) sh += acc[(size_t)u * 2 * C + c], sc += acc[(size_t)u * 2 * C + C + c];
        dshift[(size_t)n * C + c] = (float)sh;
        dscale1[(size_t)n * C + c] = (float)sc;
        k[c] = (float)(sh / (double)P);
        k[C + c] = (float)(sc / (double)P);
        k[2 * C + c] = s1[c] * r[c];
      }
      grad_pass(dyn, an, mean, r, k, k + C, k + 2 * C, dnn ? nw : NULL, C, p0, p1, dzn, dnn);
    }
  }
  free(acc);
  free(k);
  return 0;
}
