import { describe, expect, it } from 'vitest';
import type { PickleImport, ScanResult } from './events.js';
import { scanPickle } from './scan.js';
import { bytes, op } from './test-support/assemble.js';
import { fixture } from './test-support/fixtures.js';

const PAYLOAD = 'touch /tmp/brine-pwned';

async function scanFixture(file: string): Promise<ScanResult> {
  return scanPickle(fixture(file));
}

function names(r: ScanResult): string[] {
  return r.imports.map((i) => `${i.module}.${i.name}${i.called ? '()' : ''}`);
}

function only(r: ScanResult, module: string, name: string): PickleImport {
  const hits = r.imports.filter((i) => i.module === module && i.name === name);
  expect(hits).toHaveLength(1);
  return hits[0] as PickleImport;
}

describe('malicious fixtures', () => {
  for (const p of [0, 1, 2, 3, 4, 5]) {
    it(`os.system REDUCE at protocol ${p}: import, call and command as evidence`, async () => {
      const bytes = fixture(`malicious/os-system-p${p}.pkl`);
      const r = await scanPickle(bytes);
      const imp = only(r, 'os', 'system');
      // protocols 0 and 1 have no PROTO opcode: the scanner reports 0 for both
      expect(imp).toMatchObject({ called: true, resolved: true, pickleIndex: 0, protocol: p <= 1 ? 0 : p });
      expect(imp.opcode).toBe(p >= 4 ? 'STACK_GLOBAL' : 'GLOBAL');
      const call = r.calls.find((c) => c.opcode === 'REDUCE');
      expect(call?.target).toEqual({ kind: 'global', importIndex: r.imports.indexOf(imp) });
      const arg = call?.args[0];
      expect(arg?.kind).toBe('str');
      if (arg?.kind !== 'str') return;
      expect(arg.value).toBe(PAYLOAD);
      // the literal's offset/length point at its bytes in the stream
      const text = new TextDecoder().decode(bytes.subarray(arg.offset, arg.offset + arg.length));
      expect(text).toBe(PAYLOAD);
      expect(r.complete).toBe(true);
      expect(r.anomalies).toEqual([]);
    });
  }

  it('GLOBAL offset is the opcode position', async () => {
    const r = await scanFixture('malicious/os-system-p2.pkl');
    expect(r.imports[0]?.offset).toBe(2);
    expect(r.calls[0]?.offset).toBe(2 + 11 + 27 + 1);
  });

  it('Python 2 names are mapped like fix_imports does (protocol < 3)', async () => {
    const r = await scanFixture('malicious/builtin-py2-eval-p2.pkl');
    expect(r.imports[0]).toMatchObject({
      module: 'builtins',
      name: 'eval',
      writtenAs: '__builtin__ eval',
      called: true,
    });
  });

  it('__import__ + getattr chain through the memo (GHSA-h4rm-mm56-xf63)', async () => {
    const r = await scanFixture('malicious/import-getattr-chain.pkl');
    expect(names(r)).toEqual(['builtins.__import__()', 'builtins.getattr()']);
    // the final REDUCE calls the result of getattr (call #1), fetched with GET
    const last = r.calls.at(-1);
    expect(last?.target).toEqual({ kind: 'call', callIndex: 1 });
    expect(last?.args[0]).toMatchObject({ kind: 'str', value: PAYLOAD });
  });

  it('nullifAI: the payload before the garbage is still reported', async () => {
    const r = await scanFixture('malicious/nullifai-broken.pkl');
    expect(names(r)).toEqual(['os.system()']);
    expect(r.complete).toBe(false);
    expect(r.anomalies.some((a) => a.fatal && a.code === 'unknown-opcode')).toBe(true);
  });

  it('OBJ result dropped by POP still records the call (GHSA-mxhj-88fx-4pcv)', async () => {
    const r = await scanFixture('malicious/smtplib-obj-pop.pkl');
    expect(names(r)).toEqual(['smtplib.SMTP()']);
    expect(r.calls[0]).toMatchObject({ opcode: 'OBJ', args: [{ kind: 'str', value: '127.0.0.1' }] });
  });

  it('a malicious second pickle after a benign one', async () => {
    const r = await scanFixture('malicious/second-pickle.pkl');
    expect(only(r, 'os', 'system')).toMatchObject({ pickleIndex: 1, called: true });
    expect(r.stats.pickles).toBe(2);
  });
});

