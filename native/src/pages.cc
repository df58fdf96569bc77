// releasePages(view) -> bytes released: tells the kernel that the whole pages inside a typed array's bytes are no
// longer needed (madvise MADV_DONTNEED), so they stop counting as resident and read as zeros when next touched.
// The flow table keeps its hash index in halves of one buffer reserved for the largest index; without this, the
// half it grew out of stays resident (4 MiB at a million flows) though nothing reads it again until it is cleared
// for the next growth. Only page-aligned pages wholly inside the view are released, never its edges, so bytes
// next to the view (an allocator's bookkeeping, another view) are not touched.

#include <node_api.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

#include "pages.h"

namespace pages {
namespace {

napi_value Release(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  bool isTyped = false;
  if (argc < 1 || napi_is_typedarray(env, argv[0], &isTyped) != napi_ok || !isTyped) {
    napi_throw_type_error(env, nullptr, "releasePages(view: TypedArray)");
    return nullptr;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value ab;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, argv[0], &type, &length, &data, &ab, &offset) != napi_ok) return nullptr;
  size_t elem = 1;
  switch (type) {
    case napi_int16_array: case napi_uint16_array: elem = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elem = 8; break;
    default: elem = 1;
  }
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data);
  const uintptr_t end = begin + length * elem;
  const uintptr_t from = (begin + page - 1) & ~(page - 1);
  const uintptr_t to = end & ~(page - 1);
  double released = 0;
  if (data != nullptr && to > from && madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED) == 0) {
    released = static_cast<double>(to - from);
  }
  napi_value r;
  napi_create_double(env, released, &r);
  return r;
}

}  // namespace

bool Register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"releasePages", nullptr, Release, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  return napi_define_properties(env, exports, 1, props) == napi_ok;
}

}  // namespace pages
