#!/usr/bin/python3
"""Classifies every operator registered in torch's JIT registry by what it does, for TorchScript code.

Run with Debian's python (python3-torch):
    /usr/bin/python3 packages/rules/scripts/torchscript-operators.py > packages/rules/src/data/torchscript-operators.ts
    npx biome format --write packages/rules/src/data/torchscript-operators.ts

It reads `torch._C._jit_get_all_schemas()` (every operator TorchScript code and the lite interpreter can
call: `torch.<name>` is `aten::<name>`, `ops.<ns>.<name>` is `<ns>::<name>`) and
`torch._C._jit_get_custom_class_schemas()` (methods of C++ classes registered with torch, reached as
`__torch__.torch.classes.<ns>.<Class>`). Nothing is loaded or run.

Every operator gets a class. The default class comes from its namespace (NAMESPACES below, each with its
reason); the operators that reach the host are listed by name in DANGEROUS with a family. So that a new
torch release cannot slip a host-reaching operator in unnoticed, the script stops when:
  - a namespace is not in NAMESPACES (a human must decide what it is), or
  - an operator takes a string argument whose name suggests a path, URL, library or command and it is
    neither DANGEROUS nor in REVIEWED_STRING_ARGS with a reason.
Operators that are not in the output are judged "unlisted" by brine (BRINE-CTR-003): those of other
namespaces (registered by a native library) fail the default policy; unknown names in torch's own
namespaces (a newer torch's operators) are suspicious unless the name suggests host access.
"""
import re
import sys
from collections import defaultdict

import torch

# namespace -> (class, why operators of this namespace are fine)
NAMESPACES = {
    "aten": ("compute", "ATen tensor operators: math on tensors, shapes, dtypes, and TorchScript's builtins on ints, floats, strings, lists and dicts"),
    "prims": ("compute", "primitive tensor operators that ATen decomposes into"),
    "nvprims": ("compute", "nvFuser primitive tensor operators"),
    "quantized": ("compute", "quantized tensor kernels"),
    "_quantized": ("compute", "quantized tensor kernels"),
    "quantization": ("compute", "quantization helpers on tensors"),
    "sparse": ("compute", "sparse quantized linear kernels"),
    "prepacked": ("compute", "XNNPACK prepacked convolution/linear kernels"),
    "mkldnn_prepacked": ("compute", "oneDNN prepacked convolution kernels"),
    "static_runtime": ("compute", "Static Runtime's fused tensor kernels"),
    "onnx": ("compute", "ONNX shape helpers on tensors"),
    "_test": ("compute", "torch's own test operators (cat, leaky_relu, get_first on tensors)"),
    "prim": ("language", "TorchScript language primitives: control flow, tuples, lists, attribute access, type checks, exceptions, printing"),
    "profiler": ("language", "record_function markers for the profiler; they time code, touching nothing outside the process"),
    "c10d": ("network", "collective communication (send, recv, allreduce, broadcast...) with other processes over a process group"),
}

# operator name -> (family, why it reaches the host)
DANGEROUS = {
    "aten::from_file": ("memory-mapping", "maps or reads any host file into a tensor (shared=True maps it writable: writes to the tensor write the file)"),
    "aten::save": ("file-system", "writes a pickle of any value to any host path"),
    "prim::rpc_async": ("network", "calls a function on another process through torch.distributed.rpc"),
    "prim::rpc_sync": ("network", "calls a function on another process through torch.distributed.rpc"),
    "prim::rpc_remote": ("network", "creates an object on another process through torch.distributed.rpc"),
    "prim::PythonOp": ("python-callback", "calls a Python function from TorchScript: whatever Python the loading process can reach"),
    "prim::IgnoredPythonOp": ("python-callback", "stands for a @torch.jit.ignore'd Python function: runs Python when the archive is loaded in a process that has it"),
}

# string arguments whose names look like paths/commands, reviewed as harmless
REVIEWED_STRING_ARGS = {
    "profiler::_record_function_enter": "name is the label of a profiler range",
    "profiler::_record_function_enter_new": "name is the label of a profiler range",
    "aten::_linalg_check_errors": "api_name is the function named in the error message",
}
SUSPECT_ARG = re.compile(r"file|path|dir|url|uri|host|addr|port|lib|command|cmd|module", re.I)

