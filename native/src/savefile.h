// A fast reader for the common savefile (savefile.cc): classic pcap in this host's byte order, read in large
// blocks and copied straight into the batch buffer.
#pragma once
#include <pcap/pcap.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace savefile {

struct Reader {
  int fd = -1;
  /** File offset of the next record. */
  uint64_t pos = 0;
  bool nano = false;
  uint32_t snaplen = 0;
  std::vector<uint8_t> block;
  uint64_t blockPos = 0;
  size_t blockLen = 0;
  bool failed = false;
};

enum class Status {
  kMore,     // the batch is full (or has maxPackets); call again
  kEnd,      // clean end of file
  kHandOff,  // a record this reader does not judge: libpcap reads the file on from `pos`
};

/** A reader for p's file when it qualifies (see savefile.cc), or nullptr: libpcap reads it then. */
Reader* Open(pcap_t* p);

/**
 * Appends whole records to buf (layout of addon.cc) from *off, counting them in *count, up to maxPackets;
 * never splits or cuts a record.
 */
Status Fill(Reader* r, uint8_t* buf, size_t cap, int32_t maxPackets, size_t* off, int32_t* count);

}  // namespace savefile
