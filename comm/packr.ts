/** The codec of object messages and packages (msgpack), shared by comm and the BSP runtime. */
import { createRequire } from 'node:module';
import type { Packr } from 'msgpackr';

let codec: Packr | undefined;

/**
 * msgpackr, loaded with the first object packed or unpacked: a script that sends no object
 * does not load it (every rank thread used to, at start). Its CommonJS build is one file; no
 * msgpackr object leaves this module, so which build does not matter.
 * msgpackr must run with moreTypes, or it silently corrupts typed arrays (see ECOSYSTEM.md).
 */
function instance(): Packr {
  codec ??= new (createRequire(import.meta.url)('msgpackr') as typeof import('msgpackr')).Packr({ moreTypes: true, useRecords: false });
  return codec;
}

export const packr = {
  pack: (value: unknown): Buffer => instance().pack(value),
  unpack: (bytes: Buffer | Uint8Array): any => instance().unpack(bytes),
};
