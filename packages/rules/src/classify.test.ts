import { describe, expect, it } from 'vitest';
import { classifyImport, isGadgetSurface } from './classify.js';

const tier = (m: string, n: string, p?: number) => classifyImport(m, n, p).tier;

describe('classifyImport', () => {
  it('puts torch weights_only globals, NumPy reconstruction and joblib wrappers in the safe tier', () => {
    for (const [m, n] of [
      ['torch._utils', '_rebuild_tensor_v2'],
      ['torch._utils', '_rebuild_parameter'],
      ['torch', 'FloatStorage'],
      ['torch', 'Size'],
      ['torch', 'bfloat16'],
      ['collections', 'OrderedDict'],
      ['collections', 'Counter'],
      ['_codecs', 'encode'],
      ['builtins', 'set'],
      ['__builtin__', 'set'],
      ['numpy.core.multiarray', '_reconstruct'],
      ['numpy._core.multiarray', '_reconstruct'],
      ['numpy', 'ndarray'],
      ['numpy', 'dtype'],
      ['numpy.dtypes', 'Float32DType'],
      ['numpy.random._pickle', '__randomstate_ctor'],
      ['numpy.random.bit_generator', '__pyx_unpickle_SeedSequence'],
      ['joblib.numpy_pickle', 'NumpyArrayWrapper'],
    ]) {
      expect([m, n, tier(m as string, n as string)]).toEqual([m, n, 'safe']);
    }
  });

  it('puts framework classes and stdlib data types in the known tier', () => {
    for (const [m, n] of [
      ['torch.nn.modules.linear', 'Linear'],
      ['torch.nn.modules.conv', 'Conv2d'],
      ['torch.optim.adam', 'Adam'],
      ['sklearn.linear_model._logistic', 'LogisticRegression'],
      ['sklearn.ensemble._forest', 'RandomForestClassifier'],
      ['transformers.training_args', 'TrainingArguments'],
      ['ultralytics.nn.modules.conv', 'Conv'],
      ['datetime', 'datetime'],
      ['decimal', 'Decimal'],
      ['pathlib', 'PosixPath'],
      ['uuid', 'UUID'],
      ['argparse', 'Namespace'],
      ['types', 'SimpleNamespace'],
      ['collections', 'defaultdict'],
      ['copyreg', '_reconstructor'],
      ['copy_reg', '_reconstructor'],
      ['re', '_compile'],
      ['torch.nn.functional', 'relu'],
      ['numpy', 'mean'],
      ['sklearn.neighbors._kd_tree', 'newObj'],
    ]) {
      expect([m, n, tier(m as string, n as string)]).toEqual([m, n, 'known']);
    }
  });

  it('labels denylisted callables with their family', () => {
    expect(classifyImport('os', 'system')).toMatchObject({ tier: 'dangerous', family: 'command-execution' });
    expect(classifyImport('posix', 'system')).toMatchObject({
      tier: 'dangerous',
      family: 'command-execution',
    });
    expect(classifyImport('builtins', 'eval')).toMatchObject({
      tier: 'dangerous',
      family: 'code-evaluation',
    });
    expect(classifyImport('__builtin__', 'eval')).toMatchObject({
      tier: 'dangerous',
      family: 'code-evaluation',
    });
    expect(classifyImport('builtins', 'getattr')).toMatchObject({ tier: 'dangerous', family: 'reflection' });
    expect(classifyImport('pickle', 'loads')).toMatchObject({
      tier: 'dangerous',
      family: 'nested-deserialisation',
    });
    expect(classifyImport('torch', 'load')).toMatchObject({
      tier: 'dangerous',
      family: 'nested-deserialisation',
    });
    expect(classifyImport('joblib', 'load')).toMatchObject({
      tier: 'dangerous',
      family: 'nested-deserialisation',
    });
    expect(classifyImport('pandas', 'read_csv')).toMatchObject({ tier: 'dangerous', family: 'network' });
    expect(classifyImport('cProfile', 'run')).toMatchObject({
      tier: 'dangerous',
      family: 'debugger-profiler',
    });
    expect(classifyImport('_io', 'FileIO')).toMatchObject({ tier: 'dangerous', family: 'file-system' });
    expect(classifyImport('functools', 'partial')).toMatchObject({ tier: 'dangerous', family: 'reflection' });
    expect(classifyImport('code', 'InteractiveInterpreter.runcode')).toMatchObject({ tier: 'dangerous' });
  });

  it('covers submodules of a wildcard module (CVE-2025-10157)', () => {
    expect(classifyImport('asyncio.unix_events', '_UnixSubprocessTransport._start')).toMatchObject({
      tier: 'dangerous',
      family: 'network',
    });
    expect(tier('torch.utils.collect_env', 'run')).toBe('dangerous');
    expect(tier('numpy.f2py.crackfortran', 'getlincoef')).toBe('dangerous');
    // The exact known entry wins over the wildcard around it, and only that entry.
    expect(tier('uuid', 'UUID')).toBe('known');
    expect(tier('uuid', '_get_command_stdout')).toBe('dangerous');
  });

  it('walks dotted names component by component', () => {
    expect(classifyImport('pathlib', 'os.system', 4)).toMatchObject({
      tier: 'dangerous',
      family: 'command-execution',
    });
    expect(tier('shutil', 'os.system', 4)).toBe('dangerous');
    expect(tier('site', 'os.system', 4)).toBe('dangerous');
    expect(tier('sysconfig', 'prefix.os.system', 4)).toBe('dangerous');
    expect(tier('torch', 'utils.collect_env.run', 4)).toBe('dangerous');
    // A user package re-exporting os is still os once walked.
    expect(tier('mypkg.models', 'os.system', 4)).toBe('dangerous');
    expect(tier('mypkg', 'Net.from_pretrained', 4)).toBe('dangerous');
  });

  it('never allowlists an attribute of an allowlisted class or module by prefix', () => {
    expect(tier('collections', 'OrderedDict.fromkeys', 4)).not.toBe('safe');
    expect(tier('torch._utils', '_rebuild_tensor_v2.__globals__', 4)).toBe('dangerous');
    expect(tier('sklearn.ensemble._forest', 'execute')).toBe('unknown');
    expect(classifyImport('torch._utils', '_rebuild_anything').family).toBe('gadget-surface');
  });

  it('treats dunder components as dangerous reflection', () => {
    expect(classifyImport('numpy', '__builtins__')).toMatchObject({
      tier: 'dangerous',
      family: 'reflection',
    });
    expect(tier('builtins', 'object.__subclasses__', 4)).toBe('dangerous');
    expect(tier('mypkg', 'f.__globals__', 4)).toBe('dangerous');
    expect(tier('copyreg', '__newobj__')).toBe('known');
  });

  it('marks unlisted stdlib/torch/NumPy imports as gadget surface and other unknowns as plain unknown', () => {
    expect(classifyImport('shlex', 'split')).toMatchObject({ tier: 'unknown', family: 'gadget-surface' });
    expect(classifyImport('torch.utils.data.sampler', 'RandomSampler')).toMatchObject({
      family: 'gadget-surface',
    });
    expect(classifyImport('numpy', 'vectorize')).toMatchObject({ family: 'gadget-surface' });
    const user = classifyImport('mymodels.net', 'ResNetish');
    expect(user.tier).toBe('unknown');
    expect(user.family).toBeUndefined();
    expect(isGadgetSurface('__builtin__')).toBe(true);
    expect(isGadgetSurface('sklearn')).toBe(false);
  });

  it('returns the same answer from its cache', () => {
    const a = classifyImport('os', 'system');
    const b = classifyImport('os', 'system');
    expect(b).toEqual(a);
    expect(classifyImport('pathlib', 'os.system', 2).reason).toMatch(/protocol < 4/);
  });
});

