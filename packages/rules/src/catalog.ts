import type { RuleDoc } from './types.js';

/**
 * Version of the rule set and its allow/deny lists. It goes into every report so a result can be
 * cached by (file SHA-256, versions); bump it whenever a list or a rule changes.
 */
export const RULESET_VERSION = '2026.12.2';

const SAFETENSORS =
  'Prefer a data-only format: convert the weights to safetensors (or load with torch.load(weights_only=True), which refuses every import outside its allowlist).';
const VERIFY = 'Only load it if you trust and have verified where it came from.';

/** Every rule brine can report, in a stable order. Ids never change meaning. */
export const rules: readonly RuleDoc[] = [
  {
    id: 'BRINE-IMP-001',
    name: 'dangerous-import',
    title: 'Pickle imports a callable that runs commands, code, I/O or another loader',
    severity: 'critical',
    explanation:
      'Unpickling resolves every GLOBAL/STACK_GLOBAL/INST with find_class and lets REDUCE, NEWOBJ, OBJ and BUILD call the result with arguments from the file. This import is on the union of every public denylist and gadget list (command execution, code evaluation, nested deserialisation, file system, network, reflection trampolines, debugger and profiler runners, download-or-load helpers of the big ML libraries). It is dangerous even when the file does not call it directly: functools.partial, map, defaultdict, BUILD or another callable can call it later.',
    remediation: `Do not load this file. ${SAFETENSORS} ${VERIFY}`,
    references: [
      'GHSA-vvpj-8cmc-gx39',
      'GHSA-655q-fx9r-782v',
      'CVE-2025-1716',
      'CVE-2025-10157',
      'GHSA-4675-36f9-wf6r',
      'GHSA-84r2-jw7c-4r5q',
      'https://docs.python.org/3/library/pickle.html#restricting-globals',
    ],
    tags: ['security', 'pickle', 'code-execution'],
  },
  {
    id: 'BRINE-IMP-002',
    name: 'gadget-surface-import',
    title: 'Unlisted callable from the gadget surface (standard library, torch, NumPy)',
    severity: 'high',
    explanation:
      'The standard library, torch and NumPy are installed wherever a model is loaded, and every scanner that relied on a denylist of their callables was bypassed by one more gadget (about 60 advisories since 2025: profilers, idlelib, lib2to3, collect_env, f2py, asyncio submodules...). brine classifies these packages name by name (a generated, reviewed classification: pure computation and data construction are known, file system, process, network, import/loading, code evaluation, reflection, memory, debugger/profiler and security-tool tampering are dangerous with a family) and fails any import it has not reviewed, whether or not anyone has published it as a gadget yet.',
    remediation: `Check what this callable does when called with the arguments shown. ${SAFETENSORS} If the import is legitimate, report it so it can be added to the known list.`,
    references: ['GHSA-9w88-8rmg-7g2p', 'GHSA-r8g5-cgf2-4m4m', 'GHSA-g38g-8gr9-h9xp', 'GHSA-6ggj-6f2q-f7mx'],
    tags: ['security', 'pickle', 'allowlist'],
  },
  {
    id: 'BRINE-IMP-003',
    name: 'unknown-import',
    title: 'Import of a class or function brine does not know',
    severity: 'medium',
    explanation:
      "The pickle imports something from a package outside the standard library, torch and NumPy that is on neither the safe nor the known list. Usually this is the author's own model class in a whole-object save; loading it runs that package's code (its __reduce__, __setstate__ or constructor) with arguments from the file, so trust in the file is trust in that package.",
    remediation: `Save a state_dict instead of the whole object, or allow the class in a policy file once you have checked it. ${SAFETENSORS}`,
    references: ['https://pytorch.org/docs/stable/notes/serialization.html'],
    tags: ['security', 'pickle', 'allowlist'],
  },
  {
    id: 'BRINE-IMP-004',
    name: 'known-import',
    title: 'Framework class or stdlib data type (whole-object save)',
    severity: 'info',
    explanation:
      'The pickle imports a class that legitimate whole-object saves contain: torch.nn modules, optimizers, scikit-learn estimators, trainer argument classes, ultralytics modules, or an ordinary stdlib data type (datetime, decimal, pathlib paths, uuid, enum, deque...). Allowed by the default policy; torch.load(weights_only=True) and the weights-only policy refuse it.',
    remediation:
      'Nothing to do under the default policy. To load with weights_only=True, save a state_dict instead.',
    references: ['https://pytorch.org/docs/stable/generated/torch.load.html'],
    tags: ['pickle', 'allowlist'],
  },
  {
    id: 'BRINE-IMP-005',
    name: 'unresolved-import',
    title: 'STACK_GLOBAL with a module or name that is not a plain string',
    severity: 'critical',
    explanation:
      'A STACK_GLOBAL took its module or name from something other than a string literal: a memo slot that was never filled, an int, or the result of a call. Scanners that guessed the operand from nearby opcodes were bypassed this way (memo confusion, computed names built with BUILD on a module). What the unpickler imports cannot be known statically, so it is treated as dangerous.',
    remediation: `Do not load this file. ${VERIFY}`,
    references: ['mmaitre314/picklescan#22', 'GHSA-9gvj-pp9x-gcfr', 'ModelAudit #518'],
    tags: ['security', 'pickle', 'evasion'],
  },
  {
    id: 'BRINE-IMP-006',
    name: 'policy-denied-import',
    title: 'Import denied by the policy in force',
    severity: 'high',
    explanation: 'The policy file lists this import (or its module) in "deny".',
    remediation: 'Remove the import from the file, or change the policy if the entry is wrong.',
    references: [],
    tags: ['security', 'pickle', 'policy'],
  },
  {
    id: 'BRINE-IMP-007',
    name: 'evidence-cleared-import',
    title: 'Gadget used only to construct data, proven by the call evidence',
    severity: 'info',
    explanation:
      "A few callables are gadgets in general but the standard library and torch themselves pickle ordinary objects through them. brine clears one only when every use in the stream has the exact data shape below, its arguments are literals or known data classes (nothing computed while loading), and no evidence was cut short; otherwise it keeps its usual verdict. The shapes: (1) getattr(<known class>, '<reconstructor>') called with literals, e.g. every ZoneInfo pickles as getattr(zoneinfo.ZoneInfo, '_unpickle')('UTC', 1); (2) getattr(<known enum class>, '<member>') never called, e.g. getattr(re.RegexFlag, 'IGNORECASE'); (3) getattr(<framework object>, '<method>') never called, e.g. OneCycleLR's stored bound method; (4) type(<literal or known data object>), e.g. type(None); (5) pure builtins on literals, e.g. len([1, 2]); (6) functools.partial(<known callable>, <literals>) with BUILD state of the same shape and a result never called, e.g. FunctionTransformer(partial(numpy.clip, a_min=0, a_max=1)); (7) torch.storage._load_from_bytes(<bytes>) when the bytes were scanned as a pickle stream of their own, as pickle.dumps(tensor) writes. A call of a computed callable, getattr on a module or on a non-reconstructor attribute, type() with three arguments, and a partial of an unlisted callable all stay dangerous.",
    remediation:
      'Nothing to do under the default policy. torch.load(weights_only=True) and the weights-only policy still refuse these imports.',
    references: ['https://docs.python.org/3/library/pickle.html#object.__reduce__'],
    tags: ['pickle', 'allowlist', 'evidence'],
  },
  {
    id: 'BRINE-PKL-001',
    name: 'extension-registry-import',
    title: 'EXT1/EXT2/EXT4 import through the copyreg extension registry',
    severity: 'critical',
    explanation:
      "EXT opcodes import a global by number through copyreg's extension registry, with no GLOBAL opcode for a scanner to see. The registry is empty unless something (another pickle, a library) filled it, so a legitimate model never needs it; what the code resolves to depends on the loading process.",
    remediation: `Do not load this file. ${SAFETENSORS}`,
    references: ['ModelAudit #623', 'https://docs.python.org/3/library/copyreg.html'],
    tags: ['security', 'pickle', 'evasion'],
  },
  {
    id: 'BRINE-PKL-002',
    name: 'persistent-id',
    title: "Persistent id outside torch's storage convention",
    severity: 'medium',
    explanation:
      "PERSID/BINPERSID hands a value to the loader's persistent_load. torch.save writes exactly ('storage', <storage class>, key, location, numel); anything else is handled by whatever persistent_load the loading code installed, which brine cannot see.",
    remediation: `Check which loader reads this file and what its persistent_load does. ${SAFETENSORS}`,
    references: ['https://docs.python.org/3/library/pickle.html#persistence-of-external-objects'],
    tags: ['security', 'pickle'],
  },
  {
    id: 'BRINE-PKL-003',
    name: 'build-on-global',
    title: 'BUILD sets state on a module, class or function (monkey-patching)',
    severity: 'critical',
    explanation:
      "BUILD calls setattr on its target for slot state. Aimed at an imported module, class or function instead of a freshly built instance, it rewrites that global for the rest of the process: an allowlisted callable such as torch._utils._rebuild_tensor or numpy.size can be turned into a gadget that returns eval. torch's weights_only unpickler refuses BUILD on anything but tensors, parameters and allowlisted instances.",
    remediation: `Do not load this file. ${VERIFY}`,
    references: ['protectai/modelscan#330', 'picklescan sys_module_override_sploit'],
    tags: ['security', 'pickle', 'evasion'],
  },
  {
    id: 'BRINE-PKL-004',
    name: 'build-on-non-instance',
    title: 'BUILD on a literal value',
    severity: 'medium',
    explanation:
      'BUILD targets a value that no pickler produces as a BUILD target (a string, number, tuple, dict...). The unpickler either fails or runs unusual setstate paths; no legitimate writer emits it.',
    remediation: `Treat the file as tampered. ${VERIFY}`,
    references: ['torch/_weights_only_unpickler.py'],
    tags: ['security', 'pickle', 'malformed'],
  },
  {
    id: 'BRINE-PKL-005',
    name: 'call-on-non-callable',
    title: 'REDUCE/NEWOBJ applied to a literal value',
    severity: 'medium',
    explanation:
      'A call opcode applies a literal (string, number, container) as if it were callable. Loading fails, usually after earlier opcodes have already run; no legitimate writer emits it.',
    remediation: `Treat the file as tampered. ${VERIFY}`,
    references: ['https://github.com/python/cpython/blob/main/Lib/pickletools.py'],
    tags: ['security', 'pickle', 'malformed'],
  },
  {
    id: 'BRINE-PKL-006',
    name: 'indirect-call',
    title: 'Call of a value returned by another call',
    severity: 'high',
    explanation:
      'REDUCE applies the result of an earlier call (getattr(...), pkgutil.resolve_name(...), an operator.methodcaller instance...) instead of an imported global. This is how trampolines reach blocked callables without naming them; picklers only ever call imported globals.',
    remediation: `Do not load this file. ${VERIFY}`,
    references: ['GHSA-vvpj-8cmc-gx39', 'GHSA-84r2-jw7c-4r5q', 'CVE-2026-22612'],
    tags: ['security', 'pickle', 'evasion'],
  },
  {
    id: 'BRINE-PKL-007',
    name: 'nested-pickle',
    title: 'A loader is called on bytes embedded in the file',
    severity: 'critical',
    explanation:
      'The pickle calls a deserialiser (pickle.loads, torch.load, marshal.loads, a ConfigModule/Grammar loader...) on a bytes or string literal it carries. Whatever that inner payload imports runs too; brine scans such embedded pickles as separate streams and reports their imports.',
    remediation: `Do not load this file. ${VERIFY}`,
    references: [
      'protectai/modelscan#267',
      'GHSA-h3qp-7fh3-f8h4',
      'GHSA-vv6j-3g6g-2pvj',
      'GHSA-f54q-57x4-jg88',
    ],
    tags: ['security', 'pickle', 'code-execution'],
  },
  {
    id: 'BRINE-PKL-008',
    name: 'broken-after-call',
    title: 'Stream breaks after a call ran (nullifAI shape)',
    severity: 'high',
    explanation:
      'The pickle stream stops being valid after it has already imported and called something. Loaders execute opcodes as they read them, so the payload runs before the error, while scanners that drop a stream on a parse error report nothing. This is the nullifAI technique found on Hugging Face in 2025.',
    remediation: `Do not load this file. ${VERIFY}`,
    references: ['nullifAI (ReversingLabs, 2025)', 'mmaitre314/picklescan#33'],
    tags: ['security', 'pickle', 'evasion'],
  },
  {
    id: 'BRINE-PKL-009',
    name: 'frame-tampering',
    title: 'Opcode crosses a FRAME boundary or a frame is malformed',
    severity: 'high',
    explanation:
      'Protocol 4+ FRAME opcodes announce how many bytes the next opcodes occupy. When an opcode straddles a frame end, a linear reader (pickletools, most scanners) and the C unpickler reading a file with frame buffering see different opcodes, which hides a GLOBAL/REDUCE from scanners. pickle.dumps never writes such frames.',
    remediation: `Treat the file as tampered. ${VERIFY}`,
    references: ['python/cpython#154848', 'fickling 99464b5'],
    tags: ['security', 'pickle', 'evasion'],
  },
  {
    id: 'BRINE-PKL-010',
    name: 'malformed-pickle',
    title: 'Pickle that the unpickler would reject or that no writer produces',
    severity: 'low',
    explanation:
      'The opcode stream has a structural oddity: a misplaced or repeated PROTO, an opcode above the declared protocol, a memo read of an empty slot, a stack left non-empty at STOP, trailing bytes. Scanners and loaders disagree most often on such inputs.',
    remediation: `Regenerate the file with a standard writer. ${VERIFY}`,
    references: ['fickling MisplacedProtoAnalysis', 'mmaitre314/picklescan#26'],
    tags: ['pickle', 'malformed'],
  },
  {
    id: 'BRINE-PKL-011',
    name: 'embedded-pickle',
    title: 'Bytes or string literal holding a pickle',
    severity: 'info',
    explanation:
      'A bytes/string literal in the pickle starts like a pickle. brine scanned it as a separate stream; it only runs if some loader is called on it.',
    remediation: 'See the findings for the embedded stream.',
    references: ['protectai/modelscan#267'],
    tags: ['pickle'],
  },
  {
    id: 'BRINE-CTR-001',
    name: 'container-anomaly',
    title: 'Container structure that loaders and scanners read differently',
    severity: 'medium',
    explanation:
      "The archive around the pickle has a property that made scanners skip members torch still loads: a CRC mismatch, a local header name that differs from the central directory, encryption/patch flag bits, a file that is both a pickle and a zip, a member name that hides its format. torch's zip reader ignores all of these.",
    remediation: `Re-save the model with a standard writer. ${VERIFY}`,
    references: ['CVE-2025-1944', 'CVE-2025-1945', 'CVE-2025-10156', 'CVE-2025-1889'],
    tags: ['security', 'container', 'evasion'],
  },
  {
    id: 'BRINE-CTR-002',
    name: 'torchscript-host-access',
    title: 'TorchScript code calls an operator that reaches the host',
    severity: 'critical',
    explanation:
      "A TorchScript archive carries source under code/ (and, for the lite interpreter, an operator table in bytecode.pkl) that torch.jit.load compiles and runs; a scripted __setstate__ runs during the load itself. brine reads that code as torch's importer does: torch.<name> is the registered operator aten::<name>, ops.<ns>.<name> is <ns>::<name>, <value>.<name>() a method of the archive's classes or a builtin operator, strings and comments are data. Each operator is judged against a classification generated from torch's own operator registry: tensor math and language primitives are fine; operators that map or read files (aten::from_file, shared=True maps the file writable), write files (aten::save), talk to other processes (c10d::*, prim::rpc_*) or call back into Python are dangerous. A name torch's importer cannot resolve (os.system, eval) is reported here too. The finding names the file, the function, the line and the operator.",
    remediation: `Do not load this archive with torch.jit.load or torch.load. Re-export the model from trusted source code. ${VERIFY}`,
    references: [
      'https://pytorch.org/docs/stable/jit.html',
      'https://pytorch.org/docs/stable/generated/torch.from_file.html',
    ],
    tags: ['security', 'torchscript', 'code-execution'],
  },
  {
    id: 'BRINE-CTR-003',
    name: 'torchscript-unlisted-operator',
    title: 'TorchScript code calls an operator torch does not register',
    severity: 'high',
    explanation:
      "The TorchScript code (or the mobile bytecode operator table) calls an operator, method or torch.classes class that is not in the registry of the torch release brine's classification was generated from. Operators of other namespaces exist only after a native library registering them was loaded (torch.ops.load_library), which runs that library's code: brine cannot see what such an operator does, so it is dangerous and fails the default policy. An unknown operator of torch's own namespaces (aten, prim, quantized...) is most likely one a newer torch added: it is suspicious (fails the strict policy) unless its name suggests files, processes, libraries or the network.",
    remediation: `Check where the operator comes from. If the library is yours and trusted, waive the finding for this file. ${VERIFY}`,
    references: ['https://pytorch.org/tutorials/advanced/torch_script_custom_ops.html'],
    tags: ['security', 'torchscript'],
  },
  {
    id: 'BRINE-CTR-004',
    name: 'torch-package-host-access',
    title: 'torch.package source reaches the host',
    severity: 'critical',
    explanation:
      'A torch.package archive (PackageExporter) carries Python modules that PackageImporter imports, running their top-level code, as soon as a pickle in the archive names one of their classes; extern modules are imported from the loading machine. brine reads the packaged source (imports with their aliases, calls, statements that run at import) and reports a packaged module that imports or calls something reaching the host (os, subprocess, eval/exec, open, importlib, network...) and every extern module that gives such access. The finding names the module, the line and the call.',
    remediation: `Do not import this package with torch.package.PackageImporter. Re-export the model from trusted source code. ${VERIFY}`,
    references: ['https://pytorch.org/docs/stable/package.html'],
    tags: ['security', 'torch-package', 'code-execution'],
  },
  {
    id: 'BRINE-CTR-005',
    name: 'torch-package-code-on-load',
    title: 'torch.package module runs code when imported',
    severity: 'medium',
    explanation:
      'A packaged module runs statements other than definitions, imports and plain assignments when PackageImporter imports it (a call, a loop, a decorator), or the archive imports a module from the host that is neither the standard library, torch nor NumPy. Nothing found reaches the host, but the code runs on load: the default policy reports it, the strict policy fails it.',
    remediation: `Review the named lines. ${VERIFY}`,
    references: ['https://pytorch.org/docs/stable/package.html'],
    tags: ['torch-package'],
  },
  {
    id: 'BRINE-SCAN-001',
    name: 'incomplete-scan',
    title: 'Part of the file could not be scanned',
    severity: 'high',
    explanation:
      'brine could not read all of the file (broken or truncated stream, a resource limit, an unsupported or encrypted container, an unrecognised format). A file that was not fully scanned is never reported clean: loaders may still execute the parts brine could not see.',
    remediation: `Re-download or re-save the file and scan again. ${VERIFY}`,
    references: ['mmaitre314/picklescan#18', 'invoke-ai/InvokeAI#7381'],
    tags: ['security', 'fail-closed'],
  },
];

const byId = new Map(rules.map((r) => [r.id, r]));

/** The documentation of one rule, by id (`BRINE-IMP-001`) or name (`dangerous-import`). */
export function getRule(id: string): RuleDoc | undefined {
  return byId.get(id) ?? rules.find((r) => r.name === id);
}
