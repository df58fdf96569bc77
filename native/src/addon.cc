// flowprobe's libpcap addon: opens a savefile or a live device and copies packets into a caller-owned buffer,
// hundreds per call, so JavaScript pays one call per batch instead of one per packet.
//
// Batch layout (must match src/capture/batch.ts): per packet a 16-byte header in host byte order
//   u32 ts_sec | u32 ts_nsec | u32 caplen | u32 wirelen
// followed by caplen bytes, padded so the next header starts on a 4-byte boundary.

#include <node_api.h>
#include <pcap/pcap.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "logsock.h"
#include "pages.h"
#include "pcapng.h"
#include "savefile.h"
#include "udp.h"
#include "udprecv.h"

namespace {

constexpr size_t kHeader = 16;
// next()'s count of a batch read in place sits below this bit, its slot + 1 from it (see SlotBuffers).
constexpr int kSlotShift = 20;

size_t RecordSize(uint32_t caplen) { return kHeader + ((caplen + 3u) & ~3u); }

// napi_* failures here mean a programming error on the JS side (wrong argument types); report and bail.
#define NAPI_CALL(env, call)                                                   \
  do {                                                                         \
    if ((call) != napi_ok) {                                                   \
      const napi_extended_error_info* info = nullptr;                          \
      napi_get_last_error_info((env), &info);                                  \
      bool pending = false;                                                    \
      napi_is_exception_pending((env), &pending);                              \
      if (!pending)                                                            \
        napi_throw_error((env), nullptr,                                       \
                         info && info->error_message ? info->error_message     \
                                                     : "N-API call failed");   \
      return nullptr;                                                          \
    }                                                                          \
  } while (0)

struct Handle {
  pcap_t* pcap = nullptr;
  bool offline = false;
  bool nano = false;  // timestamps already in nanoseconds
  // A packet that did not fit in the caller's buffer: kept for the next call, because libpcap's packet data is
  // only valid until the next pcap_next_ex().
  bool havePending = false;
  pcap_pkthdr pendingHdr{};
  std::vector<uint8_t> pending;
  // An error met after some packets of a batch were already copied: those packets are returned first and the
  // error is raised on the next call, so nothing already read is lost.
  std::string deferredError;
  // The first read error of a savefile, returned by every later call: libpcap's reader state after an error is
  // undefined (1.10.3, having refused a pcapng IDB, divides by that interface's uninitialised timestamp scale on
  // the next call and dies of SIGFPE), so it is not called again.
  std::string savefileError;
  bool eof = false;
  uint64_t truncated = 0;  // packets cut to fit a buffer smaller than the packet
  // A plain savefile read without libpcap's per-packet calls (savefile.cc), until it hands the file back.
  savefile::Reader* fast = nullptr;
  // The caller reads the fast reader's batches in place (slotBuffers): next() says which slot holds one.
  bool inPlace = false;
  // A pcapng read by our own reader (pcapng.cc) instead of libpcap; pcap is null then.
  pcapng::Reader* ng = nullptr;
  // Event-loop integration for live capture.
  uv_poll_t* poll = nullptr;
  napi_env env = nullptr;
  napi_ref callback = nullptr;
  napi_ref self = nullptr;
  napi_async_context asyncCtx = nullptr;
};

void StopPoll(Handle* h) {
  if (h->poll) {
    uv_poll_stop(h->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(h->poll), [](uv_handle_t* p) { delete reinterpret_cast<uv_poll_t*>(p); });
    h->poll = nullptr;
  }
  if (h->callback) {
    napi_delete_reference(h->env, h->callback);
    h->callback = nullptr;
  }
  if (h->self) {
    napi_delete_reference(h->env, h->self);
    h->self = nullptr;
  }
  if (h->asyncCtx) {
    napi_async_destroy(h->env, h->asyncCtx);
    h->asyncCtx = nullptr;
  }
}

void DropFast(Handle* h) {
  delete h->fast;
  h->fast = nullptr;
}

void DropNg(Handle* h) {
  delete h->ng;
  h->ng = nullptr;
}

bool IsOpen(const Handle* h) { return h->pcap || h->ng; }

void CloseHandle(Handle* h) {
  StopPoll(h);
  DropFast(h);
  DropNg(h);
  if (h->pcap) {
    pcap_close(h->pcap);
    h->pcap = nullptr;
  }
}

void Finalize(napi_env, void* data, void*) {
  Handle* h = static_cast<Handle*>(data);
  // References are already gone when the object is collected; only the pcap and the poll handle remain.
  if (h->poll) {
    uv_poll_stop(h->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(h->poll), [](uv_handle_t* p) { delete reinterpret_cast<uv_poll_t*>(p); });
    h->poll = nullptr;
  }
  DropFast(h);
  DropNg(h);
  if (h->pcap) pcap_close(h->pcap);
  delete h;
}

napi_value Throw(napi_env env, const std::string& msg) {
  napi_throw_error(env, nullptr, msg.c_str());
  return nullptr;
}

bool GetString(napi_env env, napi_value v, std::string* out) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &len) != napi_ok) return false;
  out->resize(len);
  std::vector<char> tmp(len + 1);
  if (napi_get_value_string_utf8(env, v, tmp.data(), len + 1, &len) != napi_ok) return false;
  out->assign(tmp.data(), len);
  return true;
}

