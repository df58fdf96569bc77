// A pcapng reader of our own, after draft-ietf-opsawg-pcapng. libpcap 1.10 reads a pcapng as one link type (its
// first interface's) and fails at the first interface of another, which is what dumpcap writes for a capture on
// several interfaces and mergecap for merged files. Here each interface keeps its link type, and a batch ends
// before a packet of another one, so the caller decodes every batch with a single link type.
//
// A file is read in a window of kWindow bytes with pread(2); a block is judged by its header and its trailer
// before its body is used, and nothing is allocated from a length field: every length the file gives is checked
// against the block it is in, and the most a block's body asks of the window is a packet header and kMaxCaplen
// bytes. Blocks other than SHB, IDB and the packet blocks are skipped by their length. A pipe (dumpcap -w - |
// flowprobe -r -) is read forward only: a block the reader uses is taken into the window whole (at most
// kMaxPipeBlock bytes) before it is judged, and one it skips is read through and let go. The first error stops the
// reader (the packets before it are the caller's); it names what was wrong and the block's file offset.

#include "pcapng.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace pcapng {
namespace {

constexpr uint32_t kShb = 0x0A0D0D0A;
constexpr uint32_t kIdb = 1;
constexpr uint32_t kOpb = 2;  // the obsolete Packet Block
constexpr uint32_t kSpb = 3;
constexpr uint32_t kEpb = 6;
constexpr uint32_t kByteOrderMagic = 0x1A2B3C4D;
constexpr uint16_t kOptEnd = 0;
constexpr uint16_t kOptTsresol = 9;
constexpr uint16_t kOptTsoffset = 14;
constexpr size_t kBatchHeader = 16;       // addon.cc's per-packet header
constexpr uint32_t kMaxCaplen = 262144;   // libpcap's MAXIMUM_SNAPLEN: no packet of ours is longer
constexpr size_t kWindow = 1 << 20;       // > the largest read asked of it: a packet header and kMaxCaplen
constexpr size_t kMaxInterfaces = 65536;  // per section; an OPB can only name this many
// The largest block used (not skipped) from a pipe: a packet block's header, kMaxCaplen bytes and generous options.
constexpr size_t kMaxPipeBlock = 4 << 20;
constexpr int kLinkNflog = 239;

uint32_t Swap32(uint32_t v) { return __builtin_bswap32(v); }

uint16_t Get16(const Reader* r, const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return r->swap ? __builtin_bswap16(v) : v;
}

uint32_t Get32(const Reader* r, const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return r->swap ? Swap32(v) : v;
}

std::string At(uint64_t off) { return " at file offset " + std::to_string(off); }

bool Fail(Reader* r, const std::string& msg) {
  if (r->error.empty()) r->error = msg;
  return false;
}

// read(2) into p, up to n bytes, until the end of the input; -1 on a read error (r->error set).
ssize_t ReadSome(Reader* r, uint8_t* p, size_t n, uint64_t at) {
  for (;;) {
    ssize_t k = read(r->fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) Fail(r, std::string("read error") + At(at) + ": " + strerror(errno));
    return k;
  }
}

// Have() on a pipe: the window only moves forward, and what lies before `at` may be let go.
const uint8_t* HavePipe(Reader* r, uint64_t at, size_t n, size_t* avail) {
  uint64_t end = r->winPos + r->winLen;
  if (at < r->winPos) {
    Fail(r, "cannot go back in a pipe" + At(at));  // the callers never ask: a used block is taken in whole first
    return nullptr;
  }
  if (at > end) {
    // Read through what lies between (a skipped block's body).
    r->winLen = 0;
    if (r->win.size() < kWindow) r->win.resize(kWindow);
    while (end < at) {
      ssize_t k = ReadSome(r, r->win.data(), static_cast<size_t>(std::min<uint64_t>(at - end, r->win.size())), end);
      if (k <= 0) {
        r->winPos = end;
        if (avail) *avail = 0;
        return nullptr;
      }
      end += static_cast<uint64_t>(k);
    }
    r->winPos = at;
  } else if (at - r->winPos + n > r->win.size()) {
    // No room after what is kept: let go of what is before at.
    size_t keep = static_cast<size_t>(end - at);
    std::memmove(r->win.data(), r->win.data() + (at - r->winPos), keep);
    r->winPos = at;
    r->winLen = keep;
  }
  size_t need = static_cast<size_t>(at - r->winPos) + n;
  if (r->win.size() < need) r->win.resize(std::max(need, kWindow));
  while (r->winLen < need) {
    ssize_t k = ReadSome(r, r->win.data() + r->winLen, r->win.size() - r->winLen, r->winPos + r->winLen);
    if (k < 0) return nullptr;
    if (k == 0) break;
    r->winLen += static_cast<size_t>(k);
  }
  if (avail) *avail = r->winLen - static_cast<size_t>(at - r->winPos);
  return r->winLen >= need ? r->win.data() + (at - r->winPos) : nullptr;
}

// [at, at + n) of the file in the window, or nullptr when the file ends first (*avail: how many bytes it has
// there) or a read fails (r->error set).
const uint8_t* Have(Reader* r, uint64_t at, size_t n, size_t* avail = nullptr) {
  if (at >= r->winPos && at + n <= r->winPos + r->winLen) return r->win.data() + (at - r->winPos);
  if (r->pipe) return HavePipe(r, at, n, avail);
  if (r->win.size() < kWindow) r->win.resize(kWindow);
  size_t got = 0;
  while (got < kWindow) {
    ssize_t k = pread(r->fd, r->win.data() + got, kWindow - got, static_cast<off_t>(at + got));
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      r->error = std::string("read error") + At(at + got) + ": " + strerror(errno);
      r->winLen = 0;
      return nullptr;
    }
    if (k == 0) break;
    got += static_cast<size_t>(k);
  }
  r->winPos = at;
  r->winLen = got;
  if (avail) *avail = got;
  return n <= got ? r->win.data() : nullptr;
}

