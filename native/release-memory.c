/*
 * Two calls Node has no binding for, with which the native backend gives memory back to the
 * system (docs/performance.md):
 *  - dropPages: madvise(MADV_DONTNEED) on a range that src/backend/library-pages.ts has checked
 *    is a read-only, file-backed mapping holding no private (anonymous or dirty) page. Dropping
 *    such pages loses nothing: the next access reads them again from the file.
 *  - trimHeap: glibc's malloc_trim(0), which returns the free pages inside the C heap, not only
 *    at its top;
 *  - setMallocThresholds: glibc's mallopt(M_MMAP_THRESHOLD) and mallopt(M_TRIM_THRESHOLD), so
 *    that a model's build serves its large temporaries from mmap (handed back when freed) and
 *    the search afterwards keeps reusing heap blocks (src/backend/host-memory.ts).
 */
#include <errno.h>
#include <malloc.h>
#include <node_api.h>
#include <stdint.h>
#include <sys/mman.h>

/* dropPages(start: bigint, length: bigint): 0, or the errno of a failed madvise. */
static napi_value DropPages(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) {
    napi_throw_type_error(env, NULL, "dropPages(start: bigint, length: bigint)");
    return NULL;
  }
  uint64_t start = 0, length = 0;
  bool lossless = false;
  if (napi_get_value_bigint_uint64(env, argv[0], &start, &lossless) != napi_ok || !lossless ||
      napi_get_value_bigint_uint64(env, argv[1], &length, &lossless) != napi_ok || !lossless) {
    napi_throw_type_error(env, NULL, "dropPages: start and length must be bigints");
    return NULL;
  }
  int rc = madvise((void *)(uintptr_t)start, (size_t)length, MADV_DONTNEED) == 0 ? 0 : errno;
  napi_value result;
  napi_create_int32(env, rc, &result);
  return result;
}

/* trimHeap(): whether malloc_trim gave any memory back. */
static napi_value TrimHeap(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_get_boolean(env, malloc_trim(0) == 1, &result);
  return result;
}

/* setMallocThresholds(mmapBytes: number, trimBytes: number): whether glibc took both. */
static napi_value SetMallocThresholds(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int64_t mmap_bytes = 0, trim_bytes = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
      napi_get_value_int64(env, argv[0], &mmap_bytes) != napi_ok || napi_get_value_int64(env, argv[1], &trim_bytes) != napi_ok ||
      mmap_bytes <= 0 || trim_bytes <= 0 || mmap_bytes > INT32_MAX || trim_bytes > INT32_MAX) {
    napi_throw_type_error(env, NULL, "setMallocThresholds(mmapBytes, trimBytes): positive byte counts below 2 GiB");
    return NULL;
  }
  int ok = mallopt(M_MMAP_THRESHOLD, (int)mmap_bytes) == 1 && mallopt(M_TRIM_THRESHOLD, (int)trim_bytes) == 1;
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "dropPages", NAPI_AUTO_LENGTH, DropPages, NULL, &fn);
  napi_set_named_property(env, exports, "dropPages", fn);
  napi_create_function(env, "trimHeap", NAPI_AUTO_LENGTH, TrimHeap, NULL, &fn);
  napi_set_named_property(env, exports, "trimHeap", fn);
  napi_create_function(env, "setMallocThresholds", NAPI_AUTO_LENGTH, SetMallocThresholds, NULL, &fn);
  napi_set_named_property(env, exports, "setMallocThresholds", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
