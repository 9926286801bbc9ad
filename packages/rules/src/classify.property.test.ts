import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyImport } from './classify.js';

const ident = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/);
const dottedPath = fc.array(ident, { minLength: 1, maxLength: 4 }).map((p) => p.join('.'));

describe('classifyImport properties', () => {
  it('never throws and always answers with a tier and a reason', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
        (m, n, p) => {
          const c = classifyImport(m, n, p);
          expect(['safe', 'known', 'dangerous', 'unknown']).toContain(c.tier);
          expect(c.reason.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('treats any name with a dunder component as dangerous, unless it is an exact listed pair', () => {
    fc.assert(
      fc.property(
        dottedPath,
        fc.array(ident, { maxLength: 2 }),
        ident,
        fc.array(ident, { maxLength: 2 }),
        (m, pre, d, post) => {
          const name = [...pre, `__${d}__`, ...post].join('.');
          const c = classifyImport(m, name, 4);
          if (!(m === 'copyreg' && (name === '__newobj__' || name === '__newobj_ex__')))
            expect(c.tier).toBe('dangerous');
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never lets an attribute of a safe or known global inherit its tier', () => {
    const listed: Array<[string, string]> = [
      ['collections', 'OrderedDict'],
      ['torch._utils', '_rebuild_tensor_v2'],
      ['numpy.core.multiarray', '_reconstruct'],
      ['torch.nn.modules.linear', 'Linear'],
      ['builtins', 'set'],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...listed), dottedPath, ([m, n], attr) => {
        const c = classifyImport(m, `${n}.${attr}`, 4);
        expect(c.tier === 'safe' || c.tier === 'known').toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps a wildcard module dangerous in every submodule and for every name', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('os', 'subprocess', 'asyncio', 'pickle', 'ctypes', 'torch.hub', 'numpy.f2py'),
        fc.array(ident, { maxLength: 3 }),
        ident,
        (m, sub, n) => {
          const module = [m, ...sub].join('.');
          expect(classifyImport(module, n).tier).toBe('dangerous');
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('fails anything unlisted from the stdlib, torch or numpy under the gadget-surface family', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('statistics', 'json', 'torch.utils.data', 'numpy.linalg', 'email.utils'),
        ident,
        (m, n) => {
          const c = classifyImport(m, `zz${n}`);
          expect(c.tier === 'dangerous' || c.family === 'gadget-surface').toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
