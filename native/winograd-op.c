/*
 * Two TensorFlow ops of our own, registered in the TensorFlow library that @tensorflow/tfjs-node
 * has already loaded, so that tfjs runs them like its built-in ops (src/backend/winograd-addon.ts):
 *
 *   PulseWinogradFilter(filter [3, 3, C, K]) -> u [16, K / NR, C, NR]
 *     the filter in the Winograd domain, G g G^T, packed in panels of NR output channels;
 *   PulseWinogradConv(x [N, H, W, C], u) -> y [N, H, W, K]
 *     the stride-1 'same' 3x3 convolution of x by the filter u came from (winograd-kernels.h);
 *   PulseWinogradConvInputGradient(dy [N, H, W, K], u) -> dx [N, H, W, C]
 *     its gradient with respect to x, from the same u (the filter flipped and transposed is a
 *     permutation of u's positions, read transposed: no second transformed filter is kept).
 *
 * Registered when Node loads this addon (its N-API init), for the widest instruction set the CPU
 * has: AVX-512 (NR = 32) or AVX2 with FMA (NR = 16). On a CPU with neither nothing is registered
 * and the module says so; the callers then keep TensorFlow's Conv2D.
 */
#include <node_api.h>
#include <omp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensorflow/c/tf_status.h"
#include "tensorflow/c/tf_tensor.h"

/* The op and kernel registration API of tensorflow/c/ops.h and kernels.h, declared here: as
 * shipped, kernels.h includes a header the library's include folder lacks
 * (tf_rendezvous_c_api.h) and ops.h names its structs without typedefs, which C does not take.
 * The same functions, as those headers declare them. */
typedef struct TF_OpDefinitionBuilder TF_OpDefinitionBuilder;
typedef struct TF_ShapeInferenceContext TF_ShapeInferenceContext;
TF_OpDefinitionBuilder *TF_NewOpDefinitionBuilder(const char *op_name);
void TF_OpDefinitionBuilderAddInput(TF_OpDefinitionBuilder *builder, const char *input_spec);
void TF_OpDefinitionBuilderAddOutput(TF_OpDefinitionBuilder *builder, const char *output_spec);
void TF_OpDefinitionBuilderSetShapeInferenceFunction(TF_OpDefinitionBuilder *builder,
                                                     void (*shape_inference_func)(TF_ShapeInferenceContext *ctx, TF_Status *status));
void TF_RegisterOpDefinition(TF_OpDefinitionBuilder *builder, TF_Status *status);
void TF_ShapeInferenceContextSetUnknownShape(TF_ShapeInferenceContext *ctx, TF_Status *status);
typedef struct TF_KernelBuilder TF_KernelBuilder;
typedef struct TF_OpKernelConstruction TF_OpKernelConstruction;
typedef struct TF_OpKernelContext TF_OpKernelContext;
TF_KernelBuilder *TF_NewKernelBuilder(const char *op_name, const char *device_name, void *(*create_func)(TF_OpKernelConstruction *),
                                      void (*compute_func)(void *, TF_OpKernelContext *), void (*delete_func)(void *));
void TF_RegisterKernelBuilder(const char *kernel_name, TF_KernelBuilder *builder, TF_Status *status);
void TF_GetInput(TF_OpKernelContext *ctx, int i, TF_Tensor **tensor, TF_Status *status);
TF_Tensor *TF_AllocateOutput(TF_OpKernelContext *context, int index, TF_DataType dtype, const int64_t *dims, int num_dims, size_t len, TF_Status *status);
void TF_OpKernelContext_Failure(TF_OpKernelContext *ctx, TF_Status *status);

#define DECLARE(S)                                                                            \
  int wino_nr##S(void);                                                                       \
  void wino_filter##S(const float *g, int C, int K, float *U);                                \
  size_t wino_workspace##S(int H, int W, int C, int K, int threads);                          \
  void wino_conv##S(const float *x, int N, int H, int W, int C, const float *U, int K, float *y, \
                    float *work, int threads, int transposed);
