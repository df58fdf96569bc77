/**
 * A daemon's log: once flowprobe has left its terminal, each log line goes to the local syslog socket as softflowd's
 * do, in the BSD syslog format (RFC 3164) that syslog daemons and journald read on /dev/log. The socket path can be
 * moved with FLOWPROBE_SYSLOG_SOCKET (a chroot, or a system that keeps it elsewhere).
 */
import { addon } from '../capture/native.js';

export const DEFAULT_SYSLOG_SOCKET = '/dev/log';

/** RFC 3164 §4.1.1: PRI = facility * 8 + severity. */
const FACILITY_DAEMON = 3;
export const SEVERITY = { err: 3, warning: 4, notice: 5, info: 6 } as const;
export type Severity = keyof typeof SEVERITY;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/** `<PRI>Mmm dd hh:mm:ss ident[pid]: message`, the time local (RFC 3164 §4.1.2: the day space-padded). */
export function syslogLine(ident: string, pid: number, message: string, when: Date, severity: Severity = 'info'): string {
  const stamp = `${MONTHS[when.getMonth()]} ${String(when.getDate()).padStart(2, ' ')} ` +
    `${two(when.getHours())}:${two(when.getMinutes())}:${two(when.getSeconds())}`;
  // One record per line: a newline inside a message would read as a second, unattributed record.
  const text = message.replace(/[\r\n]+/g, ' ');
  return `<${FACILITY_DAEMON * 8 + SEVERITY[severity]}>${stamp} ${ident}[${pid}]: ${text}`;
}

/** A log function sending each line to the syslog socket; lines are lost quietly when no log daemon listens. */
export function syslogLogger(ident: string, socketPath = process.env.FLOWPROBE_SYSLOG_SOCKET || DEFAULT_SYSLOG_SOCKET) {
  return (message: string, severity: Severity = 'info'): void => {
    addon.unixDgramSend(socketPath, Buffer.from(syslogLine(ident, process.pid, message, new Date(), severity)));
  };
}
