/*
 * TensorFlow ops of our own (the fused epilogue's two are in epilogue-op.c; this file's module
 * init registers them too), registered in the TensorFlow library that @tensorflow/tfjs-node
 * has already loaded, so that tfjs runs them like its built-in ops (src/backend/winograd-addon.ts):
 *
 *   PulseWinogradFilter(filter [3, 3, C, K]) -> u [16, K / NR, C, NR]
 *     the filter in the Winograd domain, G g G^T, packed in panels of NR output channels;
 *   PulseWinogradConv(x [N, H, W, C], u) -> y [N, H, W, K]
 *     the stride-1 'same' 3x3 convolution of x by the filter u came from (winograd-kernels.h);
 *   PulseWinogradConvInputGradient(dy [N, H, W, K], u) -> dx [N, H, W, C]
 *     its gradient with respect to x, from the same u (the filter flipped and transposed is a
 *     permutation of u's positions, read transposed: no second transformed filter is kept);
 *   PulseWinogradUpscaleFilter(phases [4, 2, 2, C, K]) -> u [4, 9, K / NR, C, NR]
 *   PulseWinogradUpscaleConv(x [N, H, W, C], u) -> y [N, 2H, 2W, K]
 *   PulseWinogradUpscaleConvInputGradient(dy [N, 2H, 2W, K], u) -> dx [N, H, W, C]
 *     the same three for the 2x upscale convolution as four sub-pixel phases of 2x2 filters,
 *     each by Winograd F(2x2, 2x2).
 *
 * Registered when Node loads this addon (its N-API init), for the widest instruction set the CPU
 * has: AVX-512 (NR = 32) or AVX2 with FMA (NR = 16). On a CPU with neither nothing is registered
 * and the module says so; the callers then keep TensorFlow's Conv2D.
 */
#include <node_api.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tf-kernel-api.h"

#define DECLARE(S)                                                                                      \
  void wino_filter##S(const float *g, int C, int K, float *U);                                          \
  size_t wino_workspace##S(int N, int H, int W, int C, int K, int threads);                                    \
  void wino_conv##S(const float *x, int N, int H, int W, int C, const float *U, int K, float *y, float *work, \
                    int threads, int transposed);                                                       \
  void up_filter##S(const float *phases, int C, int K, float *U);                                       \
  size_t up_workspace##S(int N, int H, int W, int C, int K, int threads);                                      \
  void up_conv##S(const float *x, int N, int H, int W, int C, const float *U, int K, float *y, float *work, \
                  int threads, int transposed);
DECLARE(_avx512)
DECLARE(_avx2)

typedef void FilterFn(const float *, int, int, float *);
typedef size_t WorkspaceFn(int, int, int, int, int, int);
typedef void ConvFn(const float *, int, int, int, int, const float *, int, float *, float *, int, int);

typedef struct {
  const char *name;
  int nr, vw;
  FilterFn *filter, *up_filter;
  WorkspaceFn *workspace, *up_workspace;
  ConvFn *conv, *up_conv;
} Isa;

static const Isa AVX512 = {"avx512", 32, 16, wino_filter_avx512, up_filter_avx512, wino_workspace_avx512, up_workspace_avx512, wino_conv_avx512, up_conv_avx512};
static const Isa AVX2 = {"avx2", 16, 8, wino_filter_avx2, up_filter_avx2, wino_workspace_avx2, up_workspace_avx2, wino_conv_avx2, up_conv_avx2};
static const Isa *isa = NULL;

/* The workspace (the transformed tiles and products of one chunk of tiles, about 24 MB at most)
 * is allocated per call and freed after it. Below glibc's mmap threshold (32 MiB once a model
 * is built, src/backend/host-memory.ts) it comes from the heap, whose free blocks the next call
 * and TensorFlow's own tensors reuse, so it costs no page faults and holds no memory between
 * convolutions, where a buffer kept for all calls would add its size to every peak. */

