// Our reader for pcapng savefiles (pcapng.cc), for the files libpcap 1.10 refuses: those whose interfaces have
// different link types (dumpcap on several interfaces, mergecap). It fills the same batch layout as addon.cc,
// one link type per batch.
#pragma once
#include <pcap/pcap.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pcapng {

enum class Status {
  kMore,   // the batch is full, has maxPackets, or the next packet has another link type: call again
  kEnd,    // clean end of the file
  kError,  // *err says what was wrong and where; the packets before it are in the batch
};

/** One Interface Description Block of the current section, as its packets need it. */
struct Interface {
  /** The DLT libpcap reports for the IDB's LINKTYPE (they differ for a few, e.g. LINKTYPE_RAW 101 -> 12). */
  int dlt = 0;
  uint32_t snaplen = 0;
  /** if_tsresol: ticks per second are 2^exp when binary, else 10^exp. */
  bool binary = false;
  uint8_t exp = 6;
  /** if_tsoffset: seconds added to every timestamp. */
  int64_t offset = 0;
  /** The filter compiled for this link type; null without a filter. */
  const bpf_program* filter = nullptr;
};

struct Reader {
  ~Reader();
  int fd = -1;
  // A window on the file, read with pread(2).
  std::vector<uint8_t> win;
  uint64_t winPos = 0;
  size_t winLen = 0;
  /** A pipe: read forward with read(2), not pread(2). */
  bool pipe = false;
  /** File offset of the next block not yet taken. */
  uint64_t pos = 0;
  /** The section's byte order is not this host's. */
  bool swap = false;
  bool inSection = false;
  std::vector<Interface> ifaces;
  std::string filter;
  bool haveFilter = false;
  /** Programs by LINKTYPE << 1 | swap, compiled when an interface of that link type first appears. */
  std::map<int, bpf_program> programs;
  /** libpcap's DLT for each LINKTYPE met so far. */
  std::map<uint16_t, int> dlts;
  /** Link type of the batch last filled (before any: the file's first interface's). */
  int batchLink = 1;
  uint32_t firstSnaplen = 0;
  bool sawInterface = false;
  bool ended = false;
  /** The first error; every later Fill returns it, nothing more is read. */
  std::string error;
};

/** Whether the file at fd starts with a pcapng Section Header Block's type (a regular file; pipes say no). */
bool Looks(int fd);

/**
 * Reads the section header and the blocks up to the first packet (so LinkType names the first interface's, and a
 * filter that does not compile fails here). Takes fd (closed with the reader). nullptr and *err on failure.
 * An empty filter means none. With `first`, fd is a pipe whose first firstLen bytes were already read (those).
 */
Reader* Open(int fd, const std::string& filter, std::string* err, const uint8_t* first = nullptr, size_t firstLen = 0);

/** Whether these are the first bytes of a pcapng (a Section Header Block's type). */
bool StartsPcapng(const uint8_t* b, size_t n);

/**
 * Appends packets (layout of addon.cc) from *off, counting them in *count, up to maxPackets; a batch holds one link
 * type (LinkType after the call). A first packet larger than the whole buffer is cut to fit (*truncated counts).
 */
Status Fill(Reader* r, uint8_t* buf, size_t cap, int32_t maxPackets, size_t* off, int32_t* count, uint64_t* truncated,
            std::string* err);

int LinkType(const Reader* r);
/** The first interface's snapshot length (libpcap's maximum when it gives 0). */
int Snaplen(const Reader* r);

}  // namespace pcapng
