import { DecodeReason, DecodeStatus, type PacketView } from './packet.js';

/** Records why a packet stops here; returns the status so that decoders can `return fail(...)`. */
export function fail(v: PacketView, status: DecodeStatus, reason: DecodeReason, linkProto = 0): DecodeStatus {
  v.status = status;
  v.reason = reason;
  v.linkProto = linkProto;
  return status;
}

/** softflowd's byte count: the wire length less `hdr` bytes of link header, never negative. */
export function setLinkHeader(v: PacketView, hdr: number): void {
  v.linkOctets = v.wirelen > hdr ? v.wirelen - hdr : 0;
}
