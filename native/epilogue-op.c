/*
 * The fused epilogue as two TensorFlow ops (registered beside the Winograd ops, winograd-op.c;
 * src/backend/epilogue-op.ts runs them, src/stylegan/layers.ts uses them in a search):
 *
 *   PulseEpilogue(x [N, H, W, C], bias [C] or empty, noise [N, H, W, 1] or empty, noise_weight [C],
 *                 scale1 [N, .., C], shift [N, .., C]) -> y [N, H, W, C], a [N, H, W, C], stats [2, N, C]
 *   PulseEpilogueGrad(dy [N, H, W, C], a, stats, scale1, noise_weight [C] or empty)
 *                 -> dz [N, H, W, C], dscale1 and dshift (scale1's shape), dnoise [N, H, W, 1] or empty
 *
 * The bias is the preceding convolution's, added here to save a pass over the maps (a search's is a
 * constant: no gradient). An empty noise map means no noise; an empty noise_weight in the gradient means the noise map is
 * a constant (no dnoise). The maths is in epilogue-kernels.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "epilogue-kernels.h"
#include "tf-kernel-api.h"

static size_t elements(TF_Tensor *t) {
  size_t n = 1;
  for (int i = 0; i < TF_NumDims(t); i++) n *= (size_t)TF_Dim(t, i);
  return n;
}

static void *create_kernel(TF_OpKernelConstruction *ctx) { return NULL; }
static void delete_kernel(void *kernel) {}

/* Gets inputs 0..count-1 into t[]; false (with the status set) when one is missing. */
static int get_inputs(TF_OpKernelContext *ctx, TF_Tensor **t, int count, TF_Status *s) {
  for (int i = 0; i < count; i++) {
    TF_GetInput(ctx, i, &t[i], s);
    if (TF_GetCode(s) != TF_OK) return 0;
  }
  return 1;
}

static TF_Tensor *allocate(TF_OpKernelContext *ctx, int index, const int64_t *dims, int rank, TF_Status *s) {
  size_t n = 1;
  for (int i = 0; i < rank; i++) n *= (size_t)dims[i];
  return TF_AllocateOutput(ctx, index, TF_FLOAT, dims, rank, n * sizeof(float), s);
}

/* Checks x [N, H, W, C] against the per-image [N x C] and per-channel [C] inputs; a message or NULL. */
static const char *check_shapes(const char *name, TF_Tensor *x, TF_Tensor *perImage, const char *perImageName, TF_Tensor *perChannel,
                                char *m, size_t size) {
  if (TF_NumDims(x) != 4) {
    snprintf(m, size, "%s: the maps must be [n, h, w, channels], got rank %d", name, TF_NumDims(x));
    return m;
  }
  size_t N = (size_t)TF_Dim(x, 0), C = (size_t)TF_Dim(x, 3);
  if (TF_NumDims(perImage) < 2 || (size_t)TF_Dim(perImage, 0) != N || elements(perImage) != N * C) {
    snprintf(m, size, "%s: %s must hold one value per image and channel ([%zu, .., %zu])", name, perImageName, N, C);
    return m;
  }
  if (perChannel && elements(perChannel) != 0 && elements(perChannel) != C) {
    snprintf(m, size, "%s: noise_weight must have %zu values (one per channel) or none, got %zu", name, C, elements(perChannel));
    return m;
  }
  return NULL;
}