static void *create_kernel(TF_OpKernelConstruction *ctx) { return NULL; }
static void delete_kernel(void *kernel) {}

/* The filter ops: [3, 3, C, K] -> [16, K/NR, C, NR], or phases [4, 2, 2, C, K] -> [4, 9, K/NR, C, NR]. */
static void run_filter(TF_OpKernelContext *ctx, int upscale) {
  const char *name = upscale ? "PulseWinogradUpscaleFilter" : "PulseWinogradFilter";
  char m[256];
  TF_Status *s = TF_NewStatus();
  TF_Tensor *g = NULL, *u = NULL;
  TF_GetInput(ctx, 0, &g, s);
  if (TF_GetCode(s) != TF_OK) goto done;
  int lead = upscale ? 1 : 0, side = upscale ? 2 : 3;
  if (TF_NumDims(g) != 4 + lead || (upscale && TF_Dim(g, 0) != 4) || TF_Dim(g, lead) != side || TF_Dim(g, lead + 1) != side) {
    snprintf(m, sizeof m, "%s: filter must be %s", name, upscale ? "[4, 2, 2, in, out] (the four sub-pixel phases)" : "[3, 3, in, out]");
    pulse_fail(ctx, m);
    goto done;
  }
  int C = (int)TF_Dim(g, lead + 2), K = (int)TF_Dim(g, lead + 3);
  if (C % isa->vw != 0 || K % isa->nr != 0) {
    snprintf(m, sizeof m, "%s: in channels %d must be a multiple of %d and out channels %d of %d", name, C, isa->vw, K, isa->nr);
    pulse_fail(ctx, m);
    goto done;
  }
  int64_t dims[5] = {4, 9, K / isa->nr, C, isa->nr};
  int64_t *d = upscale ? dims : dims + 1;
  if (!upscale) d[0] = 16;
  u = TF_AllocateOutput(ctx, 0, TF_FLOAT, d, upscale ? 5 : 4, sizeof(float) * (upscale ? 36 : 16) * (size_t)C * K, s);
  if (TF_GetCode(s) == TF_OK) (upscale ? isa->up_filter : isa->filter)((const float *)TF_TensorData(g), C, K, (float *)TF_TensorData(u));
done:
  if (TF_GetCode(s) != TF_OK) TF_OpKernelContext_Failure(ctx, s);
  TF_DeleteTensor(g);
  TF_DeleteTensor(u);
  TF_DeleteStatus(s);
}

/*
 * The convolutions. upscale = 0: x [N, H, W, C] -> [N, H, W, K] (transposed: dy [N, H, W, K] -> dx
 * [N, H, W, C]); upscale = 1: x [N, H, W, C] -> [N, 2H, 2W, K] (transposed: dy [N, 2H, 2W, K] -> dx [N, H, W, C]).
 */
