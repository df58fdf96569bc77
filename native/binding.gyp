{
  "targets": [
    {
      "target_name": "flowprobe_pcap",
      "sources": ["src/addon.cc", "src/savefile.cc", "src/pcapng.cc", "src/udp.cc", "src/udprecv.cc", "src/logsock.cc", "src/pages.cc"],
      "libraries": ["-lpcap"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra"],
      "cflags_cc!": ["-fno-exceptions"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
