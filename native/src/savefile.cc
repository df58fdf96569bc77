// Reading a savefile through pcap_next_ex() costs a library call, a stdio read of the record header and another
// of its data per packet: about half of the capture stage's time on a replay. For the format nearly every capture
// has (classic pcap, written in this host's byte order, version 2.4, µs or ns stamps) this reader reads the
// file in 1 MiB blocks with pread(2) and copies records straight into the batch. It takes only what libpcap would
// take unchanged: a record with a length above the file's snapshot length, a truncated record at the end, or a
// read error hand the file back to libpcap at that record (libpcap's stdio stream is positioned there), so
// errors and odd files keep libpcap's behaviour and messages. pcapng, byte-swapped files (libpcap swaps some
// link-layer pseudo-headers in them), filters and pipes are libpcap's from the start. The batches are made ahead
// on a thread of the reader's own (up to kSlots of them, in mmap'd slots the caller reads in place or has a batch
// copied from), so that on a replay the file's reads and the per-record copying run beside the flow work, not in
// its thread.

#include "savefile.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

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
// Batches made ahead. The thread is woken when half of them have been taken, not for each one, so that it and
// the caller do not trade a wake-up per batch.
constexpr size_t kSlots = 8;

uint32_t Get32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Makes [pos, pos + need) readable in c's block; false at the end of the file or on a read error.
bool Have(int fd, Cursor* c, size_t need) {
  if (c->pos + need <= c->blockPos + c->blockLen) return true;
  if (c->block.size() < kBlock) c->block.resize(kBlock);
  size_t got = 0;
  while (got < kBlock) {
    ssize_t n = pread(fd, c->block.data() + got, kBlock - got, static_cast<off_t>(c->pos + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) c->failed = true;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  c->blockPos = c->pos;
  c->blockLen = got;
  return need <= got;
}

// The batch from cursor c: what Fill does, on whichever thread owns c.
Status FillFrom(const Reader* r, Cursor* c, uint8_t* buf, size_t cap, int32_t maxPackets, size_t* off, int32_t* count) {
  while (*count < maxPackets) {
    if (!Have(r->fd, c, kRecordHeader)) {
      // Nothing more: the end. A part of a header, or a read error: libpcap names it.
      return c->blockLen == 0 && !c->failed ? Status::kEnd : Status::kHandOff;
    }
    const uint8_t* rec = c->block.data() + (c->pos - c->blockPos);
    uint32_t sec = Get32(rec);
    uint32_t frac = Get32(rec + 4);
    uint32_t caplen = Get32(rec + 8);
    uint32_t len = Get32(rec + 12);
    if (caplen > r->snaplen) return Status::kHandOff;
    if (!Have(r->fd, c, kRecordHeader + caplen)) return Status::kHandOff;
    rec = c->block.data() + (c->pos - c->blockPos);
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
    c->pos += kRecordHeader + caplen;
  }
  return Status::kMore;
}

// The read-ahead thread: fills the ring's free slots in order from the shared cursor, until a batch ends the file
// (kEnd or kHandOff) or it is told to stop. It stops at a hand-off too: the caller hands the file to libpcap at
// that batch's end, after taking the batches before it.
void ReadAhead(Reader* r) {
  std::unique_lock<std::mutex> lock(r->mu);
  for (;;) {
    r->waitingForFree = true;
    r->freed.wait(lock, [r] { return r->stop || r->ended || (r->ready < kSlots && !r->filling); });
    r->waitingForFree = false;
    if (r->stop || r->ended) return;
    Slot& s = r->ring[(r->head + r->ready) % kSlots];
    r->filling = true;
    lock.unlock();
    s.off = 0;
    s.count = 0;
    s.posBefore = r->cur.pos;
    s.status = FillFrom(r, &r->cur, s.mem, r->slotCap, r->slotPackets, &s.off, &s.count);
    s.posAfter = r->cur.pos;
    lock.lock();
    r->filling = false;
    r->ready++;
    if (s.status != Status::kMore) r->ended = true;
    if (r->waitingForFull) r->filled.notify_one();
  }
}

void StopThread(Reader* r) {
  if (!r->threadStarted) return;
  {
    std::lock_guard<std::mutex> lock(r->mu);
    r->stop = true;
    r->freed.notify_one();
  }
  if (r->thread.joinable()) r->thread.join();
  r->threadStarted = false;
}

// Starts reading ahead in batches of this shape; false (the caller reads in its own thread) when it cannot.
bool StartThread(Reader* r, size_t cap, int32_t maxPackets) {
  r->ring.resize(kSlots);
  r->slotCap = cap;
  for (Slot& s : r->ring) {
    // Untouched pages of a slot cost nothing: a batch of small packets makes only its first pages resident.
    void* m = mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return false;
    s.mem = static_cast<uint8_t*>(m);
    s.map = new Mapping();
    s.map->mem = s.mem;
    s.map->len = cap;
  }
  r->slotPackets = maxPackets;
  try {
    r->thread = std::thread(ReadAhead, r);
  } catch (const std::system_error&) {
    return false;
  }
  r->threadStarted = true;
  return true;
}

}  // namespace

void Release(Mapping* m) {
  if (m->refs.fetch_sub(1) != 1) return;
  munmap(m->mem, m->len);
  delete m;
}

Reader::~Reader() {
  StopThread(this);
  for (Slot& s : ring) {
    if (s.map) Release(s.map);
  }
}

std::vector<Mapping*> Exported(Reader* r) {
  std::vector<Mapping*> out;
  if (!r->threadStarted) return out;
  for (Slot& s : r->ring) {
    s.map->refs.fetch_add(1);
    out.push_back(s.map);
  }
  return out;
}

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
  r->cur.pos = r->pos = kFileHeader;
  r->nano = magic == kMagicNano;
  int snap = pcap_snapshot(p);
  r->snaplen = snap > 0 && static_cast<uint32_t>(snap) < kMaxSnaplen ? static_cast<uint32_t>(snap) : kMaxSnaplen;
  return r;
}

