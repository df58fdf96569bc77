// Reading a savefile through pcap_next_ex() costs a library call, a stdio read of the record header and another
// of its data per packet: about half of the capture stage's time on a replay. For the format nearly every capture
// has (classic pcap, written in this host's byte order, version 2.4, µs or ns stamps) this reader reads the
// file in 1 MiB blocks with pread(2) and copies records straight into the batch. It takes only what libpcap would
// take unchanged: a record with a length above the file's snapshot length, a truncated record at the end, or a
// read error hand the file back to libpcap at that record (libpcap's stdio stream is positioned there), so
// errors and odd files keep libpcap's behaviour and messages. pcapng, byte-swapped files (libpcap swaps some
// link-layer pseudo-headers in them), filters and pipes are libpcap's from the start.

#include "savefile.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace savefile {
namespace {

constexpr uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr uint32_t kMagicNano = 0xa1b23c4d;
constexpr size_t kFileHeader = 24;
constexpr size_t kRecordHeader = 16;
constexpr size_t kBatchHeader = 16;  // addon.cc's per-packet header in the batch
constexpr size_t kBlock = 1 << 20;
constexpr uint32_t kMaxSnaplen = 262144;  // libpcap's MAXIMUM_SNAPLEN
constexpr int kUsbLinux = 189;            // libpcap fixes up these records' lengths
constexpr int kUsbLinuxMmapped = 220;

uint32_t Get32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Makes [pos, pos + need) readable in the block; false at the end of the file or on a read error.
bool Have(Reader* r, size_t need) {
  if (r->pos + need <= r->blockPos + r->blockLen) return true;
  size_t got = 0;
  while (got < kBlock) {
    ssize_t n = pread(r->fd, r->block.data() + got, kBlock - got, static_cast<off_t>(r->pos + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) r->failed = true;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  r->blockPos = r->pos;
  r->blockLen = got;
  return need <= got;
}

}  // namespace

Reader* Open(pcap_t* p) {
  FILE* fp = pcap_file(p);
  if (!fp) return nullptr;
  int fd = fileno(fp);
  uint8_t h[kFileHeader];
  // pread fails on a pipe (ESPIPE): standard input stays libpcap's.
  if (fd < 0 || pread(fd, h, kFileHeader, 0) != static_cast<ssize_t>(kFileHeader)) return nullptr;
  uint32_t magic = Get32(h);
  uint16_t major, minor;
  std::memcpy(&major, h + 4, 2);
  std::memcpy(&minor, h + 6, 2);
  if (magic != kMagicMicro && magic != kMagicNano) return nullptr;
  // Older versions may have caplen and len the other way round; libpcap sorts that out.
  if (major != 2 || minor < 4) return nullptr;
  int dlt = pcap_datalink(p);
  if (dlt == kUsbLinux || dlt == kUsbLinuxMmapped) return nullptr;
  Reader* r = new Reader();
  r->fd = fd;
  r->pos = kFileHeader;
  r->nano = magic == kMagicNano;
  int snap = pcap_snapshot(p);
  r->snaplen = snap > 0 && static_cast<uint32_t>(snap) < kMaxSnaplen ? static_cast<uint32_t>(snap) : kMaxSnaplen;
  r->block.resize(kBlock);
  return r;
}

Status Fill(Reader* r, uint8_t* buf, size_t cap, int32_t maxPackets, size_t* off, int32_t* count) {
  while (*count < maxPackets) {
    if (!Have(r, kRecordHeader)) {
      // Nothing more: the end. A part of a header, or a read error: libpcap names it.
      return r->blockLen == 0 && !r->failed ? Status::kEnd : Status::kHandOff;
    }
    const uint8_t* rec = r->block.data() + (r->pos - r->blockPos);
    uint32_t sec = Get32(rec);
    uint32_t frac = Get32(rec + 4);
    uint32_t caplen = Get32(rec + 8);
    uint32_t len = Get32(rec + 12);
    if (caplen > r->snaplen) return Status::kHandOff;
    if (!Have(r, kRecordHeader + caplen)) return Status::kHandOff;
    rec = r->block.data() + (r->pos - r->blockPos);
    size_t used = kBatchHeader + ((caplen + 3u) & ~3u);
    if (*off + used > cap) {
      // The batch is full; a first record that does not fit a small buffer is libpcap's (it cuts it).
      return *count > 0 ? Status::kMore : Status::kHandOff;
    }
    uint8_t* dst = buf + *off;
    uint32_t nsec = r->nano ? frac : frac * 1000u;
    std::memcpy(dst, &sec, 4);
    std::memcpy(dst + 4, &nsec, 4);
    std::memcpy(dst + 8, &caplen, 4);
    std::memcpy(dst + 12, &len, 4);
    std::memcpy(dst + kBatchHeader, rec + kRecordHeader, caplen);
    std::memset(dst + kBatchHeader + caplen, 0, used - kBatchHeader - caplen);
    *off += used;
    ++*count;
    r->pos += kRecordHeader + caplen;
  }
  return Status::kMore;
}

}  // namespace savefile
