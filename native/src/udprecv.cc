// Receive sockets: a bound UDP socket read with recvmmsg(2) into slots of one buffer the caller owns. Node's dgram
// costs a JS callback, a Buffer, an address object and a 64 KiB allocation per datagram; at tens of thousands of
// datagrams a second that was more CPU than flowcapd's whole decoding. Here JS makes one call per batch and reads
// each datagram's length and source from a Uint32Array beside the buffer, so nothing is made per datagram.
//
// udpListen(address (numeric), port, rcvbuf, buffer: Uint8Array, slotSize, meta: Uint32Array) -> handle
//   { recv() -> datagrams now in slots 0..n-1 (0: none ready) or -errno, startPoll(cb), stopPoll(), close(),
//     drops() -> datagrams the kernel dropped at this socket for want of buffer space, port, rcvbuf (as the
//     kernel set it), rcvbufErrno (0, or why setting it failed), slots }
// Slot i is buffer[i*slotSize, +slotSize); its meta words are meta[i*8 + ...]: see the M_ constants below
// (exported as udpMeta). A datagram larger than its slot is cut by the kernel; its meta says so and gives the
// length it had, and nothing past the slot is ever written or reported.

#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "sockaddr.h"
#include "udprecv.h"

namespace udprecv {
namespace {

enum : uint32_t {
  M_LENGTH = 0,     // bytes in the slot (at most slotSize)
  M_PORT = 1,       // source UDP port
  M_FAMILY = 2,     // 4 or 6; IPv4-mapped IPv6 sources are given as 4
  M_TRUNCATED = 3,  // 0, or the datagram's own length when it was larger than the slot
  M_ADDR = 4,       // four big-endian words of the source address (IPv4 in the first, the rest 0)
  M_WORDS = 8,
};
// recvmmsg reads at most this many per call: bounded work per call, and the arrays below stay small.
constexpr unsigned kMaxSlots = 1024;
// Room for one SO_RXQ_OVFL message per datagram: the socket's drop count when the datagram was queued.
constexpr size_t kCtrl = CMSG_SPACE(sizeof(uint32_t));

struct Sock {
  int fd = -1;
  uint8_t* buf = nullptr;
  uint32_t* meta = nullptr;
  size_t slotSize = 0;
  unsigned slots = 0;
  napi_ref bufRef = nullptr;
  napi_ref metaRef = nullptr;
  std::vector<mmsghdr> msgs;
  std::vector<iovec> iovs;
  std::vector<sockaddr_in6> addrs;  // large enough for either family
  std::vector<uint8_t> ctrl;
  uint32_t drops = 0;
  uv_poll_t* poll = nullptr;
  napi_env env = nullptr;
  napi_ref callback = nullptr;
  napi_ref self = nullptr;
  napi_async_context asyncCtx = nullptr;
};

using sockaddr_util::ThrowErrno;

Sock* This(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv, napi_value* self = nullptr) {
  napi_value me;
  if (napi_get_cb_info(env, info, argc, argv, &me, nullptr) != napi_ok) return nullptr;
  void* data = nullptr;
  if (napi_unwrap(env, me, &data) != napi_ok || data == nullptr) {
    napi_throw_type_error(env, nullptr, "not a receive socket");
    return nullptr;
  }
  if (self) *self = me;
  return static_cast<Sock*>(data);
}

void ClosePoll(uv_poll_t*& poll) {
  if (!poll) return;
  uv_poll_stop(poll);
  uv_close(reinterpret_cast<uv_handle_t*>(poll), [](uv_handle_t* p) { delete reinterpret_cast<uv_poll_t*>(p); });
  poll = nullptr;
}

void StopPoll(Sock* s) {
  ClosePoll(s->poll);
  if (s->callback) napi_delete_reference(s->env, s->callback);
  if (s->self) napi_delete_reference(s->env, s->self);
  if (s->asyncCtx) napi_async_destroy(s->env, s->asyncCtx);
  s->callback = s->self = nullptr;
  s->asyncCtx = nullptr;
}

void CloseSock(napi_env env, Sock* s) {
  StopPoll(s);
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  // The buffers are the caller's: released here so a closed socket does not keep them alive.
  if (s->bufRef) napi_delete_reference(env, s->bufRef);
  if (s->metaRef) napi_delete_reference(env, s->metaRef);
  s->bufRef = s->metaRef = nullptr;
  s->buf = nullptr;
  s->meta = nullptr;
}

// recv() -> datagrams now in slots 0..n-1, 0 when none is ready, or -errno
napi_value Recv(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sock* s = This(env, info, &argc, nullptr);
  if (!s) return nullptr;
  int n;
  if (s->fd < 0) {
    n = -EBADF;
  } else {
    for (unsigned i = 0; i < s->slots; i++) {
      // The kernel rewrites these on every call.
      s->msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in6);
      s->msgs[i].msg_hdr.msg_flags = 0;
      s->msgs[i].msg_hdr.msg_controllen = kCtrl;
    }
    do {
      n = recvmmsg(s->fd, s->msgs.data(), s->slots, MSG_DONTWAIT | MSG_TRUNC, nullptr);
    } while (n < 0 && errno == EINTR);
    if (n < 0) n = (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
  }
  for (int i = 0; i < n; i++) {
    uint32_t* m = s->meta + static_cast<size_t>(i) * M_WORDS;
    const size_t len = s->msgs[i].msg_len;  // with MSG_TRUNC: the datagram's own length, even when cut
    const bool cut = (s->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0 || len > s->slotSize;
    m[M_LENGTH] = static_cast<uint32_t>(cut ? s->slotSize : len);
    m[M_TRUNCATED] = cut ? static_cast<uint32_t>(len) : 0;
    // The kernel attaches the count only once it is non-zero; it counts since the socket was made.
    for (cmsghdr* c = CMSG_FIRSTHDR(&s->msgs[i].msg_hdr); c != nullptr; c = CMSG_NXTHDR(&s->msgs[i].msg_hdr, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) memcpy(&s->drops, CMSG_DATA(c), sizeof s->drops);
    }
    const sockaddr* sa = reinterpret_cast<const sockaddr*>(&s->addrs[i]);
    if (sa->sa_family == AF_INET) {
      const auto* v4 = reinterpret_cast<const sockaddr_in*>(sa);
      m[M_FAMILY] = 4;
      m[M_PORT] = ntohs(v4->sin_port);
      m[M_ADDR] = ntohl(v4->sin_addr.s_addr);
      m[M_ADDR + 1] = m[M_ADDR + 2] = m[M_ADDR + 3] = 0;
    } else {
      const auto* v6 = reinterpret_cast<const sockaddr_in6*>(sa);
      uint32_t w[4];
      memcpy(w, &v6->sin6_addr, sizeof w);
      for (int k = 0; k < 4; k++) w[k] = ntohl(w[k]);
      m[M_PORT] = ntohs(v6->sin6_port);
      if (w[0] == 0 && w[1] == 0 && w[2] == 0xffff) {
        m[M_FAMILY] = 4;
        m[M_ADDR] = w[3];
        m[M_ADDR + 1] = m[M_ADDR + 2] = m[M_ADDR + 3] = 0;
      } else {
        m[M_FAMILY] = 6;
        for (int k = 0; k < 4; k++) m[M_ADDR + k] = w[k];
      }
    }
  }
  napi_value result;
  napi_create_int32(env, n, &result);
  return result;
}

// drops() -> datagrams dropped at the socket (buffer full) as of the last one read: drops after it show with the next.
napi_value Drops(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sock* s = This(env, info, &argc, nullptr);
  if (!s) return nullptr;
  napi_value result;
  napi_create_uint32(env, s->drops, &result);
  return result;
}

void OnReadable(uv_poll_t* poll, int status, int) {
  Sock* s = static_cast<Sock*>(poll->data);
  if (!s || !s->callback) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, self, arg, result;
  if (napi_get_reference_value(env, s->callback, &cb) == napi_ok &&
      napi_get_reference_value(env, s->self, &self) == napi_ok && napi_create_int32(env, status, &arg) == napi_ok) {
    // make_callback runs microtasks and reports exceptions the way Node's own callbacks do.
    napi_make_callback(env, s->asyncCtx, self, cb, 1, &arg, &result);
  }
  napi_close_handle_scope(env, scope);
}

// startPoll(cb: (status) => void): cb is called whenever datagrams wait; it reads them with recv(). Level
// triggered, so a callback that leaves some for later (to let timers run) is called again.
napi_value StartPoll(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self;
  Sock* s = This(env, info, &argc, argv, &self);
  if (!s) return nullptr;
  if (s->fd < 0) return ThrowErrno(env, "startPoll: the socket is closed", EBADF);
  if (s->poll) return ThrowErrno(env, "startPoll: already polling", EBUSY);
  napi_valuetype t;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, nullptr, "startPoll(cb): a function");
    return nullptr;
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return ThrowErrno(env, "startPoll: no event loop", EINVAL);
  s->env = env;
  napi_value name;
  napi_create_string_utf8(env, "flowprobe.udprecv", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, argv[0], 1, &s->callback) != napi_ok ||
      napi_create_reference(env, self, 1, &s->self) != napi_ok ||
      napi_async_init(env, nullptr, name, &s->asyncCtx) != napi_ok) {
    StopPoll(s);
    return ThrowErrno(env, "startPoll: cannot keep the callback", ENOMEM);
  }
  s->poll = new uv_poll_t();
  s->poll->data = s;
  if (uv_poll_init(loop, s->poll, s->fd) != 0) {
    delete s->poll;
    s->poll = nullptr;
    StopPoll(s);
    return ThrowErrno(env, "startPoll: uv_poll_init failed", EINVAL);
  }
  uv_poll_start(s->poll, UV_READABLE, OnReadable);
  return nullptr;
}

napi_value StopPollJs(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sock* s = This(env, info, &argc, nullptr);
  if (s) StopPoll(s);
  return nullptr;
}

napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sock* s = This(env, info, &argc, nullptr);
  if (s) CloseSock(env, s);
  return nullptr;
}

