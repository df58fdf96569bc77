/** Interface discovery through `cap` (libpcap's pcap_findalldevs): list devices, pick one by name or address. */
import { createRequire } from 'node:module';
import net from 'node:net';

export interface InterfaceInfo {
  name: string;
  description?: string;
  addresses: { addr: string; netmask?: string }[];
  loopback: boolean;
}

interface CapDevice {
  name: string;
  description?: string;
  addresses?: { addr: string; netmask?: string }[];
  flags?: string;
}

const require = createRequire(import.meta.url);

export function listInterfaces(): InterfaceInfo[] {
  const { Cap } = require('cap') as { Cap: { deviceList(): CapDevice[] } };
  return Cap.deviceList().map((d) => ({
    name: d.name,
    description: d.description,
    addresses: (d.addresses ?? []).filter((a) => a.addr).map((a) => ({ addr: a.addr, netmask: a.netmask })),
    loopback: (d.flags ?? '').includes('PCAP_IF_LOOPBACK'),
  }));
}

/**
 * Resolves what the user typed after -i: a device name, or one of a device's IP addresses.
 * Returns the device name, or throws an Error that names the choices.
 */
export function resolveInterface(nameOrAddr: string, list: InterfaceInfo[] = listInterfaces()): string {
  if (list.some((i) => i.name === nameOrAddr)) return nameOrAddr;
  if (net.isIP(nameOrAddr)) {
    const want = normalize(nameOrAddr);
    const hit = list.find((i) => i.addresses.some((a) => normalize(a.addr) === want));
    if (hit) return hit.name;
    throw new Error(`no interface has address ${nameOrAddr} (see --list-interfaces)`);
  }
  // libpcap can open devices that findalldevs does not list (e.g. created later); let pcap_create judge those.
  return nameOrAddr;
}

function normalize(addr: string): string {
  const a = addr.split('%')[0]!.toLowerCase();
  if (net.isIPv6(a)) {
    // Canonical form via URL parsing, so "fd00:0::2" matches "fd00::2".
    return new URL(`http://[${a}]/`).hostname;
  }
  return a;
}

export function formatInterfaceList(list: InterfaceInfo[]): string {
  const lines: string[] = [];
  for (const i of list) {
    const addrs = i.addresses.map((a) => a.addr).join(', ');
    lines.push(`${i.name}${i.description ? ` (${i.description})` : ''}${addrs ? `  ${addrs}` : ''}`);
  }
  return lines.join('\n') + '\n';
}
