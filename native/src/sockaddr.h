// What the export (udp.cc) and receive (udprecv.cc) sockets share: a numeric address and port into a sockaddr,
// an Error carrying the errno, which the TypeScript side reads as `errno` (negative, as libuv's codes are), and
// the non-blocking UDP socket for such an address.
#pragma once
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
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

// A non-blocking UDP socket of the family of `addr` (numeric), with the sockaddr of addr:port in `ss`; -1, with
// an Error thrown (EINVAL for an address that is not numeric, else the socket's errno), when there is none.
inline int NumericUdpSocket(napi_env env, const char* addr, int port, sockaddr_in6* ss, socklen_t* len, int* family) {
  if (!ParseNumeric(addr, port, ss, len, family)) {
    ThrowErrno(env, std::string("not a numeric address: ") + addr, EINVAL);
    return -1;
  }
  int fd = socket(*family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) ThrowErrno(env, std::string("socket: ") + strerror(errno), errno);
  return fd;
}

}  // namespace sockaddr_util