bool IsNullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return true;
  return t == napi_undefined || t == napi_null;
}

// Reads an optional property; returns false when absent.
bool GetProp(napi_env env, napi_value obj, const char* name, napi_value* out) {
  bool has = false;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has) return false;
  if (napi_get_named_property(env, obj, name, out) != napi_ok) return false;
  return !IsNullish(env, *out);
}

std::string ApplyFilter(pcap_t* p, const std::string& filter, bpf_u_int32 netmask) {
  bpf_program prog{};
  if (pcap_compile(p, &prog, filter.c_str(), 1, netmask) != 0) {
    return std::string("bad filter \"") + filter + "\": " + pcap_geterr(p);
  }
  int rc = pcap_setfilter(p, &prog);
  pcap_freecode(&prog);
  if (rc != 0) return std::string("cannot set filter \"") + filter + "\": " + pcap_geterr(p);
  return "";
}

napi_value Wrap(napi_env env, Handle* h);

Handle* Unwrap(napi_env env, napi_value obj) {
  void* data = nullptr;
  if (napi_unwrap(env, obj, &data) != napi_ok || data == nullptr) {
    napi_throw_type_error(env, nullptr, "not a capture handle");
    return nullptr;
  }
  return static_cast<Handle*>(data);
}

// Standard input through a pipe, whose first bytes were read to see whether it holds a pcapng: libpcap, handed the
// stream, reads those bytes again first.
struct PipePrefix {
  uint8_t bytes[4];
  size_t len = 0;
  size_t off = 0;
};

ssize_t PipePrefixRead(void* cookie, char* buf, size_t size) {
  PipePrefix* pp = static_cast<PipePrefix*>(cookie);
  if (pp->off < pp->len) {
    size_t k = std::min(size, pp->len - pp->off);
    std::memcpy(buf, pp->bytes + pp->off, k);
    pp->off += k;
    return static_cast<ssize_t>(k);
  }
  for (;;) {
    ssize_t k = read(STDIN_FILENO, buf, size);
    if (k < 0 && errno == EINTR) continue;
    return k;
  }
}

int PipePrefixClose(void* cookie) {
  delete static_cast<PipePrefix*>(cookie);
  return 0;
}

// Wraps a pcapng reader in a handle.
napi_value WrapPcapng(napi_env env, pcapng::Reader* r) {
  Handle* h = new Handle();
  h->ng = r;
  h->offline = true;
  return Wrap(env, h);
}