uint64_t Pow10(unsigned n) {
  uint64_t v = 1;
  while (n--) v *= 10;
  return v;
}

// Ticks of an interface's resolution to seconds and nanoseconds (floor), exact for every resolution the option
// can name: 10^-0 .. 10^-127 and 2^-0 .. 2^-127 s. Seconds wrap to the batch's 32 bits as libpcap's time_t cast does.
void ToTime(const Interface& f, uint64_t t, uint32_t* sec, uint32_t* nsec) {
  uint64_t s, ns;
  if (f.binary) {
    unsigned n = f.exp;
    uint64_t frac = t;
    s = 0;
    if (n < 64) {
      s = t >> n;
      frac = n == 0 ? 0 : t & ((uint64_t{1} << n) - 1);
    }
    ns = static_cast<uint64_t>((static_cast<unsigned __int128>(frac) * 1000000000u) >> n);
  } else {
    unsigned n = f.exp;
    if (n <= 19) {  // 10^19 < 2^64 < 10^20
      uint64_t per = Pow10(n);
      s = t / per;
      uint64_t frac = t % per;
      ns = n <= 9 ? frac * Pow10(9 - n) : frac / Pow10(n - 9);
    } else {
      s = 0;
      ns = n - 9 <= 19 ? t / Pow10(n - 9) : 0;
    }
  }
  *sec = static_cast<uint32_t>(s + static_cast<uint64_t>(f.offset));
  *nsec = static_cast<uint32_t>(ns);
}

// A pcap_t of a savefile with this link type and byte order (a pcap file header read from memory): libpcap's DLT
// for the LINKTYPE comes from it, so a pcapng interface reports the number a pcap file of the same link type does,
// and filters compile against it as against such a file (for DLT_NULL a savefile's program accepts every
// system's AF_INET6 value, in the file's byte order; a pcap_open_dead one only this host's).
// hdr is the file's memory, for as long as the pcap_t is open.
pcap_t* MemorySavefile(uint16_t linkType, bool swapped, uint32_t (&hdr)[6]) {
  hdr[0] = 0xa1b2c3d4;
  hdr[2] = hdr[3] = 0;
  hdr[4] = kMaxCaplen;
  hdr[5] = linkType;
  const uint16_t v[2] = {2, 4};  // version 2.4
  std::memcpy(&hdr[1], v, 4);
  if (swapped) {
    for (uint32_t& w : hdr) w = Swap32(w);
    uint16_t sv[2] = {__builtin_bswap16(2), __builtin_bswap16(4)};
    std::memcpy(&hdr[1], sv, 4);
  }
  FILE* f = fmemopen(hdr, sizeof hdr, "rb");
  if (!f) return nullptr;
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_t* p = pcap_fopen_offline(f, errbuf);
  if (!p) fclose(f);
  return p;
}

