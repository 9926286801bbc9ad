import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { SqlDatabase, SqlStatement } from './sql.js';

/** The slice of sql.js this adapter uses. */
interface SqlJsStatement {
  bind(values: unknown[]): boolean;
  step(): boolean;
  getAsObject(): Record<string, unknown>;
  free(): boolean;
}
interface SqlJsDb {
  exec(sql: string): unknown;
  prepare(sql: string): SqlJsStatement;
  getRowsModified(): number;
  close(): void;
}

/** The worker's committed D1 migrations, in order. */
export async function readMigrations(dir = fileURLToPath(new URL('../../migrations/', import.meta.url))) {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.sql')).sort();
  return Promise.all(names.map(async (name) => ({ name, sql: await readFile(`${dir}/${name}`, 'utf8') })));
}

/**
 * An in-memory SQLite (sql.js, WebAssembly) behind the D1 interface, with the worker's migrations
 * applied: the Node simulation runs the consumer's SQL unchanged.
 */
export async function openSqlJsDatabase(): Promise<SqlDatabase & { close(): void }> {
  const require = createRequire(import.meta.url);
  const init = require('sql.js') as (
    config?: Record<string, unknown>,
  ) => Promise<{ Database: new () => SqlJsDb }>;
  const SQL = await init();
  const db = new SQL.Database();
  for (const m of await readMigrations()) db.exec(m.sql);

  const norm = (v: unknown) => (v === undefined ? null : typeof v === 'boolean' ? (v ? 1 : 0) : v);
  const statement = (
    sql: string,
    values: unknown[] = [],
  ): SqlStatement & { exec(): Record<string, unknown>[] } => {
    const exec = () => {
      const st = db.prepare(sql);
      try {
        st.bind(values.map(norm));
        const rows: Record<string, unknown>[] = [];
        while (st.step()) rows.push(st.getAsObject());
        return rows;
      } finally {
        st.free();
      }
    };
    return {
      exec,
      bind: (...v: unknown[]) => statement(sql, v),
      all: async <T>() => ({ results: exec() as T[] }),
      first: async <T>() => (exec()[0] as T | undefined) ?? null,
      run: async () => {
        exec();
        return { meta: { changes: db.getRowsModified() } };
      },
    };
  };
  return {
    prepare: (sql) => statement(sql),
    async batch(statements) {
      db.exec('BEGIN');
      try {
        const out = statements.map((s) => (s as ReturnType<typeof statement>).exec());
        db.exec('COMMIT');
        return out;
      } catch (e) {
        db.exec('ROLLBACK');
        throw e;
      }
    },
    close: () => db.close(),
  };
}
