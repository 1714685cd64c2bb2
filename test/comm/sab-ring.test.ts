/**
 * The sab ring and transport on small rings, in one thread: records that wrap around the
 * ring's end, alignment skips, batched releases, and messages many times the ring's size
 * (the default rings of a real world are MiBs, so the conformance suites rarely wrap them).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSabWorld, kRecordHeaderBytes } from '../../comm/backends/sab/layout.js';
import { Ring } from '../../comm/backends/sab/ring.js';
import { createSabTransport } from '../../comm/backends/sab/transport.js';
import { ANY_SOURCE, ANY_TAG } from '../../comm/transport.js';

const bytesFor = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (seed + i * 131) & 255);

describe('sab ring (1 KiB)', () => {
  it('carries records of random sizes intact, never over-fills, and hands space back', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 600 }), fc.nat({ max: 3 })), { minLength: 1, maxLength: 60 }), (msgs) => {
        const world = createSabWorld(2, 1024);
        const buffer = world.rings[1]!;
        const producer = new Ring(buffer, 'producer');
        const consumer = new Ring(buffer, 'consumer');
        let sent = 0;
        let received = 0;
        while (received < msgs.length) {
          // The producer writes what fits; a record that does not waits for the consumer.
          while (sent < msgs.length) {
            const [n] = msgs[sent]!;
            const hb = producer.headerBytes();
            if (!producer.fits(hb + n)) break;
            producer.writeHeader(7, sent, n, 1);
            producer.write(bytesFor(n, sent), hb);
            producer.publish(hb + n);
            sent++;
          }
          expect(producer.free()).toBeGreaterThanOrEqual(0);
          // The consumer takes up to `take` records (a random pace), then the producer goes on.
          const take = msgs[received]![1] + 1;
          for (let k = 0; k < take && received < msgs.length; k++) {
            const hb = consumer.headerBytes();
            if (consumer.used() < hb) break;
            const n = consumer.header(2) >>> 0;
            expect([consumer.header(0), consumer.header(1), n, consumer.header(3)]).toEqual([7, received, msgs[received]![0], 1]);
            expect(consumer.used()).toBeGreaterThanOrEqual(hb + n);
            const got = new Uint8Array(n);
            consumer.read(got, hb);
            expect(Buffer.compare(got, bytesFor(n, received))).toBe(0);
            consumer.release(hb + n);
            received++;
          }
          // Progress is guaranteed: either the producer has a record's room or there is something to read.
          if (sent < msgs.length && received === sent) expect(producer.fits(producer.headerBytes() + msgs[sent]![0])).toBe(true);
        }
        expect(consumer.used()).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('headers are 16-byte aligned and never wrap', () => {
    const world = createSabWorld(2, 1024);
    const producer = new Ring(world.rings[1]!, 'producer');
    const consumer = new Ring(world.rings[1]!, 'consumer');
    for (let i = 0; i < 500; i++) {
      const n = (i * 37) % 200;
      const hb = producer.headerBytes();
      expect(hb).toBeGreaterThanOrEqual(kRecordHeaderBytes);
      expect(hb).toBeLessThan(kRecordHeaderBytes + 16);
      producer.writeHeader(1, 2, n, 3);
      producer.publish(hb + n);
      expect(consumer.header(2)).toBe(n);
      consumer.release(consumer.headerBytes() + n);
    }
  });
});

describe('sab transport on 1 KiB rings (two ranks in one thread)', () => {
  it('random traffic both ways, much larger than the ring, arrives whole and in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ src: fc.nat({ max: 1 }), tag: fc.nat({ max: 2 }), n: fc.oneof(fc.nat({ max: 40 }), fc.integer({ min: 900, max: 5000 })), into: fc.nat({ max: 2 }) }), { maxLength: 30 }),
        async (plan) => {
          const world = createSabWorld(2, 1024);
          const ts = [0, 1].map((r) => createSabTransport(world, r, { syncSpin: 4, spinMs: 1 }));
          try {
            const sends = plan.map((m, i) => ts[m.src]!.send(1 - m.src, 9, m.tag, bytesFor(m.n, i)));
            // Each side receives its messages in plan order (per (source, tag) that is send order).
            const recvs = [0, 1].map(async (me) => {
              for (const [i, m] of plan.entries()) {
                if (m.src === me) continue;
                const into = m.into === 0 ? undefined : new Uint8Array(m.into === 1 ? m.n : Math.max(0, m.n - 1));
                const r = await ts[me]!.recv(m.src, 9, m.tag, into);
                expect([r.source, r.tag, r.data.byteLength]).toEqual([m.src, m.tag, m.n]);
                expect(Buffer.compare(r.data, bytesFor(m.n, i))).toBe(0);
                if (into && into.byteLength >= m.n) expect(r.data.buffer).toBe(into.buffer);
              }
            });
            await Promise.all([...sends, ...recvs]);
            expect(ts.map((t) => t.iprobe(ANY_SOURCE, 9, ANY_TAG))).toEqual([undefined, undefined]);
          } catch (err) {
            // Fail every pending operation, so close() does not wait for sends nobody receives.
            for (const t of ts) t.abort('test failed');
            throw err;
          } finally {
            await Promise.all(ts.map((t) => t.close()));
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