describe('published resolution bypasses (peers.md §3B)', () => {
  it('B1 memo index confusion resolves GET by key', async () => {
    const r = await scanFixture('bypass/b1-memo-index-confusion.pkl');
    expect(names(r)).toEqual(['os.system()']);
    expect(r.calls[0]?.args[0]).toMatchObject({ kind: 'str', value: 'cat flag.txt' });
  });

  it('B2 STRING operands at the very start of the stream', async () => {
    const r = await scanFixture('bypass/b2-string-operands-at-start.pkl');
    expect(r.imports[0]).toMatchObject({
      module: 'os',
      name: 'system',
      opcode: 'STACK_GLOBAL',
      offset: 16,
      called: true,
    });
    expect(r.imports[0]?.protocol).toBe(0);
  });

  it('B3a memo miss after the payload keeps the payload and continues', async () => {
    const r = await scanFixture('bypass/b3a-memo-miss.pkl');
    expect(r.imports[0]).toMatchObject({ module: 'os', name: 'system', called: true, resolved: true });
    expect(r.anomalies.map((a) => a.code)).toContain('memo-miss');
    expect(r.imports[1]?.resolved).toBe(false);
  });

  it('B3b int operand from the memo is an unresolved import, not a crash', async () => {
    const r = await scanFixture('bypass/b3b-type-confusion.pkl');
    expect(r.imports[0]).toMatchObject({ module: '<int 42>', name: 'os', resolved: false, called: true });
    expect(r.anomalies.map((a) => a.code)).toContain('non-string-global-operand');
  });

  it('B4 INST imports and calls in one opcode', async () => {
    const r = await scanFixture('bypass/b4-inst.pkl');
    expect(r.imports[0]).toMatchObject({ module: 'builtins', name: 'exec', opcode: 'INST', called: true });
    expect(r.calls[0]).toMatchObject({
      opcode: 'INST',
      args: [{ kind: 'str', value: 'raise RuntimeError("Injection running")' }],
    });
  });

  it('B5 computed names: BUILD on a module, then non-string STACK_GLOBAL operands', async () => {
    const r = await scanFixture('bypass/b5-computed-names.pkl');
    expect(r.imports[0]).toMatchObject({ module: 'torch', name: '_utils', resolved: true });
    expect(r.calls[0]).toMatchObject({ opcode: 'BUILD', target: { kind: 'global', importIndex: 0 } });
    expect(r.imports[1]).toMatchObject({ module: '<global #0>', name: '_rebuild_tensor', resolved: false });
    expect(r.imports[2]).toMatchObject({
      module: '<global #1>',
      name: 'eval',
      resolved: false,
      called: true,
    });
  });

  it('B9 dotted names keep the protocol that makes find_class walk them', async () => {
    const r = await scanFixture('bypass/b9-dotted-name.pkl');
    expect(r.imports[0]).toMatchObject({ module: 'pathlib', name: 'os.system', protocol: 4, called: true });
  });

  it('B12 FRAME divergence: the hidden GLOBAL is found, and the crossing is flagged', async () => {
    const bytes = fixture('bypass/b12-frame-divergence.pkl');
    const r = await scanPickle(bytes);
    // frame = BINBYTES opcode + 3 length bytes (13..16); C reads the length from 17..20, GLOBAL at 21
    expect(only(r, 'os', 'system')).toMatchObject({ called: true, offset: 21 });
    expect(r.anomalies.map((a) => a.code)).toContain('frame-crossing');
    // pickletools' linear reading sees only a BINBYTES: that reading alone finds nothing
    const linear = await scanPickle(bytes, { frameReading: 'linear' });
    expect(linear.imports).toEqual([]);
  });

  it('B12 as published: the frame ends on a 128 KiB read-buffer boundary inside BINBYTES', async () => {
    // PROTO 5, NONE, UNICODE 'a'*(8192*16-17), POP, MARK, FRAME 2, BINBYTES len 0x107: the frame
    // holds "B" and the first length byte, which sits exactly at offset 8192*16. Reading a file,
    // the C unpickler then takes the length from the next four bytes (01 00 00 00 -> 1), skips one
    // byte and runs the hidden opcodes; pickletools sees one 263-byte BINBYTES.
    const hidden = bytes(op.GLOBAL('os', 'system'), 'Vecho pwned\n', op.TUPLE1, op.REDUCE, op.MARK);
    const payload = bytes(0, 0, hidden, ...Array(0x107 - 2 - hidden.length).fill(op.NONE));
    const data = bytes(
      op.PROTO(5),
      op.NONE,
      'V',
      'a'.repeat(8192 * 16 - 17),
      '\n',
      op.POP,
      op.MARK,
      op.FRAME(2),
      op.BINBYTES(payload),
      op.POP_MARK,
      op.STOP,
    );
    expect(data[8192 * 16 - 1]).toBe(0x42);
    const r = await scanPickle(data);
    expect(only(r, 'os', 'system')).toMatchObject({ called: true, offset: 8192 * 16 + 6 });
    expect(r.calls[0]?.args[0]).toMatchObject({ kind: 'str', value: 'echo pwned' });
    expect(r.anomalies.map((a) => a.code)).toContain('frame-crossing');
    expect((await scanPickle(data, { frameReading: 'linear' })).imports).toEqual([]);
  });

  it('B13 BINUNICODE8 operands and popped decoys', async () => {
    const r = await scanFixture('bypass/b13-binunicode8-decoys.pkl');
    expect(names(r)).toEqual(['os.system()']);
  });

  it('B13 memoized GLOBAL called through BINGET', async () => {
    const r = await scanFixture('bypass/b13-memoized-global.pkl');
    expect(names(r)).toEqual(['os.system()', 'torch.Tensor']);
  });

  it('B14 EXT1 is reported as an extension and called', async () => {
    const r = await scanFixture('bypass/b14-ext.pkl');
    expect(r.extensions).toEqual([{ opcode: 'EXT1', code: 42, offset: 2, pickleIndex: 0 }]);
    expect(r.calls[0]?.target).toEqual({ kind: 'ext', code: 42 });
  });

  it('B15 junk between streams: trailing bytes reported, next stream scanned', async () => {
    const r = await scanFixture('bypass/b15-junk-between-streams.pkl');
    expect(only(r, 'os', 'system')).toMatchObject({ pickleIndex: 1, called: true, offset: 18 });
    expect(r.anomalies).toMatchObject([{ code: 'trailing-bytes', offset: 9, fatal: false }]);
    expect(r.complete).toBe(true);
  });

  it('B18 MEMOIZE after DUP / after POP stores what the stack really holds', async () => {
    for (const f of ['bypass/b18-dup-memoize.pkl', 'bypass/b18-pop-memoize.pkl']) {
      const r = await scanFixture(f);
      expect(names(r)).toEqual(['os.system()']);
    }
  });

  it('BINPERSID reports the persistent id with its tuple', async () => {
    const r = await scanFixture('bypass/binpersid.pkl');
    expect(r.persistentIds).toHaveLength(1);
    expect(r.persistentIds[0]?.pid).toMatchObject({
      kind: 'tuple',
      items: [{ value: 'storage' }, { value: 'FloatStorage' }, { value: '0' }],
    });
  });
});

describe('benign fixtures', () => {
  it('plain data at every protocol imports nothing', async () => {
    for (const p of [0, 1, 2, 3, 4, 5]) {
      const r = await scanFixture(`benign/data-p${p}.pkl`);
      expect(r.imports).toEqual([]);
      expect(r.anomalies).toEqual([]);
      expect(r.complete).toBe(true);
    }
  });

  it('OrderedDict is an import that is called', async () => {
    const r = await scanFixture('benign/ordereddict-p2.pkl');
    expect(names(r)).toEqual(['collections.OrderedDict()']);
  });
});
