/* What native/*-op.c need of TensorFlow's C API for ops and kernels of our own. */
#ifndef PULSE_TF_KERNEL_API_H
#define PULSE_TF_KERNEL_API_H
#include <stdint.h>

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

/* Fails the op's kernel with `message` (TF_INVALID_ARGUMENT): tfjs throws it as the op's error. */
static inline void pulse_fail(TF_OpKernelContext *ctx, const char *message) {
  TF_Status *s = TF_NewStatus();
  TF_SetStatus(s, TF_INVALID_ARGUMENT, message);
  TF_OpKernelContext_Failure(ctx, s);
  TF_DeleteStatus(s);
}
#endif