// openOffline(path: string, filter?: string, opts?: {libpcap?: boolean}) -> handle. A pcapng (a file, or standard
// input "-", file or pipe) is read by pcapng.cc (any mix of link types, the filter compiled per link type) unless
// opts.libpcap asks for libpcap's reader (tests compare the two); everything else is libpcap's.
napi_value OpenOffline(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  std::string path, filter;
  if (argc < 1 || !GetString(env, argv[0], &path)) return Throw(env, "openOffline: path must be a string");
  bool haveFilter = argc >= 2 && !IsNullish(env, argv[1]);
  if (haveFilter && !GetString(env, argv[1], &filter)) return Throw(env, "openOffline: filter must be a string");
  bool forceLibpcap = false;
  if (argc >= 3 && !IsNullish(env, argv[2])) {
    napi_value v;
    if (GetProp(env, argv[2], "libpcap", &v)) NAPI_CALL(env, napi_get_value_bool(env, v, &forceLibpcap));
  }
  const std::string ngFilter = haveFilter ? filter : std::string();
  FILE* prefixed = nullptr;  // standard input for libpcap, its first bytes put back
  if (!forceLibpcap && path != "-") {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && pcapng::Looks(fd)) {
      std::string err;
      pcapng::Reader* r = pcapng::Open(fd, ngFilter, &err);
      if (!r) return Throw(env, err);
      return WrapPcapng(env, r);
    }
    // Not a pcapng (or not openable here): libpcap opens it and names any error.
    if (fd >= 0) close(fd);
  } else if (!forceLibpcap) {
    struct stat st {};
    if (fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode)) {
      // A file on standard input: looked at in place, and libpcap's (with the fast reader) unless a pcapng.
      if (pcapng::Looks(STDIN_FILENO)) {
        std::string err;
        pcapng::Reader* r = pcapng::Open(fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0), ngFilter, &err);
        if (!r) return Throw(env, err);
        return WrapPcapng(env, r);
      }
    } else {
      PipePrefix* pp = new PipePrefix();
      while (pp->len < sizeof pp->bytes) {
        ssize_t k = read(STDIN_FILENO, pp->bytes + pp->len, sizeof pp->bytes - pp->len);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        pp->len += static_cast<size_t>(k);
      }
      if (pcapng::StartsPcapng(pp->bytes, pp->len)) {
        std::string err;
        pcapng::Reader* r = pcapng::Open(fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0), ngFilter, &err, pp->bytes, pp->len);
        delete pp;
        if (!r) return Throw(env, err);
        return WrapPcapng(env, r);
      }
      prefixed = fopencookie(pp, "r", cookie_io_functions_t{PipePrefixRead, nullptr, nullptr, PipePrefixClose});
      if (!prefixed) {
        delete pp;
        return Throw(env, std::string("cannot read standard input: ") + strerror(errno));
      }
    }
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_t* p = prefixed ? pcap_fopen_offline_with_tstamp_precision(prefixed, PCAP_TSTAMP_PRECISION_NANO, errbuf)
                       : pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (!p) {
    if (prefixed) fclose(prefixed);
    return Throw(env, errbuf);
  }
  if (haveFilter && !filter.empty()) {
    std::string err = ApplyFilter(p, filter, PCAP_NETMASK_UNKNOWN);
    if (!err.empty()) {
      pcap_close(p);
      return Throw(env, err);
    }
  }
  Handle* h = new Handle();
  h->pcap = p;
  h->offline = true;
  h->nano = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;
  // A filter is libpcap's to apply.
  if (!haveFilter || filter.empty()) h->fast = savefile::Open(p);
  return Wrap(env, h);
}