static void run_conv(TF_OpKernelContext *ctx, int upscale, int transposed) {
  static const char *names[2][2] = {{"PulseWinogradConv", "PulseWinogradConvInputGradient"},
                                    {"PulseWinogradUpscaleConv", "PulseWinogradUpscaleConvInputGradient"}};
  const char *name = names[upscale][transposed];
  char m[256];
  TF_Status *s = TF_NewStatus();
  TF_Tensor *x = NULL, *u = NULL, *y = NULL;
  TF_GetInput(ctx, 0, &x, s);
  if (TF_GetCode(s) == TF_OK) TF_GetInput(ctx, 1, &u, s);
  if (TF_GetCode(s) != TF_OK) goto done;
  int lead = upscale ? 1 : 0;
  if (TF_NumDims(x) != 4 || TF_NumDims(u) != 4 + lead || TF_Dim(u, lead) != (upscale ? 9 : 16) || (upscale && TF_Dim(u, 0) != 4) ||
      TF_Dim(u, lead + 3) != isa->nr) {
    snprintf(m, sizeof m, "%s: x must be [n, h, w, channels] and u the filter from %s", name, upscale ? "PulseWinogradUpscaleFilter" : "PulseWinogradFilter");
    pulse_fail(ctx, m);
    goto done;
  }
  int filterIn = (int)TF_Dim(u, lead + 2), filterOut = (int)(TF_Dim(u, lead + 1) * isa->nr);
  int C = transposed ? filterOut : filterIn, K = transposed ? filterIn : filterOut;
  if (TF_Dim(x, 3) != C || (transposed && filterIn % isa->nr != 0)) {
    snprintf(m, sizeof m, "%s: x has %lld channels where the filter needs %d%s", name, (long long)TF_Dim(x, 3), C,
             transposed && filterIn % isa->nr != 0 ? " (and its in channels a multiple of the panel width)" : "");
    pulse_fail(ctx, m);
    goto done;
  }
  int N = (int)TF_Dim(x, 0), H = (int)TF_Dim(x, 1), W = (int)TF_Dim(x, 2);
  if (upscale && transposed && (H % 2 != 0 || W % 2 != 0)) {
    snprintf(m, sizeof m, "%s: dy must have even sides (it is the gradient of a 2x upscale), got %d x %d", name, H, W);
    pulse_fail(ctx, m);
    goto done;
  }
  /* The kernels take the low-resolution side. */
  if (upscale && transposed) H /= 2, W /= 2;
  int scale = upscale && !transposed ? 2 : 1;
  int64_t dims[4] = {N, (int64_t)H * scale, (int64_t)W * scale, K};
  size_t count = (size_t)N * H * scale * W * scale * K;
  y = TF_AllocateOutput(ctx, 0, TF_FLOAT, dims, 4, sizeof(float) * count, s);
  if (TF_GetCode(s) != TF_OK || count == 0) goto done;
  int threads = omp_get_max_threads();
  size_t need = (upscale ? isa->up_workspace : isa->workspace)(N, H, W, C, K, threads);
  float *work = NULL;
  if (posix_memalign((void **)&work, 64, need * sizeof(float)) != 0) {
    TF_SetStatus(s, TF_RESOURCE_EXHAUSTED, "PulseWinograd: no memory for the workspace");
    goto done;
  }
  (upscale ? isa->up_conv : isa->conv)((const float *)TF_TensorData(x), N, H, W, C, (const float *)TF_TensorData(u), K,
                                       (float *)TF_TensorData(y), work, threads, transposed);
  free(work);
done:
  if (TF_GetCode(s) != TF_OK) TF_OpKernelContext_Failure(ctx, s);
  TF_DeleteTensor(x);
  TF_DeleteTensor(u);
  TF_DeleteTensor(y);
  TF_DeleteStatus(s);
}

static void filter_compute(void *kernel, TF_OpKernelContext *ctx) { run_filter(ctx, 0); }
static void conv_compute(void *kernel, TF_OpKernelContext *ctx) { run_conv(ctx, 0, 0); }
static void input_gradient_compute(void *kernel, TF_OpKernelContext *ctx) { run_conv(ctx, 0, 1); }
static void up_filter_compute(void *kernel, TF_OpKernelContext *ctx) { run_filter(ctx, 1); }
static void up_conv_compute(void *kernel, TF_OpKernelContext *ctx) { run_conv(ctx, 1, 0); }
static void up_input_gradient_compute(void *kernel, TF_OpKernelContext *ctx) { run_conv(ctx, 1, 1); }

static void unknown_shape(TF_ShapeInferenceContext *ctx, TF_Status *status) { TF_ShapeInferenceContextSetUnknownShape(ctx, status); }

typedef struct {
  const char *name;
  int inputs; /* 1: a filter in; 2: x and u in */
  void (*compute)(void *, TF_OpKernelContext *);
} OpSpec;

