/* The Winograd kernels for AVX2 (compiled with -mavx2 -mfma): 8 floats a vector, 6 tiles a micro-kernel. */
#define VW 8
#define MR 6
#define SUFFIX _avx2
#include "winograd-kernels.h"