// openLive(device: string, opts: {snaplen, promisc, bufferSize, immediate, timeoutMs, filter}) -> handle
napi_value OpenLive(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  std::string device, filter;
  if (argc < 1 || !GetString(env, argv[0], &device)) return Throw(env, "openLive: device must be a string");
  int32_t snaplen = 262144, bufferSize = 0, timeoutMs = 100;
  bool promisc = true, immediate = true, haveFilter = false;
  if (argc >= 2 && !IsNullish(env, argv[1])) {
    napi_value v;
    if (GetProp(env, argv[1], "snaplen", &v)) NAPI_CALL(env, napi_get_value_int32(env, v, &snaplen));
    if (GetProp(env, argv[1], "bufferSize", &v)) NAPI_CALL(env, napi_get_value_int32(env, v, &bufferSize));
    if (GetProp(env, argv[1], "timeoutMs", &v)) NAPI_CALL(env, napi_get_value_int32(env, v, &timeoutMs));
    if (GetProp(env, argv[1], "promisc", &v)) NAPI_CALL(env, napi_get_value_bool(env, v, &promisc));
    if (GetProp(env, argv[1], "immediate", &v)) NAPI_CALL(env, napi_get_value_bool(env, v, &immediate));
    if (GetProp(env, argv[1], "filter", &v)) {
      if (!GetString(env, v, &filter)) return Throw(env, "openLive: filter must be a string");
      haveFilter = !filter.empty();
    }
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_t* p = pcap_create(device.c_str(), errbuf);
  if (!p) return Throw(env, device + ": " + errbuf);
  pcap_set_snaplen(p, snaplen);
  pcap_set_promisc(p, promisc ? 1 : 0);
  pcap_set_timeout(p, timeoutMs);
  if (bufferSize > 0) pcap_set_buffer_size(p, bufferSize);
  if (immediate) pcap_set_immediate_mode(p, 1);
  // Nanosecond stamps where the platform has them; otherwise microseconds, scaled when copied.
  pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
  int rc = pcap_activate(p);
  if (rc < 0) {
    std::string msg = device + ": " + pcap_statustostr(rc);
    const char* detail = pcap_geterr(p);
    // libpcap sometimes repeats the status text as the detail; say it once.
    if (detail && *detail && std::string(detail) != pcap_statustostr(rc)) msg += std::string(" (") + detail + ")";
    pcap_close(p);
    return Throw(env, msg);
  }
  if (haveFilter) {
    bpf_u_int32 net = 0, mask = PCAP_NETMASK_UNKNOWN;
    if (pcap_lookupnet(device.c_str(), &net, &mask, errbuf) != 0) mask = PCAP_NETMASK_UNKNOWN;
    std::string err = ApplyFilter(p, filter, mask);
    if (!err.empty()) {
      pcap_close(p);
      return Throw(env, err);
    }
  }
  if (pcap_setnonblock(p, 1, errbuf) != 0) {
    pcap_close(p);
    return Throw(env, device + ": cannot set non-blocking mode: " + errbuf);
  }
  Handle* h = new Handle();
  h->pcap = p;
  h->nano = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;
  return Wrap(env, h);
}

inline void PutU32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }

// Copies one packet at buf+off; returns the bytes used.
size_t CopyPacket(Handle* h, uint8_t* dst, const pcap_pkthdr* hdr, const uint8_t* data, uint32_t caplen) {
  uint32_t nsec = h->nano ? static_cast<uint32_t>(hdr->ts.tv_usec) : static_cast<uint32_t>(hdr->ts.tv_usec) * 1000u;
  PutU32(dst, static_cast<uint32_t>(hdr->ts.tv_sec));
  PutU32(dst + 4, nsec);
  PutU32(dst + 8, caplen);
  PutU32(dst + 12, hdr->len);
  std::memcpy(dst + kHeader, data, caplen);
  size_t used = RecordSize(caplen);
  // Zero the padding so a batch never carries stale bytes from an earlier one.
  for (size_t i = kHeader + caplen; i < used; i++) dst[i] = 0;
  return used;
}

// What a live read hands libpcap's callback: where the batch stands.
struct Dispatch {
  Handle* h;
  uint8_t* buf;
  size_t cap;
  size_t off;
  int32_t count;
};

