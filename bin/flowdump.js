#!/usr/bin/env node
// Runs the TypeScript entry point through tsx, so the installed command and the sources are one thing.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/flowdump.ts');
