/**
 * What can be wrong with a datagram. Decoders return these codes (0 = fine) instead of throwing, so that a
 * receiver can count each kind per exporter and keep going with the next set or datagram.
 */
export const WireError = {
  OK: 0,
  /** Datagram shorter than the version's header. */
  SHORT_HEADER: 1,
  /** Version field is not what this decoder reads. */
  BAD_VERSION: 2,
  /** v1/v5 count does not match the datagram size, or an IPFIX length field is impossible. */
  BAD_LENGTH: 3,
  /** Set header truncated, set length < 4, or set running past the end of the message. */
  BAD_SET_LENGTH: 4,
  /** Set ID reserved (v9: 2..255, IPFIX: 0, 1, 4..255). */
  RESERVED_SET_ID: 5,
  /** Template or options template ID below 256. */
  BAD_TEMPLATE_ID: 6,
  /** Template record runs past its set. */
  TEMPLATE_TRUNCATED: 7,
  /** Template with no fields where that is not a withdrawal (v9), or above our field cap. */
  BAD_FIELD_COUNT: 8,
  /** Field length 0 (would make zero-length records), or 65535 where variable length is not allowed. */
  BAD_FIELD_LENGTH: 9,
  /** Options template scope count 0 (RFC 7011 §3.4.2.2) or larger than the field count; v9 scope bytes not whole fields. */
  BAD_SCOPE: 10,
  /** Data record runs past its set (including a variable-length prefix announcing more bytes than there are). */
  RECORD_TRUNCATED: 11,
  /** Withdrawal of template ID 2/3 sent in the wrong set, or in v9 where withdrawal does not exist. */
  BAD_WITHDRAWAL: 12,
} as const;

export type WireErrorCode = (typeof WireError)[keyof typeof WireError];

const names: string[] = [];
for (const [k, v] of Object.entries(WireError)) names[v] = k;

/** Name of an error code, for counters and log lines. */
export function wireErrorName(code: number): string {
  return names[code] ?? `UNKNOWN_${code}`;
}