void OnLivePacket(u_char* user, const pcap_pkthdr* hdr, const u_char* data) {
  Dispatch* d = reinterpret_cast<Dispatch*>(user);
  uint32_t caplen = hdr->caplen;
  // The caller asked for no more packets than fit at the snapshot length, which libpcap cuts every packet to; a
  // longer one is cut here rather than written past the buffer.
  if (d->off + RecordSize(caplen) > d->cap) {
    caplen = static_cast<uint32_t>((d->cap - d->off - kHeader) & ~size_t(3));
    d->h->truncated++;
  }
  d->off += CopyPacket(d->h, d->buf + d->off, hdr, data, caplen);
  d->count++;
}

// next(buf: Buffer, maxPackets: number) -> number of packets copied (0: none ready on a live device),
// or -1 at the end of a savefile. Throws libpcap's error text on a read error.
napi_value Next(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_value thisArg;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, &thisArg, nullptr));
  Handle* h = Unwrap(env, thisArg);
  if (!h) return nullptr;
  if (!IsOpen(h)) return Throw(env, "capture handle is closed");
  if (argc < 2) return Throw(env, "next(buffer, maxPackets)");
  void* raw = nullptr;
  size_t cap = 0;
  NAPI_CALL(env, napi_get_buffer_info(env, argv[0], &raw, &cap));
  int32_t maxPackets = 0;
  NAPI_CALL(env, napi_get_value_int32(env, argv[1], &maxPackets));
  if (cap < kHeader + 4) return Throw(env, "batch buffer too small");
  uint8_t* buf = static_cast<uint8_t*>(raw);

  if (!h->deferredError.empty()) {
    std::string e = h->deferredError;
    h->deferredError.clear();
    return Throw(env, e);
  }
  if (!h->savefileError.empty()) return Throw(env, h->savefileError);
  size_t off = 0;
  int32_t count = 0;
  if (h->ng) {
    // One link type per batch: datalink() then names this batch's.
    std::string e;
    pcapng::Status st = pcapng::Fill(h->ng, buf, cap, maxPackets, &off, &count, &h->truncated, &e);
    if (st == pcapng::Status::kError) {
      // The reader repeats its error on every later call.
      if (count == 0) return Throw(env, e);
      h->deferredError = e;
    }
    napi_value result;
    NAPI_CALL(env, napi_create_int32(env, (count == 0 && st == pcapng::Status::kEnd) ? -1 : count, &result));
    return result;
  }
  if (h->havePending) {
    uint32_t caplen = h->pendingHdr.caplen;
    if (RecordSize(caplen) > cap) {
      caplen = static_cast<uint32_t>((cap - kHeader) & ~size_t(3));
      h->truncated++;
    }
    off += CopyPacket(h, buf, &h->pendingHdr, h->pending.data(), caplen);
    count++;
    h->havePending = false;
  }
  if (h->fast && !h->eof) {
    int slot = -1;
    savefile::Status st =
        savefile::Fill(h->fast, buf, cap, maxPackets, &off, &count, h->inPlace && count == 0 ? &slot : nullptr);
    if (st == savefile::Status::kEnd) {
      h->eof = true;
    } else if (st == savefile::Status::kHandOff) {
      // libpcap goes on from the record the fast reader would not take.
      if (fseeko(pcap_file(h->pcap), static_cast<off_t>(h->fast->pos), SEEK_SET) != 0) {
        std::string e = std::string("cannot seek in the capture file: ") + strerror(errno);
        DropFast(h);
        h->savefileError = e;
        if (count > 0) h->deferredError = e;
        else return Throw(env, e);
      }
      DropFast(h);
    }
    if (slot >= 0 && count > 0) {
      // The batch is in the slot, not in buf: nothing more goes with it (libpcap, after a hand-off, next time).
      napi_value result;
      NAPI_CALL(env, napi_create_int32(env, count | ((slot + 1) << kSlotShift), &result));
      return result;
    }
  }
  // A live device: a pcap_dispatch per batch instead of a pcap_next_ex per packet (libpcap's set-up per call),
  // asking each time for no more packets than certainly fit; the loop below takes what room is left after.
  if (!h->offline) {
    const size_t most = RecordSize(static_cast<uint32_t>(pcap_snapshot(h->pcap)));
    while (count < maxPackets) {
      size_t fit = (cap - off) / most;
      if (fit == 0) break;
      int want = static_cast<int>(std::min<size_t>(fit, static_cast<size_t>(maxPackets - count)));
      Dispatch d{h, buf, cap, off, count};
      int rc = pcap_dispatch(h->pcap, want, OnLivePacket, reinterpret_cast<u_char*>(&d));
      off = d.off;
      count = d.count;
      if (rc < 0 && rc != PCAP_ERROR_BREAK) {
        std::string e = pcap_geterr(h->pcap);
        if (e.empty()) e = "read error";
        if (count == 0) return Throw(env, e);
        h->deferredError = e;
        break;
      }
      // Fewer than asked: nothing more is ready now (or a pcap_breakloop asked to stop).
      if (rc < want) {
        napi_value result;
        NAPI_CALL(env, napi_create_int32(env, count, &result));
        return result;
      }
    }
  }
  while (!h->fast && count < maxPackets && !h->eof && h->deferredError.empty()) {
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    int rc = pcap_next_ex(h->pcap, &hdr, &data);
    if (rc == 1) {
      uint32_t caplen = hdr->caplen;
      if (off + RecordSize(caplen) > cap) {
        if (count == 0) {
          // A packet larger than the whole buffer: keep what fits rather than stall for ever.
          caplen = static_cast<uint32_t>((cap - kHeader) & ~size_t(3));
          h->truncated++;
        } else {
          h->pendingHdr = *hdr;
          h->pending.assign(data, data + hdr->caplen);
          h->havePending = true;
          break;
        }
      }
      off += CopyPacket(h, buf + off, hdr, data, caplen);
      count++;
    } else if (rc == 0) {
      break;  // live: nothing more ready now
    } else if (rc == PCAP_ERROR_BREAK) {
      h->eof = true;  // savefile exhausted (-2)
    } else {
      std::string e = pcap_geterr(h->pcap);
      if (e.empty()) e = "read error";
      if (h->offline) h->savefileError = e;
      if (count > 0) {
        h->deferredError = e;
        break;
      }
      return Throw(env, e);
    }
  }
  napi_value result;
  NAPI_CALL(env, napi_create_int32(env, (count == 0 && h->eof) ? -1 : count, &result));
  return result;
}

