// What the export (udp.cc) and receive (udprecv.cc) sockets share: a numeric address and port into a sockaddr,
// and an Error carrying the errno, which the TypeScript side reads as `errno` (negative, as libuv's codes are).
#pragma once
#include <node_api.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace sockaddr_util {

// Fills `out` from a numeric IPv4 or IPv6 address; false when `addr` is neither.
inline bool ParseNumeric(const char* addr, int port, sockaddr_in6* out, socklen_t* len, int* family) {
  *out = sockaddr_in6{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    *len = sizeof *v4;
    *family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, addr, &out->sin6_addr) == 1) {
    out->sin6_family = AF_INET6;
    out->sin6_port = htons(static_cast<uint16_t>(port));
    *len = sizeof *out;
    *family = AF_INET6;
    return true;
  }
  return false;
}

inline napi_value ThrowErrno(napi_env env, const std::string& msg, int err) {
  napi_value text, code, error;
  napi_create_string_utf8(env, msg.c_str(), NAPI_AUTO_LENGTH, &text);
  napi_create_int32(env, -err, &code);
  napi_create_error(env, nullptr, text, &error);
  napi_set_named_property(env, error, "errno", code);
  napi_throw(env, error);
  return nullptr;
}

}  // namespace sockaddr_util
