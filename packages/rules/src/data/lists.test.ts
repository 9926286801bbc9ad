import { describe, expect, it } from 'vitest';
import { KNOWN_GENERATED, KNOWN_TEXT, SAFE_TEXT } from './allowlist.js';
import { DANGEROUS_FAMILIES } from './denylist.js';
import { STDLIB_MODULES } from './stdlib.js';

function pairs(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of text.split('\n')) {
    const [module, ...names] = line.trim().split(/\s+/);
    if (module) for (const n of names) out.push([module, n]);
  }
  return out;
}

const listed: Array<[string, string]> = [...pairs(SAFE_TEXT), ...pairs(KNOWN_TEXT)];
for (const table of KNOWN_GENERATED) {
  for (const [m, names] of Object.entries(table)) for (const n of names) listed.push([m, n]);
}
const wildcards = Object.values(DANGEROUS_FAMILIES).flatMap((t) =>
  pairs(t)
    .filter(([, n]) => n === '*')
    .map(([m]) => m),
);
const exact = new Set(
  Object.values(DANGEROUS_FAMILIES).flatMap((t) =>
    pairs(t)
      .filter(([, n]) => n !== '*')
      .map(([m, n]) => `${m}.${n}`),
  ),
);

describe('allow and deny lists', () => {
  it('never lists a pair as both allowed and dangerous', () => {
    expect(listed.filter(([m, n]) => exact.has(`${m}.${n}`))).toEqual([]);
  });

  it('allows nothing inside a dangerous wildcard module except a few reviewed data classes', () => {
    // Each of these is a data class or a torch reconstruction helper that torch's own weights_only
    // unpickler or its TorchScript loader accepts; everything else in those modules stays dangerous.
    const reviewed = new Set([
      'uuid.UUID',
      'uuid.SafeUUID',
      'http.HTTPStatus',
      'http.HTTPMethod',
      'torch.distributed.tensor.DTensor',
      'torch.distributed.tensor.placement_types.Shard',
      'torch.distributed.tensor.placement_types.Replicate',
      'torch.distributed.tensor.placement_types.Partial',
      'torch.distributed.tensor._dtensor_spec.DTensorSpec',
      'torch.distributed.tensor._dtensor_spec.TensorMeta',
      'torch.distributed.device_mesh.DeviceMesh',
      'torch.serialization._get_layout',
    ]);
    const inside = listed.filter(
      ([m, n]) =>
        !reviewed.has(`${m}.${n}`) &&
        !m.startsWith('torch.jit._pickle') &&
        wildcards.some((w) => m === w || m.startsWith(`${w}.`)),
    );
    expect(inside).toEqual([]);
  });

  it('has no dotted or dunder names in the allowlists except copyreg and NumPy constructor helpers', () => {
    const odd = listed.filter(([m, n]) => n.includes('.') || (/^__\w+__$/.test(n) && m !== 'copyreg'));
    expect(odd).toEqual([]);
  });

  it('holds the stdlib module names of every supported Python', () => {
    for (const m of [
      'os',
      'pickle',
      '_pickle',
      'asyncio',
      'distutils',
      'imp',
      'asynchat',
      'tomllib',
      '_pyrepl',
      'annotationlib',
      'compression',
    ]) {
      expect(STDLIB_MODULES.has(m)).toBe(true);
    }
    expect(STDLIB_MODULES.has('torch')).toBe(false);
    expect(STDLIB_MODULES.has('numpy')).toBe(false);
  });
});

describe('generated gadget-surface classification', () => {
  it('gives every entry class a tier and a one-line reason, and lists only known classes', async () => {
    const { SURFACE_CLASSES, SURFACE_ENTRIES, SURFACE_COUNTS } = await import('./gadget-surface.js');
    const ids = new Set(SURFACE_CLASSES.map((c) => c.id));
    for (const c of SURFACE_CLASSES) {
      expect(['safe', 'known', 'dangerous']).toContain(c.tier);
      expect(c.reason.length).toBeGreaterThan(20);
      expect(c.reason).not.toMatch(/\n/);
    }
    for (const id of Object.keys(SURFACE_ENTRIES)) expect(ids.has(id)).toBe(true);
    for (const lib of ['stdlib', 'torch', 'numpy']) {
      const c = SURFACE_COUNTS[lib];
      expect(c && c.known + c.dangerous + c.unreviewed).toBeGreaterThan(1000);
    }
  });

  it('never puts a hand-denylisted pair in a generated safe or known class', async () => {
    const { SURFACE_CLASSES, SURFACE_ENTRIES } = await import('./gadget-surface.js');
    const allowedIds = new Set(SURFACE_CLASSES.filter((c) => c.tier !== 'dangerous').map((c) => c.id));
    const clash: string[] = [];
    for (const [id, text] of Object.entries(SURFACE_ENTRIES)) {
      if (!allowedIds.has(id)) continue;
      for (const [m, n] of pairs(text)) if (exact.has(`${m}.${n}`)) clash.push(`${id}: ${m}.${n}`);
    }
    expect(clash).toEqual([]);
  });
});