static void forward_compute(void *kernel, TF_OpKernelContext *ctx) {
  const char *name = "PulseEpilogue";
  char m[256];
  TF_Status *s = TF_NewStatus();
  TF_Tensor *in[6] = {0}, *out[3] = {0};
  if (!get_inputs(ctx, in, 6, s)) goto done;
  TF_Tensor *x = in[0], *bias = in[1], *noise = in[2], *nw = in[3], *scale1 = in[4], *shift = in[5];
  const char *bad = check_shapes(name, x, scale1, "scale1", nw, m, sizeof m);
  if (!bad) bad = check_shapes(name, x, shift, "shift", NULL, m, sizeof m);
  if (!bad && elements(bias) != 0 && elements(bias) != (size_t)TF_Dim(x, 3)) {
    snprintf(m, sizeof m, "%s: bias must have %lld values (one per channel) or none, got %zu", name, (long long)TF_Dim(x, 3), elements(bias));
    bad = m;
  }
  int N = bad ? 0 : (int)TF_Dim(x, 0), C = bad ? 0 : (int)TF_Dim(x, 3);
  size_t P = bad ? 0 : (size_t)TF_Dim(x, 1) * TF_Dim(x, 2);
  int hasNoise = !bad && elements(noise) != 0;
  if (!bad && hasNoise && (elements(noise) != (size_t)N * P || elements(nw) != (size_t)C)) {
    snprintf(m, sizeof m, "%s: a noise map must be [%d, %lld, %lld, 1] with a noise_weight of %d values", name, N, (long long)TF_Dim(x, 1),
             (long long)TF_Dim(x, 2), C);
    bad = m;
  }
  if (bad) {
    pulse_fail(ctx, bad);
    goto done;
  }
  int64_t dims[4] = {TF_Dim(x, 0), TF_Dim(x, 1), TF_Dim(x, 2), TF_Dim(x, 3)}, statDims[3] = {2, N, C};
  out[0] = allocate(ctx, 0, dims, 4, s);
  if (TF_GetCode(s) == TF_OK) out[1] = allocate(ctx, 1, dims, 4, s);
  if (TF_GetCode(s) == TF_OK) out[2] = allocate(ctx, 2, statDims, 3, s);
  if (TF_GetCode(s) != TF_OK || elements(x) == 0) goto done;
  if (epilogue_forward((const float *)TF_TensorData(x), N, P, C, elements(bias) ? (const float *)TF_TensorData(bias) : NULL, hasNoise ? (const float *)TF_TensorData(noise) : NULL,
                       hasNoise ? (const float *)TF_TensorData(nw) : NULL, (const float *)TF_TensorData(scale1),
                       (const float *)TF_TensorData(shift), (float *)TF_TensorData(out[0]), (float *)TF_TensorData(out[1]),
                       (float *)TF_TensorData(out[2])) != 0)
    TF_SetStatus(s, TF_RESOURCE_EXHAUSTED, "PulseEpilogue: no memory for the per-thread sums");
done:
  if (TF_GetCode(s) != TF_OK) TF_OpKernelContext_Failure(ctx, s);
  for (int i = 0; i < 6; i++) TF_DeleteTensor(in[i]);
  for (int i = 0; i < 3; i++) TF_DeleteTensor(out[i]);
  TF_DeleteStatus(s);
}