static const OpSpec OPS[6] = {
    {"PulseWinogradFilter", 1, filter_compute},
    {"PulseWinogradConv", 2, conv_compute},
    {"PulseWinogradConvInputGradient", 2, input_gradient_compute},
    {"PulseWinogradUpscaleFilter", 1, up_filter_compute},
    {"PulseWinogradUpscaleConv", 2, up_conv_compute},
    {"PulseWinogradUpscaleConvInputGradient", 2, up_input_gradient_compute},
};

/* Registers the ops and their CPU kernels; an error message, or NULL. */
static const char *register_ops(void) {
  static char message[256];
  TF_Status *s = TF_NewStatus();
  const char *result = NULL;
  for (int i = 0; i < 6 && !result; i++) {
    TF_OpDefinitionBuilder *b = TF_NewOpDefinitionBuilder(OPS[i].name);
    if (OPS[i].inputs == 1) {
      TF_OpDefinitionBuilderAddInput(b, "filter: float");
      TF_OpDefinitionBuilderAddOutput(b, "u: float");
    } else {
      TF_OpDefinitionBuilderAddInput(b, "x: float");
      TF_OpDefinitionBuilderAddInput(b, "u: float");
      TF_OpDefinitionBuilderAddOutput(b, "y: float");
    }
    TF_OpDefinitionBuilderSetShapeInferenceFunction(b, unknown_shape);
    TF_RegisterOpDefinition(b, s);
    if (TF_GetCode(s) == TF_OK) {
      TF_KernelBuilder *k = TF_NewKernelBuilder(OPS[i].name, "CPU", create_kernel, OPS[i].compute, delete_kernel);
      TF_RegisterKernelBuilder(OPS[i].name, k, s);
    }
    if (TF_GetCode(s) != TF_OK) {
      snprintf(message, sizeof message, "registering %s: %s", OPS[i].name, TF_Message(s));
      result = message;
    }
  }
  TF_DeleteStatus(s);
  return result;
}

static void set_string(napi_env env, napi_value obj, const char *key, const char *value) {
  napi_value v;
  if (value) napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v);
  else napi_get_null(env, &v);
  napi_set_named_property(env, obj, key, v);
}

static void set_int(napi_env env, napi_value obj, const char *key, int value) {
  napi_value v;
  napi_create_int32(env, value, &v);
  napi_set_named_property(env, obj, key, v);
}

const char *register_epilogue_ops(void);

/* exports: { isa: 'avx512' | 'avx2' | null, tileChannels: NR, vectorWidth: VW, threads, error: string | null,
 *            epilogue: boolean, epilogueError: string | null } (the fused epilogue, epilogue-op.c, needs no ISA) */
NAPI_MODULE_INIT() {
  static const char *error = NULL, *epilogueError = NULL;
  static int done = 0;
  if (!done) {
    done = 1;
    epilogueError = register_epilogue_ops();
    __builtin_cpu_init();
    /* PULSE_WINOGRAD_ISA=avx2 takes the AVX2 kernels on an AVX-512 CPU (their tests, test/winograd-avx2.test.ts). */
    const char *asked = getenv("PULSE_WINOGRAD_ISA");
    int avx2Only = asked && strcmp(asked, "avx2") == 0;
    if (__builtin_cpu_supports("avx512f") && !avx2Only) isa = &AVX512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) isa = &AVX2;
    if (isa) error = register_ops();
    else error = "the CPU has neither AVX-512 nor AVX2 with FMA";
    if (error) isa = NULL;
  }
  set_string(env, exports, "isa", isa ? isa->name : NULL);
  set_int(env, exports, "tileChannels", isa ? isa->nr : 0);
  set_int(env, exports, "vectorWidth", isa ? isa->vw : 0);
  set_int(env, exports, "threads", omp_get_max_threads());
  set_string(env, exports, "error", error);
  napi_value epilogue;
  napi_get_boolean(env, epilogueError == NULL, &epilogue);
  napi_set_named_property(env, exports, "epilogue", epilogue);
  set_string(env, exports, "epilogueError", epilogueError);
  return exports;
}