DECLARE(_avx512)
DECLARE(_avx2)

typedef struct {
  const char *name;
  int nr, vw;
  void (*filter)(const float *, int, int, float *);
  size_t (*workspace)(int, int, int, int, int);
  void (*conv)(const float *, int, int, int, int, const float *, int, float *, float *, int, int);
} Isa;

static const Isa AVX512 = {"avx512", 32, 16, wino_filter_avx512, wino_workspace_avx512, wino_conv_avx512};
static const Isa AVX2 = {"avx2", 16, 8, wino_filter_avx2, wino_workspace_avx2, wino_conv_avx2};
static const Isa *isa = NULL;

/* One workspace for every call, grown when a call needs more: a fresh buffer per call would be
 * fresh pages, faulted in each time. Bounded by the kernels' tile chunks (about 24 MB). */
static pthread_mutex_t work_lock = PTHREAD_MUTEX_INITIALIZER;
static float *work = NULL;
static size_t work_floats = 0;

static void fail(TF_OpKernelContext *ctx, const char *message) {
  TF_Status *s = TF_NewStatus();
  TF_SetStatus(s, TF_INVALID_ARGUMENT, message);
  TF_OpKernelContext_Failure(ctx, s);
  TF_DeleteStatus(s);
}

static void *create_kernel(TF_OpKernelConstruction *ctx) { return NULL; }
static void delete_kernel(void *kernel) {}

static void filter_compute(void *kernel, TF_OpKernelContext *ctx) {
  TF_Status *s = TF_NewStatus();
  TF_Tensor *g = NULL;
  TF_GetInput(ctx, 0, &g, s);
  if (TF_GetCode(s) != TF_OK) goto done;
  if (TF_NumDims(g) != 4 || TF_Dim(g, 0) != 3 || TF_Dim(g, 1) != 3) {
    fail(ctx, "PulseWinogradFilter: filter must be [3, 3, in, out]");
    goto done;
  }
  int C = (int)TF_Dim(g, 2), K = (int)TF_Dim(g, 3);
  if (C % isa->vw != 0 || K % isa->nr != 0) {
    char m[160];
    snprintf(m, sizeof m, "PulseWinogradFilter: in channels %d must be a multiple of %d and out channels %d of %d", C, isa->vw, K, isa->nr);
    fail(ctx, m);
    goto done;
  }
  int64_t dims[4] = {16, K / isa->nr, C, isa->nr};
  TF_Tensor *u = TF_AllocateOutput(ctx, 0, TF_FLOAT, dims, 4, sizeof(float) * 16 * (size_t)C * K, s);
  if (TF_GetCode(s) == TF_OK) isa->filter((const float *)TF_TensorData(g), C, K, (float *)TF_TensorData(u));
  TF_DeleteTensor(u);
done:
  if (TF_GetCode(s) != TF_OK) TF_OpKernelContext_Failure(ctx, s);
  TF_DeleteTensor(g);
  TF_DeleteStatus(s);
}

