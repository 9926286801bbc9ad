import type { EvidenceValue, FileScan, PickleAnomaly, PickleCall, ScanResult, StreamScan } from '@brine/core';

/**
 * Builds hand-written `ScanResult`s for rule tests, the way the scanner would report a pickle:
 * `imp()` returns the evidence of the imported global, `call()` records an application.
 */
export class StreamBuilder {
  readonly result: ScanResult = {
    imports: [],
    calls: [],
    persistentIds: [],
    extensions: [],
    anomalies: [],
    stats: {
      bytesScanned: 100,
      bytesSkipped: 0,
      opcodes: 10,
      pickles: 1,
      maxStackDepth: 3,
      memoEntries: 0,
      protocols: [2],
    },
    complete: true,
  };
  private offset = 2;

  constructor(
    readonly protocol = 2,
    readonly path: string[] = ['model.pkl'],
  ) {}

  imp(
    module: string,
    name: string,
    opts: { resolved?: boolean; opcode?: 'GLOBAL' | 'STACK_GLOBAL' | 'INST' } = {},
  ): EvidenceValue {
    this.offset += 10;
    this.result.imports.push({
      module,
      name,
      opcode: opts.opcode ?? 'GLOBAL',
      offset: this.offset,
      pickleIndex: 0,
      protocol: this.protocol,
      resolved: opts.resolved ?? true,
      called: false,
    });
    return { kind: 'global', importIndex: this.result.imports.length - 1 };
  }

  call(target: EvidenceValue, args: EvidenceValue[], opcode: PickleCall['opcode'] = 'REDUCE'): EvidenceValue {
    this.offset += 5;
    this.result.calls.push({ opcode, offset: this.offset, pickleIndex: 0, target, args });
    if (target.kind === 'global' && opcode !== 'BUILD') {
      const imp = this.result.imports[target.importIndex];
      if (imp) imp.called = true;
    }
    return { kind: 'call', callIndex: this.result.calls.length - 1 };
  }

  persid(pid: EvidenceValue): EvidenceValue {
    this.offset += 3;
    this.result.persistentIds.push({ opcode: 'BINPERSID', offset: this.offset, pickleIndex: 0, pid });
    return { kind: 'persid', persidIndex: this.result.persistentIds.length - 1 };
  }

  ext(code: number): EvidenceValue {
    this.offset += 2;
    this.result.extensions.push({ opcode: 'EXT1', offset: this.offset, pickleIndex: 0, code });
    return { kind: 'ext', code };
  }

  anomaly(code: PickleAnomaly['code'], fatal: boolean): this {
    this.offset += 1;
    this.result.anomalies.push({ code, offset: this.offset, pickleIndex: 0, message: `${code} here`, fatal });
    if (fatal) this.result.complete = false;
    return this;
  }

  stream(role = 'pickle'): StreamScan {
    return { path: this.path, role, result: this.result };
  }
}

export const str = (value: string): EvidenceValue => ({
  kind: 'str',
  value,
  offset: 0,
  length: value.length,
  truncated: false,
});
export const bytes = (length: number, preview = '80049500'): EvidenceValue => ({
  kind: 'bytes',
  preview,
  offset: 0,
  length,
  truncated: false,
});
export const int = (value: number): EvidenceValue => ({ kind: 'int', value: String(value) });
export const tuple = (...items: EvidenceValue[]): EvidenceValue => ({
  kind: 'tuple',
  items,
  truncated: false,
});
export const dict = (...entries: Array<[EvidenceValue, EvidenceValue]>): EvidenceValue => ({
  kind: 'dict',
  entries,
  truncated: false,
});
export const none: EvidenceValue = { kind: 'none' };

/** Wraps streams into the `FileScan` the engine would produce. */
export function fileScan(streams: StreamScan[], extra: Partial<FileScan> = {}): FileScan {
  return {
    file: 'model.pkl',
    size: 1000,
    format: 'pickle',
    formats: [{ path: ['model.pkl'], format: 'pickle' }],
    streams,
    containerFindings: [],
    problems: [],
    bytesRead: 1000,
    durationMs: 1,
    ...extra,
  };
}