void Finalize(napi_env env, void* data, void*) {
  // A polling socket holds itself, so one collected here was not polling; its buffers' references remain.
  Sock* s = static_cast<Sock*>(data);
  ClosePoll(s->poll);
  if (s->bufRef) napi_delete_reference(env, s->bufRef);
  if (s->metaRef) napi_delete_reference(env, s->metaRef);
  if (s->fd >= 0) close(s->fd);
  delete s;
}

bool TypedArray(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* length) {
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  return napi_get_typedarray_info(env, v, &type, length, data, &ab, &offset) == napi_ok && type == want;
}

// udpListen(address, port, rcvbuf, buffer, slotSize, meta) -> handle; throws with errno set on failure.
napi_value Listen(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 6) {
    napi_throw_type_error(env, nullptr, "udpListen(address, port, rcvbuf, buffer, slotSize, meta)");
    return nullptr;
  }
  char addr[64] = {0};
  size_t len = 0;
  int32_t port = 0, rcvbuf = 0, slotSize = 0;
  void* buf = nullptr;
  void* meta = nullptr;
  size_t bufLen = 0, metaLen = 0;
  if (napi_get_value_string_utf8(env, argv[0], addr, sizeof addr, &len) != napi_ok ||
      napi_get_value_int32(env, argv[1], &port) != napi_ok || napi_get_value_int32(env, argv[2], &rcvbuf) != napi_ok ||
      !TypedArray(env, argv[3], napi_uint8_array, &buf, &bufLen) ||
      napi_get_value_int32(env, argv[4], &slotSize) != napi_ok ||
      !TypedArray(env, argv[5], napi_uint32_array, &meta, &metaLen) || port < 0 || port > 65535 || slotSize <= 0) {
    napi_throw_type_error(env, nullptr,
                          "udpListen(address: string, port: 0..65535, rcvbuf: number, buffer: Uint8Array, "
                          "slotSize: > 0, meta: Uint32Array)");
    return nullptr;
  }
  size_t slots = bufLen / static_cast<size_t>(slotSize);
  if (metaLen / M_WORDS < slots) slots = metaLen / M_WORDS;
  if (slots > kMaxSlots) slots = kMaxSlots;
  if (slots == 0) return ThrowErrno(env, "udpListen: the buffer or meta array holds no slot", EINVAL);

  sockaddr_in6 ss{};
  socklen_t sl;
  int family;
  int fd = sockaddr_util::NumericUdpSocket(env, addr, port, &ss, &sl, &family);
  if (fd < 0) return nullptr;
  if (family == AF_INET6) {
    // An IPv6 socket hears IPv6 only; IPv4 has its own socket (as with dgram's ipv6Only).
    int one = 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), sl) != 0) {
    int e = errno;
    close(fd);
    return ThrowErrno(env, std::string("bind: ") + strerror(e), e);
  }
  // A failed or capped buffer size is not fatal: the caller says so (rcvbufErrno) or compares what it got.
  int rcvbufErrno = 0;
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0) rcvbufErrno = errno;
  // Without it (old kernels) drops() stays 0.
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
  int got = 0;
  socklen_t gl = sizeof got;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl);
  sockaddr_in6 bound{};
  socklen_t bl = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bl);
  int boundPort = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port : bound.sin6_port);

  Sock* s = new Sock();
  s->fd = fd;
  s->buf = static_cast<uint8_t*>(buf);
  s->meta = static_cast<uint32_t*>(meta);
  s->slotSize = static_cast<size_t>(slotSize);
  s->slots = static_cast<unsigned>(slots);
  s->msgs.resize(slots);
  s->iovs.resize(slots);
  s->addrs.resize(slots);
  s->ctrl.resize(slots * kCtrl);
  for (size_t i = 0; i < slots; i++) {
    s->iovs[i] = {s->buf + i * s->slotSize, s->slotSize};
    msghdr& h = s->msgs[i].msg_hdr;
    memset(&h, 0, sizeof h);
    h.msg_name = &s->addrs[i];
    h.msg_namelen = sizeof(sockaddr_in6);
    h.msg_iov = &s->iovs[i];
    h.msg_iovlen = 1;
    h.msg_control = s->ctrl.data() + i * kCtrl;
    h.msg_controllen = kCtrl;
  }
  napi_value obj;
  napi_create_object(env, &obj);
  if (napi_wrap(env, obj, s, Finalize, nullptr, nullptr) != napi_ok) {
    close(fd);
    delete s;
    napi_throw_error(env, nullptr, "cannot wrap receive socket");
    return nullptr;
  }
  // The buffers are held so the kernel's writes always land in live memory.
  napi_create_reference(env, argv[3], 1, &s->bufRef);
  napi_create_reference(env, argv[5], 1, &s->metaRef);
  napi_property_descriptor props[] = {
      {"recv", nullptr, Recv, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"drops", nullptr, Drops, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"startPoll", nullptr, StartPoll, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"stopPoll", nullptr, StopPollJs, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"close", nullptr, Close, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, obj, sizeof props / sizeof props[0], props);
  napi_value v;
  napi_create_int32(env, boundPort, &v);
  napi_set_named_property(env, obj, "port", v);
  napi_create_int32(env, got, &v);
  napi_set_named_property(env, obj, "rcvbuf", v);
  napi_create_int32(env, rcvbufErrno, &v);
  napi_set_named_property(env, obj, "rcvbufErrno", v);
  napi_create_uint32(env, s->slots, &v);
  napi_set_named_property(env, obj, "slots", v);
  return obj;
}

}  // namespace

bool Register(napi_env env, napi_value exports) {
  napi_value fn, layout, v;
  if (napi_create_function(env, "udpListen", NAPI_AUTO_LENGTH, Listen, nullptr, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "udpListen", fn) != napi_ok || napi_create_object(env, &layout) != napi_ok)
    return false;
  const std::pair<const char*, uint32_t> fields[] = {{"words", M_WORDS},      {"length", M_LENGTH},
                                                      {"port", M_PORT},        {"family", M_FAMILY},
                                                      {"truncated", M_TRUNCATED}, {"addr", M_ADDR}};
  for (const auto& f : fields) {
    if (napi_create_uint32(env, f.second, &v) != napi_ok || napi_set_named_property(env, layout, f.first, v) != napi_ok)
      return false;
  }
  return napi_set_named_property(env, exports, "udpMeta", layout) == napi_ok;
}

}  // namespace udprecv
