/**
 * Where flowdump's records come from. The query side (filter, statistics, output) only ever sees this interface,
 * so the same code runs over flow files (the store's reader), over records in memory (tests, `flowcapd --print`),
 * or over anything else that can hand over FlowRecords one at a time.
 */
import { FlowRecord } from '../wire/record.js';

export interface RecordSource {
  /**
   * Calls `cb` once per record, in storage order, and resolves when there are no more. The record is only valid
   * during the call (sources reuse one FlowRecord; a consumer copies what it keeps). If `cb` returns `false` the
   * source stops reading and resolves early: `flowdump -c N` needs no more than N matching records.
   */
  forEach(cb: (rec: FlowRecord) => void | boolean): Promise<void>;
  /** Bytes read from storage so far, for the "Bytes read" in the summary; sources without storage leave it out. */
  readonly bytesRead?: number;
}

/** A source over records already in memory; each record is copied into one reused FlowRecord, as a file would be. */
export class ArraySource implements RecordSource {
  private readonly rec = new FlowRecord();

  constructor(private readonly records: readonly FlowRecord[]) {}

  async forEach(cb: (rec: FlowRecord) => void | boolean): Promise<void> {
    for (const r of this.records) {
      this.rec.copyFrom(r);
      if (cb(this.rec) === false) return;
    }
  }
}