void ReleaseMapping(napi_env, void*, void* hint) { savefile::Release(static_cast<savefile::Mapping*>(hint)); }

// slotBuffers() -> ArrayBuffer[] | null: the savefile's read-ahead slots, for reading batches in place. From then
// on next() returns count | (slot + 1) << 20 for a batch left in a slot (and the plain count for one in the
// buffer given); the slot stays the caller's until its next next(). null when there is no read-ahead (libpcap's
// files, live devices, or before the first next()).
napi_value SlotBuffers(napi_env env, napi_callback_info info) {
  napi_value thisArg;
  NAPI_CALL(env, napi_get_cb_info(env, info, nullptr, nullptr, &thisArg, nullptr));
  Handle* h = Unwrap(env, thisArg);
  if (!h) return nullptr;
  napi_value result;
  std::vector<savefile::Mapping*> maps = h->fast ? savefile::Exported(h->fast) : std::vector<savefile::Mapping*>();
  if (maps.empty()) {
    NAPI_CALL(env, napi_get_null(env, &result));
    return result;
  }
  NAPI_CALL(env, napi_create_array_with_length(env, maps.size(), &result));
  for (size_t i = 0; i < maps.size(); i++) {
    napi_value ab;
    napi_status st = napi_create_external_arraybuffer(env, maps[i]->mem, maps[i]->len, ReleaseMapping, maps[i], &ab);
    if (st != napi_ok) {
      // This one and the rest were never wrapped: their holds go back now (the wrapped ones' with their buffers).
      for (size_t j = i; j < maps.size(); j++) savefile::Release(maps[j]);
      NAPI_CALL(env, st);
    }
    NAPI_CALL(env, napi_set_element(env, result, static_cast<uint32_t>(i), ab));
  }
  h->inPlace = true;
  return result;
}