describe('classifyImport reasons', () => {
  it('names the module a dotted walk reaches, not the harmless one it starts from', () => {
    const c = classifyImport('shutil', 'os.system', 4);
    expect(c.family).toBe('command-execution');
    expect(c.reason).toMatch(/attribute system of shutil\.os/);
  });
});

describe('generated classification of the gadget surface', () => {
  it('knows pure computation and data classes the libraries pickle', () => {
    for (const [m, n] of [
      ['numpy', 'log1p'],
      ['numpy.core._multiarray_umath', 'expm1'],
      ['numpy', 'clip'],
      ['numpy', 'matrix'],
      ['numpy', 'recarray'],
      ['numpy', 'record'],
      ['ipaddress', 'IPv4Network'],
      ['zoneinfo', 'ZoneInfo'],
      ['decimal', 'InvalidOperation'],
      ['time', 'struct_time'],
      ['torch.utils.hooks', 'RemovableHandle'],
      ['torch.nn.functional', 'relu'],
      ['sklearn.preprocessing._function_transformer', 'FunctionTransformer'],
      ['pandas.core.arrays.integer', 'IntegerArray'],
      ['pandas._libs.missing', 'NA'],
    ] as const) {
      expect(classifyImport(m, n).tier, `${m}.${n}`).toBe('known');
    }
  });

  it('labels capabilities found by the generator and leaves the unreviewed rest fail-closed', () => {
    expect(classifyImport('torch', 'import_ir_module')).toMatchObject({
      tier: 'dangerous',
      family: 'import-loading',
    });
    expect(classifyImport('numpy', 'apply_along_axis')).toMatchObject({
      tier: 'dangerous',
      family: 'reflection',
    });
    expect(classifyImport('numpy.lib.stride_tricks', 'as_strided').tier).toBe('dangerous');
    expect(classifyImport('torch', 'from_file')).toMatchObject({ tier: 'dangerous', family: 'file-system' });
    // Interpreter types re-exported under data-looking modules are not data classes.
    expect(classifyImport('collections.abc', 'FunctionType').tier).not.toBe('known');
    expect(classifyImport('numpy', 'frompyfunc')).toMatchObject({ family: 'gadget-surface' });
    expect(classifyImport('numpy', 'vectorize')).toMatchObject({ family: 'gadget-surface' });
    // The hand-kept denylist and its wildcards still win over anything generated.
    expect(classifyImport('os.path', 'join').tier).toBe('dangerous');
  });

  it('puts calls that switch off or widen a loader or scanner guard in the security-tooling family', () => {
    for (const [m, n] of [
      ['torch.serialization', 'add_safe_globals'],
      ['torch.serialization', 'safe_globals'],
      ['torch._weights_only_unpickler', '_add_safe_globals'],
      ['fickling.hook', 'deactivate_safe_ml_environment'],
      ['picklescan.scanner', '_safe_globals.update'],
      ['modelscan.settings', 'DEFAULT_SETTINGS.update'],
      ['sys', 'meta_path.clear'],
      ['sys', 'addaudithook'],
      ['os', 'environ.update'],
    ] as const) {
      expect(classifyImport(m, n), `${m}.${n}`).toMatchObject({
        tier: 'dangerous',
        family: 'security-tooling',
      });
    }
    expect(classifyImport('importlib', 'x.meta_path.insert', 4)).toMatchObject({
      family: 'security-tooling',
    });
  });
});
