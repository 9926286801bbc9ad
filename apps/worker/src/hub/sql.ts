/**
 * The part of Cloudflare D1's API the hub code uses. D1 satisfies it in workerd; the Node
 * simulation runs the same SQL and migrations on sql.js (`sqljs-database.ts`).
 */
export interface SqlStatement {
  bind(...values: unknown[]): SqlStatement;
  all<T = Record<string, unknown>>(): Promise<{ results: T[] }>;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  run(): Promise<{ meta: { changes?: number } }>;
}

/** A D1-like database. */
export interface SqlDatabase {
  prepare(sql: string): SqlStatement;
  batch(statements: SqlStatement[]): Promise<unknown[]>;
}

/** D1 allows 100 bound parameters per statement: `IN (...)` lists are cut to this many keys. */
export const MAX_BOUND_KEYS = 90;

/** Runs statements in D1 batches (one round trip each, atomic per batch). */
export async function runBatched(db: SqlDatabase, statements: SqlStatement[], size = 50): Promise<void> {
  for (let i = 0; i < statements.length; i += size) await db.batch(statements.slice(i, i + size));
}

/** A BLOB as D1 (array of numbers or ArrayBuffer) or sql.js (Uint8Array) returns it. */
export function blobBytes(value: unknown): Uint8Array | undefined {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (Array.isArray(value)) return Uint8Array.from(value as number[]);
  return undefined;
}