napi_value Datalink(napi_env env, napi_callback_info info) {
  napi_value thisArg, result;
  NAPI_CALL(env, napi_get_cb_info(env, info, nullptr, nullptr, &thisArg, nullptr));
  Handle* h = Unwrap(env, thisArg);
  if (!h) return nullptr;
  if (!IsOpen(h)) return Throw(env, "capture handle is closed");
  // A pcapng of ours: the link type of the batch next() returned last (the first interface's before any).
  NAPI_CALL(env, napi_create_int32(env, h->ng ? pcapng::LinkType(h->ng) : pcap_datalink(h->pcap), &result));
  return result;
}

napi_value Snaplen(napi_env env, napi_callback_info info) {
  napi_value thisArg, result;
  NAPI_CALL(env, napi_get_cb_info(env, info, nullptr, nullptr, &thisArg, nullptr));
  Handle* h = Unwrap(env, thisArg);
  if (!h) return nullptr;
  if (!IsOpen(h)) return Throw(env, "capture handle is closed");
  NAPI_CALL(env, napi_create_int32(env, h->ng ? pcapng::Snaplen(h->ng) : pcap_snapshot(h->pcap), &result));
  return result;
}

// stats() -> {received, dropped, ifDropped, truncated} for a live device; null for a savefile.
napi_value Stats(napi_env env, napi_callback_info info) {
  napi_value thisArg, result, v;
  NAPI_CALL(env, napi_get_cb_info(env, info, nullptr, nullptr, &thisArg, nullptr));
  Handle* h = Unwrap(env, thisArg);
  if (!h) return nullptr;
  if (!IsOpen(h)) return Throw(env, "capture handle is closed");
  if (h->offline) {
    NAPI_CALL(env, napi_get_null(env, &result));
    return result;
  }
  pcap_stat st{};
  if (pcap_stats(h->pcap, &st) != 0) return Throw(env, std::string("pcap_stats: ") + pcap_geterr(h->pcap));
  NAPI_CALL(env, napi_create_object(env, &result));
  NAPI_CALL(env, napi_create_double(env, st.ps_recv, &v));
  NAPI_CALL(env, napi_set_named_property(env, result, "received", v));
  NAPI_CALL(env, napi_create_double(env, st.ps_drop, &v));
  NAPI_CALL(env, napi_set_named_property(env, result, "dropped", v));
  NAPI_CALL(env, napi_create_double(env, st.ps_ifdrop, &v));
  NAPI_CALL(env, napi_set_named_property(env, result, "ifDropped", v));
  NAPI_CALL(env, napi_create_double(env, static_cast<double>(h->truncated), &v));
  NAPI_CALL(env, napi_set_named_property(env, result, "truncated", v));
  return result;
}

napi_value Close(napi_env env, napi_callback_info info) {
  napi_value thisArg;
  NAPI_CALL(env, napi_get_cb_info(env, info, nullptr, nullptr, &thisArg, nullptr));
  Handle* h = Unwrap(env, thisArg);
  if (!h) return nullptr;
  CloseHandle(h);
  return nullptr;
}

void OnReadable(uv_poll_t* poll, int status, int) {
  Handle* h = static_cast<Handle*>(poll->data);
  if (!h || !h->callback) return;
  napi_env env = h->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, self, arg, result;
  if (napi_get_reference_value(env, h->callback, &cb) == napi_ok &&
      napi_get_reference_value(env, h->self, &self) == napi_ok &&
      napi_create_int32(env, status, &arg) == napi_ok) {
    // make_callback runs microtasks and reports exceptions the way Node's own callbacks do.
    napi_make_callback(env, h->asyncCtx, self, cb, 1, &arg, &result);
  }
  napi_close_handle_scope(env, scope);
}