int DltOf(Reader* r, uint16_t linkType) {
  auto it = r->dlts.find(linkType);
  if (it != r->dlts.end()) return it->second;
  int dlt = linkType;
  uint32_t hdr[6];
  if (pcap_t* p = MemorySavefile(linkType, false, hdr)) {
    dlt = pcap_datalink(p);
    pcap_close(p);
  }
  r->dlts[linkType] = dlt;
  return dlt;
}

std::string LinkName(int dlt) {
  const char* name = pcap_datalink_val_to_name(dlt);
  return name ? std::string(name) + " (" + std::to_string(dlt) + ")" : std::to_string(dlt);
}

// The filter's program for a link type in the section's byte order, compiled the first time it is met.
const bpf_program* Program(Reader* r, uint16_t linkType, int dlt, uint64_t at) {
  int key = (static_cast<int>(linkType) << 1) | (r->swap ? 1 : 0);
  auto it = r->programs.find(key);
  if (it != r->programs.end()) return &it->second;
  uint32_t hdr[6];
  pcap_t* p = MemorySavefile(linkType, r->swap, hdr);
  if (!p) {
    Fail(r, "cannot compile the filter for link type " + LinkName(dlt) + At(at));
    return nullptr;
  }
  bpf_program prog{};
  if (pcap_compile(p, &prog, r->filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    Fail(r, "bad filter \"" + r->filter + "\" for link type " + LinkName(dlt) + " (interface" + At(at) + "): " +
                pcap_geterr(p));
    pcap_close(p);
    return nullptr;
  }
  pcap_close(p);
  return &r->programs.emplace(key, prog).first->second;
}

// From a pipe, a block that is used comes into the window whole, so that its trailer and body can both be read.
bool Whole(Reader* r, uint64_t at, uint32_t total, const std::string& what, const std::string& truncated) {
  if (total > kMaxPipeBlock)
    return Fail(r, what + " of " + std::to_string(total) + " bytes is larger than flowprobe reads from a pipe (" +
                       std::to_string(kMaxPipeBlock) + ")" + At(at));
  if (Have(r, at, total)) return true;
  return r->error.empty() ? Fail(r, truncated + At(at)) : false;
}

// A Section Header Block at `at`: the byte order and version, and a new (empty) interface list.
bool Section(Reader* r, uint64_t at) {
  size_t avail = 0;
  const uint8_t* b = Have(r, at, 28, &avail);
  if (!b) return r->error.empty() ? Fail(r, "truncated section header block" + At(at)) : false;
  uint32_t bom;
  std::memcpy(&bom, b + 8, 4);
  if (bom == kByteOrderMagic) r->swap = false;
  else if (bom == Swap32(kByteOrderMagic)) r->swap = true;
  else {
    char hex[16];
    snprintf(hex, sizeof hex, "0x%08x", bom);
    return Fail(r, std::string("section header block with byte-order magic ") + hex + At(at));
  }
  uint32_t total = Get32(r, b + 4);
  uint16_t major = Get16(r, b + 12), minor = Get16(r, b + 14);
  if (total < 28 || total % 4 != 0)
    return Fail(r, "section header block length " + std::to_string(total) + " (below 28 or not a multiple of 4)" + At(at));
  if (major != 1)
    return Fail(r, "pcapng version " + std::to_string(major) + "." + std::to_string(minor) + " is not supported" + At(at));
  const std::string truncated = "truncated section header block (length " + std::to_string(total) + ")";
  if (r->pipe && !Whole(r, at, total, "section header block", truncated)) return false;
  const uint8_t* t = Have(r, at + total - 4, 4);
  if (!t) return r->error.empty() ? Fail(r, truncated + At(at)) : false;
  if (Get32(r, t) != total)
    return Fail(r, "section header block's trailing length " + std::to_string(Get32(r, t)) + " is not its length " +
                       std::to_string(total) + At(at));
  // Section length (which may be -1, not given) is not needed: the blocks are walked.
  r->ifaces.clear();
  r->inSection = true;
  r->pos = at + total;
  return true;
}

// An Interface Description Block at `at` of `total` bytes (header and trailer already checked).
bool Describe(Reader* r, uint64_t at, uint32_t total) {
  if (r->ifaces.size() >= kMaxInterfaces)
    return Fail(r, "more than " + std::to_string(kMaxInterfaces) + " interfaces in one section" + At(at));
  const uint8_t* b = Have(r, at, 16);
  if (!b) return false;  // the trailer was read, so only a read error gets here
  Interface f;
  uint16_t linkType = Get16(r, b + 8);
  f.snaplen = Get32(r, b + 12);
  // Options: code, length, value padded to 4; only the two that place packets in time matter here, but a list
  // that does not hold together means the block is not what it says (libpcap refuses it too).
  uint64_t o = at + 16, end = at + total - 4;
  while (o + 4 <= end) {
    const uint8_t* h = Have(r, o, 4);
    if (!h) return false;
    uint16_t code = Get16(r, h), len = Get16(r, h + 2);
    if (code == kOptEnd) {
      if (len != 0)
        return Fail(r, "interface description block's end-of-options option has length " + std::to_string(len) +
                           ", not 0" + At(at));
      break;
    }
    uint64_t next = o + 4 + ((len + 3u) & ~3u);
    if (next > end)
      return Fail(r, "interface description block option (code " + std::to_string(code) + ", length " +
                         std::to_string(len) + ") runs past the block" + At(at));
    if (code == kOptTsresol && len >= 1) {
      const uint8_t* v = Have(r, o + 4, 1);
      if (!v) return false;
      f.binary = (v[0] & 0x80) != 0;
      f.exp = v[0] & 0x7f;
    } else if (code == kOptTsoffset && len == 8) {
      const uint8_t* v = Have(r, o + 4, 8);
      if (!v) return false;
      uint64_t x;
      std::memcpy(&x, v, 8);
      if (r->swap) x = __builtin_bswap64(x);
      f.offset = static_cast<int64_t>(x);
    }
    o = next;
  }
  f.dlt = DltOf(r, linkType);
  if (r->haveFilter) {
    f.filter = Program(r, linkType, f.dlt, at);
    if (!f.filter) return false;
  }
  if (!r->sawInterface) {
    r->sawInterface = true;
    r->batchLink = f.dlt;
    r->firstSnaplen = f.snaplen;
  }
  r->ifaces.push_back(f);
  return true;
}

// A packet block, judged and ready to copy: its data is in the window until the next Have.
struct Packet {
  uint64_t end = 0;  // file offset of the next block
  uint32_t ifid = 0;
  uint32_t sec = 0, nsec = 0;
  uint32_t caplen = 0, wirelen = 0;
  uint64_t dataAt = 0;
};

const char* BlockName(uint32_t type) {
  switch (type) {
    case kIdb: return "interface description block";
    case kOpb: return "packet block";
    case kSpb: return "simple packet block";
    case kEpb: return "enhanced packet block";
    default: return "block";
  }
}

uint32_t MinLength(uint32_t type) {
  switch (type) {
    case kIdb: return 20;
    case kOpb: return 32;
    case kSpb: return 16;
    case kEpb: return 32;
    default: return 12;
  }
}

enum class Step { kPacket, kEof, kError };

// Walks blocks from r->pos to the next packet, which it leaves untaken (r->pos stays at it), taking in section
// headers and interfaces and skipping everything else.
Step NextPacket(Reader* r, Packet* p) {
  for (;;) {
    uint64_t at = r->pos;
    size_t avail = 0;
    const uint8_t* h = Have(r, at, 8, &avail);
    if (!h) {
      if (!r->error.empty()) return Step::kError;
      if (avail == 0) return Step::kEof;
      Fail(r, "truncated block header (" + std::to_string(avail) + " of 8 bytes)" + At(at));
      return Step::kError;
    }
    uint32_t type;
    std::memcpy(&type, h, 4);  // the SHB's type reads the same in either byte order
    if (type == kShb) {
      if (!Section(r, at)) return Step::kError;
      continue;
    }
    type = Get32(r, h);
    if (!r->inSection) {
      char hex[16];
      snprintf(hex, sizeof hex, "0x%08x", type);
      Fail(r, std::string("not a pcapng file: the first block (type ") + hex + ") is not a section header" + At(at));
      return Step::kError;
    }
    uint32_t total = Get32(r, h + 4);
    if (total < MinLength(type) || total % 4 != 0) {
      Fail(r, std::string(BlockName(type)) + " (type " + std::to_string(type) + ") length " + std::to_string(total) +
                  " (below " + std::to_string(MinLength(type)) + " or not a multiple of 4)" + At(at));
      return Step::kError;
    }
    const std::string truncated = std::string("truncated ") + BlockName(type) + " (type " + std::to_string(type) +
                                  ", length " + std::to_string(total) + ")";
    bool used = type == kIdb || type == kEpb || type == kOpb || type == kSpb;
    if (used && r->pipe && !Whole(r, at, total, BlockName(type), truncated)) return Step::kError;
    const uint8_t* t = Have(r, at + total - 4, 4);
    if (!t) {
      if (r->error.empty()) Fail(r, truncated + At(at));
      return Step::kError;
    }
    if (Get32(r, t) != total) {
      Fail(r, std::string(BlockName(type)) + "'s trailing length " + std::to_string(Get32(r, t)) +
                  " is not its length " + std::to_string(total) + At(at));
      return Step::kError;
    }
    uint64_t end = at + total;
    if (type == kIdb) {
      if (!Describe(r, at, total)) return Step::kError;
      r->pos = end;
      continue;
    }
    if (type != kEpb && type != kOpb && type != kSpb) {
      r->pos = end;  // name resolution, statistics, secrets, custom and unknown blocks
      continue;
    }
    const uint8_t* b = Have(r, at, type == kSpb ? 12 : 28);
    if (!b) return Step::kError;
    p->end = end;
    uint32_t room;  // bytes of the block that may hold packet data
    if (type == kSpb) {
      p->ifid = 0;
      p->sec = p->nsec = 0;  // an SPB has no time
      p->wirelen = Get32(r, b + 8);
      room = total - 16;
      p->dataAt = at + 12;
      // The captured length is not written: it is the original length cut to the snapshot length and the block.
      if (r->ifaces.empty()) {
        Fail(r, "simple packet block before any interface description" + At(at));
        return Step::kError;
      }
      uint32_t snap = r->ifaces[0].snaplen;
      p->caplen = p->wirelen;
      if (snap != 0 && p->caplen > snap) p->caplen = snap;
      if (p->caplen > room) p->caplen = room;
    } else {
      p->ifid = type == kEpb ? Get32(r, b + 8) : Get16(r, b + 8);
      uint64_t ticks = (static_cast<uint64_t>(Get32(r, b + 12)) << 32) | Get32(r, b + 16);
      p->caplen = Get32(r, b + 20);
      p->wirelen = Get32(r, b + 24);
      room = total - 32;
      p->dataAt = at + 28;
      if (p->ifid >= r->ifaces.size()) {
        Fail(r, std::string(BlockName(type)) + " for interface " + std::to_string(p->ifid) + ", but the section has " +
                    std::to_string(r->ifaces.size()) + At(at));
        return Step::kError;
      }
      if (p->caplen > room) {
        Fail(r, std::string(BlockName(type)) + " captured length " + std::to_string(p->caplen) +
                    " is larger than the block's " + std::to_string(room) + " bytes of data" + At(at));
        return Step::kError;
      }
      ToTime(r->ifaces[p->ifid], ticks, &p->sec, &p->nsec);
    }
    if (p->caplen > kMaxCaplen) {
      Fail(r, std::string(BlockName(type)) + " captured length " + std::to_string(p->caplen) + " is above " +
                  std::to_string(kMaxCaplen) + At(at));
      return Step::kError;
    }
    return Step::kPacket;
  }
}

// NFLOG's TLV lengths and types are in the writer's byte order (libpcap turns them into the reader's, and our
// decoder expects that): a 4-byte header, then TLVs of u16 length (header included), u16 type, value padded to 4.
void SwapNflog(uint8_t* d, uint32_t caplen) {
  uint32_t o = 4;
  while (o + 4 <= caplen) {
    uint16_t len, type;
    std::memcpy(&len, d + o, 2);
    std::memcpy(&type, d + o + 2, 2);
    len = __builtin_bswap16(len);
    type = __builtin_bswap16(type);
    std::memcpy(d + o, &len, 2);
    std::memcpy(d + o + 2, &type, 2);
    if (len < 4) break;
    o += (len + 3u) & ~3u;
  }
}

}  // namespace

