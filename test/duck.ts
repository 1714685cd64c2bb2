/**
 * DuckDB as a test oracle: one in-memory connection per test file, SQL results as plain rows
 * (bigints as numbers), and tables from JSON rows written to a temporary folder.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll } from 'vitest';
import { closeWorlds } from './harness.js';
import type { Row } from './fixtures/io.js';

/** genTable's columns (and a row id) as DuckDB types, for read_json. */
export const kGenTableTypes = "{rid: 'INTEGER', g: 'VARCHAR', s: 'VARCHAR', i32: 'INTEGER', i64: 'BIGINT', i8: 'TINYINT', u8: 'UTINYINT', u16: 'USMALLINT', f32: 'FLOAT', f64: 'DOUBLE', b: 'BOOLEAN', ts: 'BIGINT'}";

export class Duck {
  readonly dir = mkdtempSync(join(tmpdir(), 'superstep-duck-'));
  private con: DuckDBConnection | undefined;
  private files = 0;

  async open(): Promise<void> {
    this.con = await (await DuckDBInstance.create(':memory:')).connect();
  }

  close(): void {
    this.con?.closeSync();
    rmSync(this.dir, { recursive: true, force: true });
  }

  async run(q: string): Promise<void> {
    await this.con!.run(q);
  }

  /** The rows of a query, bigints as numbers and dates as epoch milliseconds. */
  async rows(q: string): Promise<Row[]> {
    const rows = (await this.con!.runAndReadAll(q)).getRowObjectsJS() as Record<string, unknown>[];
    return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v instanceof Date ? v.getTime() : v])) as Row);
  }

  /** A table expression over `rows` (written as JSON) with the given column types. */
  table(rows: Row[], types: string): string {
    const path = join(this.dir, `t${this.files++}.json`);
    writeFileSync(path, JSON.stringify(rows));
    return `read_json('${path}', format = 'array', columns = ${types})`;
  }
}

/** A Duck for this test file: opened before its tests; closed, with the file's worlds, after. */
export function useDuck(): Duck {
  const duck = new Duck();
  beforeAll(() => duck.open());
  afterAll(async () => {
    await closeWorlds();
    duck.close();
  });
  return duck;
}