# Class reasons shown in reports and by `brine explain`.
CLASS_REASONS = {
    "compute": "pure tensor computation",
    "language": "TorchScript language primitive",
    "memory-mapping": "maps host files into memory",
    "file-system": "reads or writes host files",
    "network": "talks to other processes or machines",
    "python-callback": "calls back into Python",
}
FINE = {"compute", "language"}


def main():
    schemas = torch._C._jit_get_all_schemas()
    ops = {}
    problems = []
    for s in schemas:
        name = s.name
        ns = name.split("::")[0]
        if ns not in NAMESPACES:
            problems.append(f"namespace {ns!r} ({name}) is not reviewed: add it to NAMESPACES")
            continue
        cls = DANGEROUS[name][0] if name in DANGEROUS else NAMESPACES[ns][0]
        for a in s.arguments:
            if "str" in str(a.type) and SUSPECT_ARG.search(a.name) and name not in DANGEROUS and name not in REVIEWED_STRING_ARGS:
                problems.append(f"{s}: string argument {a.name!r} looks like a path/URL/command: review it")
        ops[name] = cls
    for name in DANGEROUS:
        if name not in ops:
            print(f"note: {name} is not registered in this torch", file=sys.stderr)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)

    classes = set()
    methods = set()
    for s in torch._C._jit_get_custom_class_schemas():
        text = str(s)
        m = re.search(r"__torch__\.torch\.classes\.(\w+)\.(\w+)", text)
        if m:
            classes.add(f"{m.group(1)}::{m.group(2)}")
        methods.add(s.name)

    by = defaultdict(list)
    for name, cls in ops.items():
        ns, op = name.split("::", 1)
        by[(cls, ns)].append(op)

    out = []
    out.append("// Generated by packages/rules/scripts/torchscript-operators.py from Debian's torch; do not edit.")
    out.append(f"// torch {torch.__version__}: {len(schemas)} schemas, {len(ops)} operator names, {len(classes)} custom classes.")
    out.append("")
    out.append(f"/** Version of torch whose registry this table was generated from. */")
    out.append(f"export const TORCHSCRIPT_REGISTRY_TORCH = {torch.__version__!r};")
    out.append("")
    out.append("/** What each class of operator does, and whether TorchScript code may call it. */")
    out.append("export const OPERATOR_CLASSES: Record<string, { fine: boolean; reason: string }> = {")
    for c, r in CLASS_REASONS.items():
        out.append(f"  {c!r}: {{ fine: {'true' if c in FINE else 'false'}, reason: {r!r} }},")
    out.append("};")
    out.append("")
    out.append("/** Why each namespace's operators get their class (reviewed). */")
    out.append("export const NAMESPACE_REASONS: Record<string, string> = {")
    for ns, (_c, r) in sorted(NAMESPACES.items()):
        out.append(f"  {ns!r}: {r!r},")
    out.append("};")
    out.append("")
    out.append("/** Operators that reach the host, with why (reviewed). */")
    out.append("export const DANGEROUS_OPERATOR_REASONS: Record<string, string> = {")
    for name, (_f, r) in sorted(DANGEROUS.items()):
        out.append(f"  {name!r}: {r!r},")
    out.append("};")
    out.append("")
    out.append("/** `<class> <namespace> <operator names...>`, one line per class and namespace. */")
    out.append("export const OPERATOR_TABLE = `")
    for (cls, ns) in sorted(by):
        names = sorted(by[(cls, ns)])
        # wrap long lines: each continuation repeats class and namespace
        for i in range(0, len(names), 12):
            out.append(f"{cls} {ns} {' '.join(names[i:i + 12])}")
    out.append("`;")
    out.append("")
    out.append("/** C++ classes registered with torch (`__torch__.torch.classes.<ns>.<Class>`), as `<ns>::<Class>`. */")
    out.append("export const CUSTOM_CLASSES: readonly string[] = [")
    for c in sorted(classes):
        out.append(f"  {c!r},")
    out.append("];")
    out.append("")
    out.append("/** Method names of those classes (`packed.unpack()`): judged as the class is. */")
    out.append("export const CUSTOM_CLASS_METHODS: readonly string[] = [")
    for m in sorted(methods):
        out.append(f"  {m!r},")
    out.append("];")
    print("\n".join(out))


if __name__ == "__main__":
    main()
