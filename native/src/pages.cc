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

// The bytes of typed array argument 0; false, with a TypeError naming `usage` thrown, when it is not one.
bool ViewArg(napi_env env, napi_callback_info info, const char* usage, uintptr_t* begin, uintptr_t* end) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return false;
  bool isTyped = false;
  if (argc < 1 || napi_is_typedarray(env, argv[0], &isTyped) != napi_ok || !isTyped) {
    napi_throw_type_error(env, nullptr, usage);
    return false;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value ab;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, argv[0], &type, &length, &data, &ab, &offset) != napi_ok) return false;
  size_t elem = 1;
  switch (type) {
    case napi_int16_array: case napi_uint16_array: elem = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elem = 8; break;
    default: elem = 1;
  }
  *begin = reinterpret_cast<uintptr_t>(data);
  *end = *begin + length * elem;
  return true;
}

napi_value Release(napi_env env, napi_callback_info info) {
  uintptr_t begin = 0, end = 0;
  if (!ViewArg(env, info, "releasePages(view: TypedArray)", &begin, &end)) return nullptr;
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t from = (begin + page - 1) & ~(page - 1);
  const uintptr_t to = end & ~(page - 1);
  double released = 0;
  if (begin != 0 && to > from && madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED) == 0) {
    released = static_cast<double>(to - from);
  }
  napi_value r;
  napi_create_double(env, released, &r);
  return r;
}

// lineOffset(view) -> where the view's first byte falls within its 64-byte cache line (0-63). Large array
// buffers come from malloc, 16 bytes past a page start: a table of 64-byte rows laid from there puts every row
// across two cache lines, and the flow table uses this to start its rows on a line instead.
napi_value LineOffset(napi_env env, napi_callback_info info) {
  uintptr_t begin = 0, end = 0;
  if (!ViewArg(env, info, "lineOffset(view: TypedArray)", &begin, &end)) return nullptr;
  napi_value r;
  napi_create_uint32(env, static_cast<uint32_t>(begin & 63), &r);
  return r;
}

}  // namespace

bool Register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"releasePages", nullptr, Release, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lineOffset", nullptr, LineOffset, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  return napi_define_properties(env, exports, 2, props) == napi_ok;
}

}  // namespace pages
