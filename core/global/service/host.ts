/**
 * Starts and talks to this thread's communication worker (worker.ts): one per rank, created
 * the first time a global array uses the served path, kept for the rank's lifetime. Blocks
 * are registered with it by handing over their SharedArrayBuffers (shared, not copied).
 */
import { Worker } from 'node:worker_threads';
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { DType } from '../../../util/dtype.js';
import { AbortedError } from '../../../util/errors.js';
import { isSourceUrl, moduleUrl } from '../../../util/module-url.js';

/** Where a rank's worker listens, and the token a client must present. */
export interface ServiceAddress {
  host: string;
  port: number;
  token: string;
}

/** @internal Messages to the worker. */
export type ToService =
  | { type: 'register'; seg: number; buffer: SharedArrayBuffer; byteOffset: number; byteLength: number; dtype: DType; shape: number[]; locks: SharedArrayBuffer }
  | { type: 'unregister'; segs: number[] };

/** @internal Messages from the worker. */
export type FromService =
  | { type: 'listening'; host: string; port: number; token: string }
  | { type: 'registered'; seg: number }
  | { type: 'failed'; message: string };

const kWorkerModule = moduleUrl('./worker', import.meta.url).href;

export class ServiceHost {
  private nextSeg = 1;
  private readonly waits = new Map<number, () => void>();
  /** Job of each registered segment: a new job retires the previous jobs' segments. */
  private readonly jobs = new Map<number, number>();

  private constructor(private readonly worker: Worker, readonly address: ServiceAddress) {
    worker.on('message', (m: FromService) => {
      if (m.type === 'registered') {
        this.waits.get(m.seg)?.();
        this.waits.delete(m.seg);
      }
    });
  }

  /** Starts a worker listening on `host` (default: see bindAddress). */
  static async start(host?: string): Promise<ServiceHost> {
    host ??= await bindAddress();
    // In the repository the worker's TypeScript sources load through tsx; the package's are JavaScript.
    const code = isSourceUrl(kWorkerModule)
      ? `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(kWorkerModule)});`
      : `await import(${JSON.stringify(kWorkerModule)});`;
    const worker = new Worker(code, { eval: true, workerData: { host } });
    worker.unref();
    const address = await new Promise<ServiceAddress>((resolve, reject) => {
      worker.on('message', (m: FromService) => {
        if (m.type === 'listening') resolve({ host: m.host, port: m.port, token: m.token });
        else if (m.type === 'failed') reject(new AbortedError(`global-array service could not listen on ${host}: ${m.message}`));
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new AbortedError(`global-array service worker exited with code ${code} while starting`)));
    });
    return new ServiceHost(worker, address);
  }

  /** Hands a block to the worker; resolves once it can serve it. */
  register(buffer: SharedArrayBuffer, byteOffset: number, byteLength: number, dtype: DType, shape: number[], locks: SharedArrayBuffer, job: number): Promise<number> {
    const stale = [...this.jobs].filter(([, j]) => j !== job).map(([s]) => s);
    this.unregister(stale);
    const seg = this.nextSeg++;
    this.jobs.set(seg, job);
    return new Promise<number>((resolve) => {
      this.waits.set(seg, () => resolve(seg));
      this.worker.postMessage({ type: 'register', seg, buffer, byteOffset, byteLength, dtype, shape, locks } satisfies ToService);
    });
  }

  /** Stops serving blocks (their memory stays the rank's). */
  unregister(segs: number[]): void {
    for (const s of segs) this.jobs.delete(s);
    if (segs.length) this.worker.postMessage({ type: 'unregister', segs } satisfies ToService);
  }
}

/**
 * Where the worker listens, as the tcp backend chooses: SUPERSTEP_BIND if set; else the local
 * address that routes to the coordinator (SUPERSTEP_COORD), found with a connected UDP socket
 * (which sends nothing); else loopback.
 */
export async function bindAddress(env: Record<string, string | undefined> = process.env): Promise<string> {
  if (env.SUPERSTEP_BIND) return env.SUPERSTEP_BIND;
  const coord = env.SUPERSTEP_COORD;
  const colon = coord?.lastIndexOf(':') ?? -1;
  if (!coord || colon <= 0) return '127.0.0.1';
  const host = coord.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(coord.slice(colon + 1));
  if (host === 'localhost' || host.startsWith('127.') || host === '::1' || !Number.isInteger(port) || port <= 0) return '127.0.0.1';
  return new Promise<string>((resolve) => {
    const s = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    const done = (addr: string) => {
      try {
        s.close();
      } catch {
        /* already closed */
      }
      resolve(addr);
    };
    s.on('error', () => done('127.0.0.1'));
    s.connect(port, host, () => {
      try {
        done(s.address().address);
      } catch {
        done('127.0.0.1');
      }
    });
  });
}

const kKey = Symbol.for('superstep.globalService');
type Holder = { [kKey]?: Promise<ServiceHost> };

/** This thread's service host, started on first use. */
export function serviceHost(): Promise<ServiceHost> {
  const g = globalThis as Holder;
  const p = (g[kKey] ??= ServiceHost.start());
  p.catch(() => {
    if (g[kKey] === p) g[kKey] = undefined;
  });
  return p;
}