// startPoll(cb: (status: number) => void): call cb whenever the device has packets to read (live only).
napi_value StartPoll(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], thisArg;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, &thisArg, nullptr));
  Handle* h = Unwrap(env, thisArg);
  if (!h) return nullptr;
  if (!IsOpen(h)) return Throw(env, "capture handle is closed");
  if (h->offline) return Throw(env, "startPoll: a savefile has no selectable descriptor");
  if (h->poll) return Throw(env, "startPoll: already polling");
  int fd = pcap_get_selectable_fd(h->pcap);
  if (fd < 0) return Throw(env, "startPoll: this device has no selectable descriptor");
  uv_loop_t* loop = nullptr;
  NAPI_CALL(env, napi_get_uv_event_loop(env, &loop));
  h->env = env;
  NAPI_CALL(env, napi_create_reference(env, argv[0], 1, &h->callback));
  NAPI_CALL(env, napi_create_reference(env, thisArg, 1, &h->self));
  napi_value name;
  NAPI_CALL(env, napi_create_string_utf8(env, "flowprobe.capture", NAPI_AUTO_LENGTH, &name));
  NAPI_CALL(env, napi_async_init(env, nullptr, name, &h->asyncCtx));
  h->poll = new uv_poll_t();
  h->poll->data = h;
  if (uv_poll_init(loop, h->poll, fd) != 0) {
    delete h->poll;
    h->poll = nullptr;
    StopPoll(h);
    return Throw(env, "startPoll: uv_poll_init failed");
  }
  uv_poll_start(h->poll, UV_READABLE, OnReadable);
  return nullptr;
}

napi_value StopPollJs(napi_env env, napi_callback_info info) {
  napi_value thisArg;
  NAPI_CALL(env, napi_get_cb_info(env, info, nullptr, nullptr, &thisArg, nullptr));
  Handle* h = Unwrap(env, thisArg);
  if (!h) return nullptr;
  StopPoll(h);
  return nullptr;
}

napi_value LibVersion(napi_env env, napi_callback_info) {
  napi_value result;
  NAPI_CALL(env, napi_create_string_utf8(env, pcap_lib_version(), NAPI_AUTO_LENGTH, &result));
  return result;
}

// Each handle carries its methods, so JavaScript calls handle.next(buf, n) directly.
napi_value Wrap(napi_env env, Handle* h) {
  napi_value obj;
  NAPI_CALL(env, napi_create_object(env, &obj));
  if (napi_wrap(env, obj, h, Finalize, nullptr, nullptr) != napi_ok) {
    if (h->pcap) pcap_close(h->pcap);
    DropNg(h);
    delete h;
    return Throw(env, "cannot wrap capture handle");
  }
  // Whether datalink() may change from batch to batch, so the caller asks after each one only then.
  napi_value varies;
  NAPI_CALL(env, napi_get_boolean(env, h->ng != nullptr, &varies));
  NAPI_CALL(env, napi_set_named_property(env, obj, "linkTypeVaries", varies));
  napi_property_descriptor props[] = {
      {"next", nullptr, Next, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"slotBuffers", nullptr, SlotBuffers, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"datalink", nullptr, Datalink, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"snaplen", nullptr, Snaplen, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"stats", nullptr, Stats, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"close", nullptr, Close, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"startPoll", nullptr, StartPoll, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"stopPoll", nullptr, StopPollJs, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  NAPI_CALL(env, napi_define_properties(env, obj, sizeof(props) / sizeof(props[0]), props));
  return obj;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"openOffline", nullptr, OpenOffline, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"openLive", nullptr, OpenLive, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"libVersion", nullptr, LibVersion, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return nullptr;
  if (!udp::Register(env, exports)) return nullptr;
  if (!udprecv::Register(env, exports)) return nullptr;
  if (!logsock::Register(env, exports)) return nullptr;
  if (!pages::Register(env, exports)) return nullptr;
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