Reader::~Reader() {
  for (auto& kv : programs) pcap_freecode(&kv.second);
  if (fd >= 0) close(fd);
}

bool StartsPcapng(const uint8_t* b, size_t n) {
  uint32_t type = 0;
  if (n < 4) return false;
  std::memcpy(&type, b, 4);
  return type == kShb;
}

bool Looks(int fd) {
  uint8_t b[4];
  return pread(fd, b, 4, 0) == 4 && StartsPcapng(b, 4);
}

Reader* Open(int fd, const std::string& filter, std::string* err, const uint8_t* first, size_t firstLen) {
  Reader* r = new Reader();
  r->fd = fd;
  if (first) {
    r->pipe = true;
    r->win.resize(kWindow);
    std::memcpy(r->win.data(), first, std::min(firstLen, kWindow));
    r->winLen = std::min(firstLen, kWindow);
  }
  r->filter = filter;
  r->haveFilter = !filter.empty();
  Packet p;
  // The first block must be a section header: NextPacket says so for anything else.
  Step st = NextPacket(r, &p);
  if (st == Step::kError) {
    *err = r->error;
    delete r;
    return nullptr;
  }
  if (st == Step::kEof) {
    if (!r->inSection) {
      *err = "not a pcapng file: no section header block";
      delete r;
      return nullptr;
    }
    r->ended = true;
  }
  // A file with no interface at all has no packets, but its filter is still judged, as libpcap would.
  if (r->haveFilter && !r->sawInterface && !Program(r, DLT_EN10MB, DLT_EN10MB, 0)) {
    *err = r->error;
    delete r;
    return nullptr;
  }
  return r;
}

