/* The Winograd kernels for AVX-512 (compiled with -mavx512f -mfma): 16 floats a vector, 12 tiles a micro-kernel. */
#define VW 16
#define MR 12
#define SUFFIX _avx512
#include "winograd-kernels.h"
