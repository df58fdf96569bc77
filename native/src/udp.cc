// Export sockets: a connected UDP socket per collector, written with send(2) straight from the exporter's
// buffer. Node's dgram costs about 6 us per datagram on top of the kernel's own work (a send request object,
// a copy kept alive until a callback); a probe at speed sends tens of thousands of datagrams a second.
//
// open(address, port, hopLimit, device?) -> handle { send(view) -> bytes sent or -errno, close(), connectErrno }.
// A device binds the socket to that interface (SO_BINDTODEVICE, softflowd's -S): datagrams leave by it whatever
// the routing table says (Linux before 5.7 allows it only with CAP_NET_RAW). Errors
// of the send itself (ECONNREFUSED after an ICMP port unreachable, EAGAIN when the socket buffer is full) come
// back as numbers for the caller to count or retry. A connect that fails (no route at start-up) leaves the socket
// unconnected, sending to the address each time, with the reason in connectErrno; other set-up errors throw.

#include <node_api.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "sockaddr.h"
#include "udp.h"

namespace udp {
namespace {

struct Sock {
  int fd = -1;
  bool connected = false;
  sockaddr_in6 dest{};  // large enough for either family
  socklen_t destLen = 0;
};


Sock* This(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv) {
  napi_value self;
  if (napi_get_cb_info(env, info, argc, argv, &self, nullptr) != napi_ok) return nullptr;
  void* data = nullptr;
  if (napi_unwrap(env, self, &data) != napi_ok || data == nullptr) {
    napi_throw_type_error(env, nullptr, "not an export socket");
    return nullptr;
  }
  return static_cast<Sock*>(data);
}

// send(view: Uint8Array) -> bytes sent, or -errno
napi_value Send(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Sock* s = This(env, info, &argc, argv);
  if (!s) return nullptr;
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void* data = nullptr;
  napi_value ab;
  if (argc < 1 || napi_get_typedarray_info(env, argv[0], &type, &length, &data, &ab, &offset) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, nullptr, "send(view): a Uint8Array");
    return nullptr;
  }
  ssize_t r;
  if (s->fd < 0) {
    r = -EBADF;
  } else {
    do {
      r = s->connected ? send(s->fd, data, length, 0)
                       : sendto(s->fd, data, length, 0, reinterpret_cast<sockaddr*>(&s->dest), s->destLen);
    } while (r < 0 && errno == EINTR);
    if (r < 0) r = -errno;
  }
  napi_value result;
  napi_create_int32(env, static_cast<int32_t>(r), &result);
  return result;
}

napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sock* s = This(env, info, &argc, nullptr);
  if (!s) return nullptr;
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  return nullptr;
}

void Finalize(napi_env, void* data, void*) {
  Sock* s = static_cast<Sock*>(data);
  if (s->fd >= 0) close(s->fd);
  delete s;
}

// open(address: string (numeric), port: number, hopLimit: number (-1: leave), device?: string) -> handle
napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 3) {
    napi_throw_type_error(env, nullptr, "open(address, port, hopLimit, device?)");
    return nullptr;
  }
  // IFNAMSIZ (16, with the terminating NUL) bounds an interface name; a longer one is refused by the kernel too.
  char device[64] = {0};
  size_t deviceLen = 0;
  napi_valuetype deviceType = napi_undefined;
  if (argc >= 4) napi_typeof(env, argv[3], &deviceType);
  if (deviceType != napi_undefined && deviceType != napi_null &&
      napi_get_value_string_utf8(env, argv[3], device, sizeof device, &deviceLen) != napi_ok) {
    napi_throw_type_error(env, nullptr, "open(): device must be a string");
    return nullptr;
  }
  char addr[64] = {0};
  size_t len = 0;
  int32_t port = 0, hop = -1;
  if (napi_get_value_string_utf8(env, argv[0], addr, sizeof addr, &len) != napi_ok ||
      napi_get_value_int32(env, argv[1], &port) != napi_ok || napi_get_value_int32(env, argv[2], &hop) != napi_ok) {
    napi_throw_type_error(env, nullptr, "open(address: string, port: number, hopLimit: number)");
    return nullptr;
  }
  sockaddr_in6 ss{};
  socklen_t sl;
  int family;
  int fd = sockaddr_util::NumericUdpSocket(env, addr, port, &ss, &sl, &family);
  if (fd < 0) return nullptr;
  if (deviceLen > 0 && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, static_cast<socklen_t>(deviceLen + 1)) != 0) {
    int e = errno;
    close(fd);
    sockaddr_util::ThrowErrno(env, std::string("cannot bind the export socket to device ") + device + ": " + strerror(e), e);
    return nullptr;
  }
  if (hop >= 0) {
    // Only meaningful for multicast destinations; a failure leaves the default.
    int h = hop;
    if (family == AF_INET) setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &h, sizeof h);
    else setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &h, sizeof h);
  }
  int connectErrno = connect(fd, reinterpret_cast<sockaddr*>(&ss), sl) == 0 ? 0 : errno;
  napi_value obj;
  napi_create_object(env, &obj);
  Sock* s = new Sock();
  s->fd = fd;
  s->connected = connectErrno == 0;
  s->dest = ss;
  s->destLen = sl;
  if (napi_wrap(env, obj, s, Finalize, nullptr, nullptr) != napi_ok) {
    close(fd);
    delete s;
    napi_throw_error(env, nullptr, "cannot wrap export socket");
    return nullptr;
  }
  napi_property_descriptor props[] = {
      {"send", nullptr, Send, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"close", nullptr, Close, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, obj, sizeof props / sizeof props[0], props);
  napi_value err;
  napi_create_int32(env, connectErrno, &err);
  napi_set_named_property(env, obj, "connectErrno", err);
  return obj;
}

}  // namespace

bool Register(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "udpOpen", NAPI_AUTO_LENGTH, Open, nullptr, &fn) != napi_ok) return false;
  return napi_set_named_property(env, exports, "udpOpen", fn) == napi_ok;
}

}  // namespace udp