Status Fill(Reader* r, uint8_t* buf, size_t cap, int32_t maxPackets, size_t* off, int32_t* count, uint64_t* truncated,
            std::string* err) {
  while (*count < maxPackets) {
    if (!r->error.empty()) {
      *err = r->error;
      return Status::kError;
    }
    if (r->ended) return Status::kEnd;
    Packet p;
    Step st = NextPacket(r, &p);
    if (st == Step::kEof) {
      r->ended = true;
      return Status::kEnd;
    }
    if (st == Step::kError) continue;
    const Interface& f = r->ifaces[p.ifid];
    if (*count > 0 && f.dlt != r->batchLink) return Status::kMore;
    const uint8_t* data = Have(r, p.dataAt, p.caplen);
    if (!data) continue;  // the block was in the file a moment ago: a read error
    uint32_t caplen = p.caplen;
    size_t used = kBatchHeader + ((caplen + 3u) & ~3u);
    bool cut = false;
    if (*off + used > cap) {
      if (*count > 0) return Status::kMore;
      // Larger than the whole buffer: keep what fits rather than stall for ever (as addon.cc does for libpcap's).
      caplen = static_cast<uint32_t>((cap - kBatchHeader) & ~size_t(3));
      used = kBatchHeader + caplen;
      cut = true;
    }
    uint8_t* dst = buf + *off;
    std::memcpy(dst + kBatchHeader, data, caplen);
    if (r->swap && f.dlt == kLinkNflog) SwapNflog(dst + kBatchHeader, caplen);
    r->pos = p.end;
    if (f.filter) {
      // On the packet as delivered (NFLOG's headers in host order), as libpcap filters what it reads.
      pcap_pkthdr hdr{};
      hdr.caplen = caplen;
      hdr.len = p.wirelen;
      if (pcap_offline_filter(f.filter, &hdr, dst + kBatchHeader) == 0) continue;
    }
    std::memcpy(dst, &p.sec, 4);
    std::memcpy(dst + 4, &p.nsec, 4);
    std::memcpy(dst + 8, &caplen, 4);
    std::memcpy(dst + 12, &p.wirelen, 4);
    std::memset(dst + kBatchHeader + caplen, 0, used - kBatchHeader - caplen);
    if (cut) ++*truncated;
    r->batchLink = f.dlt;
    *off += used;
    ++*count;
  }
  return Status::kMore;
}

int LinkType(const Reader* r) { return r->batchLink; }

int Snaplen(const Reader* r) {
  return r->firstSnaplen == 0 || r->firstSnaplen > kMaxCaplen ? static_cast<int>(kMaxCaplen)
                                                              : static_cast<int>(r->firstSnaplen);
}

}  // namespace pcapng
