// A daemon's log lines to syslog: one datagram per line to a Unix datagram socket (/dev/log, or where the system
// keeps it). Node has no Unix datagram sockets, and libc's syslog(3) only knows its compiled-in path, so the probe
// formats the line itself and this sends it.
//
// unixDgramSend(path, bytes) -> 0, or -errno (ENOENT or ECONNREFUSED when no log daemon listens there). One
// unbound socket serves every path; a failed send never throws, since losing a log line must not stop a probe.

#include <node_api.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "logsock.h"

namespace logsock {
namespace {

int fd = -1;

napi_value Int(napi_env env, int v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}

napi_value Send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  char path[sizeof(sockaddr_un::sun_path)];
  size_t pathLen = 0;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], path, sizeof(path), &pathLen) != napi_ok) {
    napi_throw_type_error(env, nullptr, "unixDgramSend(path: string, data: Uint8Array)");
    return nullptr;
  }
  // A path that does not fit sun_path was cut short by the copy: refuse it rather than send elsewhere.
  if (pathLen == 0 || pathLen >= sizeof(path) - 1) return Int(env, -ENAMETOOLONG);
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value ab;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, argv[1], &type, &length, &data, &ab, &offset) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, nullptr, "unixDgramSend: data must be a Uint8Array");
    return nullptr;
  }
  if (fd < 0) {
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return Int(env, -errno);
  }
  sockaddr_un to{};
  to.sun_family = AF_UNIX;
  std::memcpy(to.sun_path, path, pathLen);
  ssize_t n;
  do {
    n = sendto(fd, data, length, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  } while (n < 0 && errno == EINTR);
  return Int(env, n < 0 ? -errno : 0);
}

}  // namespace

bool Register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"unixDgramSend", nullptr, Send, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  return napi_define_properties(env, exports, 1, props) == napi_ok;
}

}  // namespace logsock
