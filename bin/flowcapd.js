#!/usr/bin/env node
// The flowcapd command: the compiled build when it is current, else the TypeScript sources (see launch.js).
import { launch } from './launch.js';

await launch('flowcapd');
