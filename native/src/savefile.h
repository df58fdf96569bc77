// A fast reader for the common savefile (savefile.cc): classic pcap in this host's byte order, read in large
// blocks and copied straight into the batch buffer, with the batches made ahead on a thread of its own.
#pragma once
#include <pcap/pcap.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace savefile {

enum class Status {
  kMore,     // the batch is full (or has maxPackets); call again
  kEnd,      // clean end of file
  kHandOff,  // a record this reader does not judge: libpcap reads the file on from `pos`
};

/** Where the block reader is in the file. */
struct Cursor {
  /** File offset of the next record. */
  uint64_t pos = 0;
  std::vector<uint8_t> block;
  uint64_t blockPos = 0;
  size_t blockLen = 0;
  bool failed = false;
};

/**
 * A slot's memory, unmapped when its last holder lets go: the reader, and the ArrayBuffer the caller may wrap it
 * in (the reader's thread may still be writing to it when a dropped capture's ArrayBuffer is collected).
 */
struct Mapping {
  uint8_t* mem = nullptr;
  size_t len = 0;
  std::atomic<int> refs{1};
};

/** Lets go of one hold on m; the last unmaps it. */
void Release(Mapping* m);

/** A batch made ahead: its bytes, and what Fill would have returned for it. */
struct Slot {
  Mapping* map = nullptr;
  uint8_t* mem = nullptr;
  size_t off = 0;
  int32_t count = 0;
  Status status = Status::kMore;
  /** File offset of the batch's first record and of the record after its last. */
  uint64_t posBefore = 0;
  uint64_t posAfter = 0;
};

struct Reader {
  ~Reader();
  int fd = -1;
  bool nano = false;
  uint32_t snaplen = 0;
  /** Used by whichever thread holds `filling` (the caller's alone when there is no read-ahead thread). */
  Cursor cur;
  /** pos of the record after the last one handed to the caller: where libpcap takes over on kHandOff. */
  uint64_t pos = 0;

  // Read-ahead (savefile.cc): a ring of batches the thread fills and Fill hands out in order.
  std::thread thread;
  bool threadStarted = false;
  size_t slotCap = 0;
  int32_t slotPackets = 0;
  std::vector<Slot> ring;
  std::mutex mu;
  std::condition_variable filled;
  std::condition_variable freed;
  size_t head = 0;       // next slot Fill takes
  size_t ready = 0;      // slots filled and not yet taken
  bool filling = false;  // a thread is reading from `cur`
  bool ended = false;    // a batch ended the file (kEnd or kHandOff): nothing more is read ahead
  bool stop = false;
  bool waitingForFull = false;
  bool waitingForFree = false;
  /** The slot last handed over in place (Fill with a slot out), taken back at the next Fill; -1: none. */
  int held = -1;
};

/** A reader for p's file when it qualifies (see savefile.cc), or nullptr: libpcap reads it then. */
Reader* Open(pcap_t* p);

/**
 * Appends whole records to buf (layout of addon.cc) from *off, counting them in *count, up to maxPackets;
 * never splits or cuts a record. On kHandOff, r->pos is where libpcap must go on. With `slot` (and *off and
 * *count 0), a batch the thread made is not copied: *slot is its index in the ring (the caller reads it where
 * Exported put it) and it stays the caller's until the next Fill; *slot is -1 when the batch is in buf.
 */
Status Fill(Reader* r, uint8_t* buf, size_t cap, int32_t maxPackets, size_t* off, int32_t* count, int* slot = nullptr);

/** The ring's slot memories, in order, each with one more hold for the caller to Release; empty without a ring. */
std::vector<Mapping*> Exported(Reader* r);

}  // namespace savefile
