/* The fused epilogue's kernels (epilogue-kernels.c); 0 on success, -1 when out of memory. */
#include <stddef.h>

/* x [N][P][C] (P = H W), bias [C] or NULL (the preceding convolution's), noise [N][P] or NULL, nw [C], scale1 and shift [N][C] ->
 * y and a [N][P][C] (a: the LeakyReLU output the backward reads), stats [2][N][C] (mean, r). */
int epilogue_forward(const float *x, int N, size_t P, int C, const float *bias, const float *noise, const float *nw, const float *scale1,
                     const float *shift, float *y, float *a, float *stats);

/* dy and a [N][P][C], stats and scale1 as above, nw [C] or NULL -> dz [N][P][C], dscale1 and
 * dshift [N][C], and with nw dnoise [N][P] (the gradient of the noise map). */
int epilogue_backward(const float *dy, const float *a, int N, size_t P, int C, const float *stats, const float *scale1, const float *nw,
                      float *dz, float *dscale1, float *dshift, float *dnoise);
