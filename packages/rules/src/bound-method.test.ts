import { describe, expect, it } from 'vitest';
import { evaluate } from './evaluate.js';
import { dict, fileScan, StreamBuilder, str } from './test-support/scan-builder.js';

/** torch.save of a OneCycleLR: the scheduler keeps `anneal_func = self._annealing_cos`. */
function scheduler(build: (b: StreamBuilder, getattr: ReturnType<StreamBuilder['imp']>) => void) {
  const b = new StreamBuilder(2);
  const sched = b.call(b.imp('torch.optim.lr_scheduler', 'OneCycleLR'), [], 'NEWOBJ');
  const getattr = b.imp('builtins', 'getattr');
  build(b, getattr);
  return { b, sched };
}

describe('bound methods rebuilt with getattr', () => {
  it('accepts getattr(<framework object>, name) stored by BUILD and never called', () => {
    const b = new StreamBuilder(2);
    const sched = b.call(b.imp('torch.optim.lr_scheduler', 'OneCycleLR'), [], 'NEWOBJ');
    const m = b.call(b.imp('builtins', 'getattr'), [sched, str('_annealing_cos')]);
    b.call(sched, [dict([str('anneal_func'), m])], 'BUILD');
    const r = evaluate(fileScan([b.stream()]));
    expect(r.verdict).toBe('clean');
    expect(r.imports.find((i) => i.name === 'getattr')?.tier).toBe('known');
  });

  it('keeps getattr dangerous in every other shape', () => {
    const shapes: Array<[string, (b: StreamBuilder, g: ReturnType<StreamBuilder['imp']>) => void]> = [
      [
        'dunder name',
        (b, g) =>
          b.call(g, [b.call(b.imp('torch.optim.lr_scheduler', 'StepLR'), [], 'NEWOBJ'), str('__class__')]),
      ],
      ['getattr on a module global', (b, g) => b.call(g, [b.imp('os', 'path'), str('join')])],
      [
        'getattr on a stdlib known class instance',
        (b, g) => b.call(g, [b.call(b.imp('pathlib', 'PosixPath'), [str('/x')]), str('unlink')]),
      ],
      [
        'result called',
        (b, g) =>
          b.call(
            b.call(g, [b.call(b.imp('torch.nn.modules.linear', 'Linear'), [], 'NEWOBJ'), str('forward')]),
            [],
          ),
      ],
      [
        'result passed to a call',
        (b, g) =>
          b.call(b.imp('collections', 'defaultdict'), [
            b.call(g, [b.call(b.imp('torch.nn.modules.linear', 'Linear'), [], 'NEWOBJ'), str('apply')]),
          ]),
      ],
      ['getattr passed as data', (b, g) => b.call(b.imp('collections', 'OrderedDict'), [g])],
      [
        'three arguments',
        (b, g) =>
          b.call(g, [b.call(b.imp('torch.nn.modules.linear', 'Linear'), [], 'NEWOBJ'), str('x'), str('y')]),
      ],
    ];
    for (const [what, build] of shapes) {
      const { b } = scheduler(build);
      const r = evaluate(fileScan([b.stream()]));
      expect([what, r.imports.find((i) => i.name === 'getattr')?.tier]).toEqual([what, 'dangerous']);
      expect(r.fails).toBe(true);
    }
  });

  it('does not exempt anything when evidence was cut short', () => {
    const b = new StreamBuilder(2);
    const sched = b.call(b.imp('torch.optim.lr_scheduler', 'OneCycleLR'), [], 'NEWOBJ');
    const m = b.call(b.imp('builtins', 'getattr'), [sched, str('_annealing_cos')]);
    b.call(sched, [dict([str('anneal_func'), m])], 'BUILD');
    b.call(b.imp('collections', 'OrderedDict'), [{ kind: 'list', items: [], truncated: true }]);
    expect(evaluate(fileScan([b.stream()])).fails).toBe(true);
    // A BUILD state cut short only hides stored attributes, not calls.
    const ok = new StreamBuilder(2);
    const s2 = ok.call(ok.imp('torch.optim.lr_scheduler', 'OneCycleLR'), [], 'NEWOBJ');
    const m2 = ok.call(ok.imp('builtins', 'getattr'), [s2, str('_annealing_cos')]);
    ok.call(s2, [{ kind: 'dict', entries: [[str('anneal_func'), m2]], truncated: true }], 'BUILD');
    expect(evaluate(fileScan([ok.stream()])).fails).toBe(false);
  });
});