static void backward_compute(void *kernel, TF_OpKernelContext *ctx) {
  const char *name = "PulseEpilogueGrad";
  char m[256];
  TF_Status *s = TF_NewStatus();
  TF_Tensor *in[5] = {0}, *out[4] = {0};
  if (!get_inputs(ctx, in, 5, s)) goto done;
  TF_Tensor *dy = in[0], *a = in[1], *stats = in[2], *scale1 = in[3], *nw = in[4];
  const char *bad = check_shapes(name, dy, scale1, "scale1", nw, m, sizeof m);
  int N = bad ? 0 : (int)TF_Dim(dy, 0), C = bad ? 0 : (int)TF_Dim(dy, 3);
  if (!bad && (elements(a) != elements(dy) || TF_NumDims(a) != 4 || elements(stats) != (size_t)2 * N * C)) {
    snprintf(m, sizeof m, "%s: a must have dy's shape and stats [2, %d, %d] (both from PulseEpilogue)", name, N, C);
    bad = m;
  }
  if (bad) {
    pulse_fail(ctx, bad);
    goto done;
  }
  size_t P = (size_t)TF_Dim(dy, 1) * TF_Dim(dy, 2);
  int wantNoise = elements(nw) != 0;
  int64_t dims[4] = {TF_Dim(dy, 0), TF_Dim(dy, 1), TF_Dim(dy, 2), TF_Dim(dy, 3)}, perImage[8], noiseDims[4] = {N, dims[1], dims[2], 1};
  int rank = TF_NumDims(scale1) < 8 ? TF_NumDims(scale1) : 8;
  for (int i = 0; i < rank; i++) perImage[i] = TF_Dim(scale1, i);
  int64_t none[1] = {0};
  out[0] = allocate(ctx, 0, dims, 4, s);
  if (TF_GetCode(s) == TF_OK) out[1] = allocate(ctx, 1, perImage, rank, s);
  if (TF_GetCode(s) == TF_OK) out[2] = allocate(ctx, 2, perImage, rank, s);
  if (TF_GetCode(s) == TF_OK) out[3] = wantNoise ? allocate(ctx, 3, noiseDims, 4, s) : allocate(ctx, 3, none, 1, s);
  if (TF_GetCode(s) != TF_OK || elements(dy) == 0) goto done;
  if (epilogue_backward((const float *)TF_TensorData(dy), (const float *)TF_TensorData(a), N, P, C, (const float *)TF_TensorData(stats),
                        (const float *)TF_TensorData(scale1), wantNoise ? (const float *)TF_TensorData(nw) : NULL,
                        (float *)TF_TensorData(out[0]), (float *)TF_TensorData(out[1]), (float *)TF_TensorData(out[2]),
                        wantNoise ? (float *)TF_TensorData(out[3]) : NULL) != 0)
    TF_SetStatus(s, TF_RESOURCE_EXHAUSTED, "PulseEpilogueGrad: no memory for the per-thread sums");
done:
  if (TF_GetCode(s) != TF_OK) TF_OpKernelContext_Failure(ctx, s);
  for (int i = 0; i < 5; i++) TF_DeleteTensor(in[i]);
  for (int i = 0; i < 4; i++) TF_DeleteTensor(out[i]);
  TF_DeleteStatus(s);
}

static void unknown_shape(TF_ShapeInferenceContext *ctx, TF_Status *status) { TF_ShapeInferenceContextSetUnknownShape(ctx, status); }

static const char *register_one(const char *name, const char *const *inputs, int nIn, const char *const *outputs, int nOut,
                                void (*compute)(void *, TF_OpKernelContext *), char *message, size_t size) {
  TF_Status *s = TF_NewStatus();
  TF_OpDefinitionBuilder *b = TF_NewOpDefinitionBuilder(name);
  for (int i = 0; i < nIn; i++) TF_OpDefinitionBuilderAddInput(b, inputs[i]);
  for (int i = 0; i < nOut; i++) TF_OpDefinitionBuilderAddOutput(b, outputs[i]);
  TF_OpDefinitionBuilderSetShapeInferenceFunction(b, unknown_shape);
  TF_RegisterOpDefinition(b, s);
  if (TF_GetCode(s) == TF_OK) TF_RegisterKernelBuilder(name, TF_NewKernelBuilder(name, "CPU", create_kernel, compute, delete_kernel), s);
  const char *result = NULL;
  if (TF_GetCode(s) != TF_OK) {
    snprintf(message, size, "registering %s: %s", name, TF_Message(s));
    result = message;
  }
  TF_DeleteStatus(s);
  return result;
}

/* Registers both ops and their CPU kernels; an error message, or NULL. */
const char *register_epilogue_ops(void) {
  static char message[256];
  static const char *const fwdIn[] = {"x: float", "bias: float", "noise: float", "noise_weight: float", "scale1: float", "shift: float"};
  static const char *const fwdOut[] = {"y: float", "a: float", "stats: float"};
  static const char *const bwdIn[] = {"dy: float", "a: float", "stats: float", "scale1: float", "noise_weight: float"};
  static const char *const bwdOut[] = {"dz: float", "dscale1: float", "dshift: float", "dnoise: float"};
  const char *error = register_one("PulseEpilogue", fwdIn, 6, fwdOut, 3, forward_compute, message, sizeof message);
  if (!error) error = register_one("PulseEpilogueGrad", bwdIn, 5, bwdOut, 4, backward_compute, message, sizeof message);
  return error;
}
