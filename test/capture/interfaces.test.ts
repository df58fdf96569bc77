import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { listInterfaces, resolveInterface } from '../../src/capture/interfaces.js';

describe('interface discovery through cap', () => {
  it('lists lo with its loopback addresses', () => {
    const lo = listInterfaces().find((i) => i.name === 'lo');
    expect(lo).toBeDefined();
    expect(lo!.addresses.map((a) => a.addr)).toContain('127.0.0.1');
  });

  it('picks a device by name or by one of its addresses', () => {
    expect(resolveInterface('lo')).toBe('lo');
    expect(resolveInterface('127.0.0.1')).toBe('lo');
    expect(resolveInterface('0:0:0:0:0:0:0:1')).toBe('lo');
  });

  it('names the address no interface has', () => {
    expect(() => resolveInterface('192.0.2.254')).toThrow(/no interface has address 192\.0\.2\.254/);
  });

  it('flowprobe --list-interfaces prints them', () => {
    const out = execFileSync(process.execPath, [path.resolve(__dirname, '../../bin/flowprobe.js'), '--list-interfaces'], { encoding: 'utf8' });
    expect(out).toMatch(/^lo\s+127\.0\.0\.1/m);
  });
});