/* Both convolutions: transposed = 0 runs x [N, H, W, C] -> [N, H, W, K], transposed = 1 dy [N, H, W, K] -> dx [N, H, W, C]. */
static void run_conv(TF_OpKernelContext *ctx, int transposed) {
  const char *name = transposed ? "PulseWinogradConvInputGradient" : "PulseWinogradConv";
  char m[256];
  TF_Status *s = TF_NewStatus();
  TF_Tensor *x = NULL, *u = NULL, *y = NULL;
  TF_GetInput(ctx, 0, &x, s);
  if (TF_GetCode(s) == TF_OK) TF_GetInput(ctx, 1, &u, s);
  if (TF_GetCode(s) != TF_OK) goto done;
  if (TF_NumDims(x) != 4 || TF_NumDims(u) != 4 || TF_Dim(u, 0) != 16 || TF_Dim(u, 3) != isa->nr) {
    snprintf(m, sizeof m, "%s: x must be [n, h, w, channels] and u [16, out / %d, in, %d] from PulseWinogradFilter", name, isa->nr, isa->nr);
    fail(ctx, m);
    goto done;
  }
  int filterIn = (int)TF_Dim(u, 2), filterOut = (int)(TF_Dim(u, 1) * isa->nr);
  int C = transposed ? filterOut : filterIn, K = transposed ? filterIn : filterOut;
  if (TF_Dim(x, 3) != C || (transposed && filterIn % isa->nr != 0)) {
    snprintf(m, sizeof m, "%s: x has %lld channels where the filter needs %d%s", name, (long long)TF_Dim(x, 3), C,
             transposed && filterIn % isa->nr != 0 ? " (and its in channels a multiple of the panel width)" : "");
    fail(ctx, m);
    goto done;
  }
  int N = (int)TF_Dim(x, 0), H = (int)TF_Dim(x, 1), W = (int)TF_Dim(x, 2);
  int64_t dims[4] = {N, H, W, K};
  y = TF_AllocateOutput(ctx, 0, TF_FLOAT, dims, 4, sizeof(float) * (size_t)N * H * W * K, s);
  if (TF_GetCode(s) != TF_OK || (size_t)N * H * W * K == 0) goto done;
  int threads = omp_get_max_threads();
  pthread_mutex_lock(&work_lock);
  size_t need = isa->workspace(H, W, C, K, threads);
  if (need > work_floats) {
    free(work);
    work = NULL;
    work_floats = 0;
    if (posix_memalign((void **)&work, 64, need * sizeof(float)) == 0) work_floats = need;
  }
  if (work) isa->conv((const float *)TF_TensorData(x), N, H, W, C, (const float *)TF_TensorData(u), K, (float *)TF_TensorData(y), work, threads, transposed);
  pthread_mutex_unlock(&work_lock);
  if (!work) TF_SetStatus(s, TF_RESOURCE_EXHAUSTED, "PulseWinogradConv: no memory for the workspace");
done:
  if (TF_GetCode(s) != TF_OK) TF_OpKernelContext_Failure(ctx, s);
  TF_DeleteTensor(x);
  TF_DeleteTensor(u);
  TF_DeleteTensor(y);
  TF_DeleteStatus(s);
}

static void conv_compute(void *kernel, TF_OpKernelContext *ctx) { run_conv(ctx, 0); }
static void input_gradient_compute(void *kernel, TF_OpKernelContext *ctx) { run_conv(ctx, 1); }

static void unknown_shape(TF_ShapeInferenceContext *ctx, TF_Status *status) { TF_ShapeInferenceContextSetUnknownShape(ctx, status); }

/* Registers the three ops and their CPU kernels; an error message, or NULL. */
static const char *register_ops(void) {
  static char message[256];
  TF_Status *s = TF_NewStatus();
  const char *names[3] = {"PulseWinogradFilter", "PulseWinogradConv", "PulseWinogradConvInputGradient"};
  void (*computes[3])(void *, TF_OpKernelContext *) = {filter_compute, conv_compute, input_gradient_compute};
  const char *result = NULL;
  for (int i = 0; i < 3 && !result; i++) {
    TF_OpDefinitionBuilder *b = TF_NewOpDefinitionBuilder(names[i]);
    if (i == 0) {
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
      TF_KernelBuilder *k = TF_NewKernelBuilder(names[i], "CPU", create_kernel, computes[i], delete_kernel);
      TF_RegisterKernelBuilder(names[i], k, s);
    }
    if (TF_GetCode(s) != TF_OK) {
      snprintf(message, sizeof message, "registering %s: %s", names[i], TF_Message(s));
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

/* exports: { isa: 'avx512' | 'avx2' | null, tileChannels: NR, vectorWidth: VW, threads, error: string | null } */
NAPI_MODULE_INIT() {
  static const char *error = NULL;
  static int done = 0;
  if (!done) {
    done = 1;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) isa = &AVX512;
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
  return exports;
}