Status Fill(Reader* r, uint8_t* buf, size_t cap, int32_t maxPackets, size_t* off, int32_t* count, int* slot) {
  if (slot) *slot = -1;
  if (r->held >= 0) {
    // The caller is done with the batch it read in place.
    std::lock_guard<std::mutex> lock(r->mu);
    r->head = (r->head + 1) % kSlots;
    r->ready--;
    r->held = -1;
    if (r->waitingForFree && r->ready <= kSlots / 2) r->freed.notify_one();
  }
  // The thread makes the caller's batches, the same ones the caller would make, while the caller decodes the
  // last: on a replay the copying and the file's reads leave the thread that does the flow work. When none is
  // ready and the thread is not in the middle of one (a busy machine has not run it), the caller reads the next
  // batch itself rather than wait for it to be scheduled.
  if (!r->threadStarted && r->ring.empty() && *off == 0 && *count == 0) StartThread(r, cap, maxPackets);
  if (r->threadStarted) {
    std::unique_lock<std::mutex> lock(r->mu);
    if (r->ready == 0 && r->filling) {
      r->waitingForFull = true;
      r->filled.wait(lock, [r] { return r->ready > 0 || !r->filling; });
      r->waitingForFull = false;
    }
    if (r->ready > 0) {
      Slot& s = r->ring[r->head];
      lock.unlock();
      if (slot && *off == 0 && *count == 0 && s.off <= r->slotCap && s.count <= maxPackets) {
        // In place: the slot stays out of the thread's reach until the next Fill takes it back.
        *slot = static_cast<int>(r->head);
        r->held = static_cast<int>(r->head);
        *off = s.off;
        *count = s.count;
        r->pos = s.posAfter;
        Status st = s.status;
        if (st != Status::kMore) StopThread(r);
        return st;
      }
      if (s.off <= cap - *off && s.count <= maxPackets - *count) {
        std::memcpy(buf + *off, s.mem, s.off);
        *off += s.off;
        *count += s.count;
        r->pos = s.posAfter;
        Status st = s.status;
        lock.lock();
        r->head = (r->head + 1) % kSlots;
        r->ready--;
        if (r->waitingForFree && r->ready <= kSlots / 2) r->freed.notify_one();
        lock.unlock();
        if (st != Status::kMore) StopThread(r);
        return st;
      }
      // A call shaped unlike the first (not one flowprobe makes): drop what was read ahead and go on from this
      // batch's first record in this thread.
      uint64_t from = s.posBefore;
      StopThread(r);
      r->cur = Cursor();
      r->cur.pos = from;
    } else if (!r->ended) {
      r->filling = true;
      lock.unlock();
      Status st = FillFrom(r, &r->cur, buf, cap, maxPackets, off, count);
      r->pos = r->cur.pos;
      lock.lock();
      r->filling = false;
      if (st != Status::kMore) r->ended = true;
      if (r->waitingForFree) r->freed.notify_one();
      lock.unlock();
      if (st != Status::kMore) StopThread(r);
      return st;
    } else {
      lock.unlock();
      StopThread(r);
    }
  }
  Status st = FillFrom(r, &r->cur, buf, cap, maxPackets, off, count);
  r->pos = r->cur.pos;
  return st;
}

}  // namespace savefile
