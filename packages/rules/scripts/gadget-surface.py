#!/usr/bin/python3
"""Classifies the gadget surface: every public module-level callable and class of the standard library,
torch and NumPy (and the scikit-learn / pandas / scipy / pytz names that real pickles of those libraries
reference), by what calling or constructing it can do.

Run with Debian's python (python3-torch, python3-numpy, python3-sklearn, python3-pandas, python3-scipy):

    /usr/bin/python3 packages/rules/scripts/gadget-surface.py > packages/rules/src/data/gadget-surface.ts
    npx biome format --write packages/rules/src/data/gadget-surface.ts

It imports the libraries to look at their objects (type, signature, base classes); it never loads a
pickle. The pickled names of the other libraries are read from fixtures/realworld with
pickletools.genops, which only parses bytes.

The decision is made per *entry class*: a reviewed rule with one line of reason, listed in CLASSES below
and copied into the output. A name goes to the first class whose rule matches it. The order is
deliberate: danger first (the hand-kept denylist, then capabilities recognised by name or signature),
then the data-only and pure-computation classes. A name no class matches stays *unreviewed*, which
brine treats exactly as before this list existed: an unlisted name from the gadget surface fails the
default policy (fail closed).
"""
import builtins
import enum
import importlib
import inspect
import io
import os
import pickletools
import pkgutil
import re
import sys
import types
import warnings
import zipfile

warnings.simplefilter("ignore")
# Some modules print when imported ("I made it!"): only the generated file goes to the real stdout.
OUT = sys.stdout
sys.stdout = sys.stderr

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
DENYLIST_TS = os.path.join(HERE, "..", "src", "data", "denylist.ts")
CORPUS = os.path.join(REPO, "fixtures", "realworld")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.fx import GraphModule  # noqa: E402

# Modules whose import has side effects (opens a browser, prints, starts Tk) or that only exist for
# tests/IDEs: never imported here. Their names are dangerous or unreviewed by their module.
NEVER_IMPORT = {"antigravity", "this", "__hello__", "__phello__", "idlelib", "turtledemo", "tkinter", "turtle", "test", "lib2to3", "pydoc_data", "ensurepip", "__main__", "_tkinter"}
TORCH_SKIP = ("backends._nnapi", "_prims", "testing._internal", "utils.benchmark", "tensorboard", "_inductor", "contrib", "bottleneck", "__main__", "onnx")


# ------------------------------------------------------------------------------------------ denylist
def read_denylist():
    """(module, name) -> family and module -> family (wildcards) from denylist.ts, the hand-kept list."""
    text = open(DENYLIST_TS).read()
    exact, wild = {}, {}
    body = text.split("DANGEROUS_FAMILIES")[1].split("DANGEROUS_ATTRIBUTES")[0]
    for m in re.finditer(r"'?([\w-]+)'?: `([^`]*)`", body):
        family = m.group(1)
        for line in m.group(2).strip().splitlines():
            words = line.split()
            if not words:
                continue
            for n in words[1:]:
                if n == "*":
                    wild.setdefault(words[0], family)
                else:
                    exact.setdefault((words[0], n), family)
    return exact, wild


DENY_EXACT, DENY_WILD = read_denylist()


def wildcard_family(module):
    m = module
    while True:
        if m in DENY_WILD:
            return DENY_WILD[m]
        if "." not in m:
            return None
        m = m.rsplit(".", 1)[0]


# ------------------------------------------------------------------------------------------ rules
# Capabilities recognised by name (any library): word-boundary matches on the lower-cased name.
NAME_CAPABILITIES = [
    ("security-tooling", r"(^|_)(add_safe_globals|safe_globals|clear_safe_globals|weights_only|meta_path|addaudithook|audithook|unsafe_load|allow_pickle)($|_)"),
    ("command-execution", r"(^|_)(system|popen|spawn\w*|exec[lv]p?e?|subprocess|shell|check_output|check_call|getoutput|run_command|startfile|fork)($|_)"),
    ("code-evaluation", r"(^|_)(eval|exec|execfile|compile|run_path|run_module|runsource|runcode|script|load_inline|codegen|jit)($|_)"),
    ("import-loading", r"(^|_)(import|import_module|__import__|load_library|load_extension|dlopen|cdll|find_spec|load_source|load_module|reload|add_newdoc\w*|add_docstring)($|_)"),
    ("nested-deserialisation", r"(^|_)(load|loads|load_state_dict_from_url|unpickler|deserialize|deserialise)($|_)"),
    ("network", r"(^|_)(url\w*|urlopen|http\w*|download\w*|upload|socket|request\w*|fetch|hub|remote|rpc|datasource)($|_)"),
    ("file-system", r"(file|path|(^|_)(open|save\w*|dump|dumps|tofile|fromfile|from_file|to_file|memmap|mmap|read_\w+|write_\w*|loadtxt|genfromtxt|fromregex|savetxt|unlink|remove|rmtree|rmdir|mkdir|makedirs|rename|chmod|chown|symlink|copyfile|copytree|tempfile|mkstemp|mkdtemp)($|_))"),
    ("memory", r"(^|_)(ctypes|from_address|as_strided|memmove|memset|addressof|from_pointer|pointer|from_dlpack|dlpack|cast_to_pointer|_from_buffer_address)($|_)"),
    ("debugger-profiler", r"(^|_)(profile\w*|profiler|pdb|breakpoint|settrace|setprofile|set_trace|trace|tracer|debug\w*)($|_)"),
    ("reflection", r"^(getattr|setattr|delattr|attrgetter|methodcaller|itemgetter|globals|locals|vars|get_overridable_functions|resolve_name|locate|reduce|array_function_dispatch|array_function_from_c_func_and_dispatcher)$|torch_function"),
    ("code-evaluation", r"^(test|configuration|run_module_suite|assert_\w*|build_err_msg)$"),
    ("process-state", r"^(set_\w+|seed|manual_seed|manual_seed_all|use_deterministic_algorithms|setbufsize|seterr\w*|set_printoptions|register_\w+|setlocale|putenv|chdir|umask|signal|atexit\w*)$"),
]
NAME_RULES = [(family, re.compile(rx)) for family, rx in NAME_CAPABILITIES]

# Parameters whose presence (required, no default) means the callable exists to call its argument.
CALLABLE_PARAMS = {"func", "function", "fn", "pyfunc", "callback", "callable", "f", "hook", "func1d", "fget", "target", "factory", "default_factory", "loader"}

# NumPy functions that are not array computation: documentation lookups that import modules by name,
# printing to a file object, building ufuncs from Python callables, decorators.
NUMPY_NOT_COMPUTATION = {"info", "source", "lookfor", "who", "show_config", "show_runtime", "get_include", "deprecate", "deprecate_with_doc", "byte_bounds", "safe_eval", "disp", "frompyfunc", "piecewise", "vectorize", "set_string_function", "add_newdoc_ufunc", "get_array_wrap", "get_array_prepare"}
# Builtin types whose construction makes plain data (iterator types such as zip/map stay out: lazy calls).
BUILTIN_DATA = {"bool", "bytearray", "bytes", "complex", "dict", "float", "frozenset", "int", "list", "object", "range", "set", "slice", "str", "tuple", "NoneType", "ellipsis", "NotImplementedType", "memoryview"} - {"memoryview"}
# Modules of STDLIB_VALUE_MODULES where only some classes are data.
STDLIB_ONLY = {"argparse": {"Namespace"}, "abc": set(), "calendar": {"Calendar", "TextCalendar", "HTMLCalendar"}, "_json": set(), "json": set(), "dataclasses": {"Field", "InitVar"}, "string": set(), "enum": {"Enum", "IntEnum", "Flag", "IntFlag", "StrEnum", "ReprEnum", "EnumCheck", "FlagBoundary", "auto"}}
STDLIB_VALUE_MODULES = {
    "datetime", "decimal", "fractions", "numbers", "ipaddress", "zoneinfo", "collections", "collections.abc",
    "array", "time", "calendar", "enum", "uuid", "pathlib", "re", "string", "types", "argparse", "typing",
    "dataclasses", "__future__", "builtins", "_datetime", "_decimal", "_pydecimal", "_collections", "_collections_abc",
    "_pydatetime", "_strptime", "email.headerregistry", "json", "reprlib", "textwrap", "difflib", "graphlib",
    "random", "copyreg", "abc", "http", "locale", "_sre", "sre_constants", "unicodedata", "_struct", "struct",
    "heapq", "bisect", "math", "cmath", "statistics", "colorsys", "base64", "binascii", "zlib", "hashlib",
    "hmac", "secrets", "_random", "_bisect", "_heapq", "_json", "_string", "_stat", "stat", "keyword",
}
# Pure functions of the stdlib: computing on their arguments only.
STDLIB_PURE_FUNCTION_MODULES = {"math", "cmath", "statistics", "colorsys", "base64", "binascii", "zlib", "hashlib", "struct", "_struct", "unicodedata", "bisect", "_bisect", "heapq", "_heapq", "textwrap", "difflib", "keyword", "stat", "_stat"}
# Known ML-library modules whose classes are the library's data model (arrays, dtypes, indexes, estimators).
FRAMEWORK_TOPS = {"sklearn", "pandas", "scipy", "pytz", "joblib"}
# Reconstructors a class's __reduce__ names as `Class.attr` (protocol 4) or getattr(Class, 'attr').
RECONSTRUCTOR_ATTRS = {"_unpickle", "_reconstruct", "_from_state", "_new"}

CLASSES = [
    # id, tier, family, reason
    ("denylist", "dangerous", None, "on the hand-kept denylist of published gadgets (denylist.ts); the family comes from there"),
    ("denylisted-origin", "dangerous", None, "re-export of a denylisted callable under another module's name (numpy.lib.arrayterator.reduce is functools.reduce)"),
    ("security-tooling", "dangerous", "security-tooling", "reconfigures or extends a loader's or scanner's protection (torch weights_only allowlist, import hooks, audit hooks)"),
    ("capability-by-name", "dangerous", None, "its name says it runs commands or code, loads or imports, opens files or sockets, maps memory, traces, or changes process-wide settings"),
    ("calls-its-argument", "dangerous", "reflection", "exists to call a callable it is given (a trampoline for whatever the pickle passes)"),
    ("code-generating-module", "dangerous", "code-evaluation", "torch.fx GraphModule subclass: constructing one generates Python source from its graph and executes it"),
    ("numpy-memory", "dangerous", "memory", "reads or aliases raw memory (ctypes, strides, buffers by address)"),
    ("torch-weights-only", "safe", None, "accepted by torch.load(weights_only=True) (torch/_weights_only_unpickler.py _get_allowed_globals)"),
    ("numpy-ufunc", "known", None, "NumPy ufunc: elementwise arithmetic on the arrays it is given, no I/O"),
    ("numpy-scalar-or-dtype", "known", None, "NumPy scalar type or dtype class: constructing one makes a number or a dtype"),
    ("ndarray-subclass", "known", None, "ndarray subclass (matrix, recarray, chararray, masked array): array data with extra views"),
    ("numpy-computation", "known", None, "NumPy function that builds or transforms arrays from its arguments (no file, memory-address or callable argument)"),
    ("torch-operator", "known", None, "torch tensor operator (ATen builtin or functional wrapper): computes on the tensors it is given"),
    ("torch-module-class", "known", None, "torch.nn.Module subclass: constructing one allocates parameters; forward is not called while loading"),
    ("torch-optim-class", "known", None, "optimizer or LR scheduler class: holds hyper-parameters and state tensors"),
    ("torch-distribution", "known", None, "torch.distributions Distribution/Transform/Constraint: parameters of a probability law"),
    ("torch-value-class", "known", None, "torch value type (dtype, device, layout, Size, finfo, hooks handle, quantization observer/qconfig): plain data"),
    ("exception-class", "known", None, "exception class: constructing one stores its arguments"),
    ("stdlib-value-type", "known", None, "standard-library value type (datetime, decimal, ipaddress, zoneinfo, collections, enum, pathlib pure paths, uuid, struct_time...): constructing one makes a value"),
    ("stdlib-pure-function", "known", None, "standard-library function that computes on its arguments only (math, hashing, encoding, bisect, difflib...)"),
    ("framework-data-class", "known", None, "class of scikit-learn/pandas/scipy/pytz's own data model, referenced by pickles those libraries write"),
    ("pickled-constant", "known", None, "module-level constant that a library pickles by reference (a singleton such as pandas.NA): not callable, so importing it runs nothing"),
    ("framework-reconstructor", "known", None, "reconstructor that a library's __reduce__ names (Cython __pyx_unpickle_*, _new_Index, _unpickle_*): rebuilds one of its own objects"),
]
CLASS_INFO = {c[0]: c for c in CLASSES}


def has_required_callable_param(obj):
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return False
    for name, p in sig.parameters.items():
        if name in CALLABLE_PARAMS and p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            return True
    return False


def name_capability(name):
    low = name.lower()
    for family, rx in NAME_RULES:
        if rx.search(low):
            return family
    return None


def torch_value_class(obj):
    if not inspect.isclass(obj):
        return False
    value_types = (torch.dtype, torch.device, torch.layout, torch.memory_format, torch.finfo, torch.iinfo, torch.Size)
    if issubclass(obj, value_types):
        return True
    mod = getattr(obj, "__module__", "") or ""
    return mod in ("torch.utils.hooks",) or mod.startswith(("torch.ao.quantization.observer", "torch.ao.quantization.fake_quantize", "torch.ao.quantization.qconfig"))


def origin_of(obj):
    """Where a re-exported object is defined (`numpy.lib.arrayterator.reduce` is functools.reduce)."""
    mod = getattr(obj, "__module__", None)
    qual = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    return (mod, qual) if isinstance(mod, str) and isinstance(qual, str) else (None, None)


TEST_MODULE = re.compile(r"(^|\.)(setup|testing|testutils|bench|timer_comparison|_\w*tests?|conftest)(\.|$)")


def classify(module, name, obj, top):
    """Returns (class id, family) or None (unreviewed)."""
    fam = DENY_EXACT.get((module, name)) or wildcard_family(module)
    if fam:
        return "denylist", fam
    if (module, name) in PICKLED and not callable(obj) and not inspect.ismodule(obj):
        return "pickled-constant", None
    omod, oname = origin_of(obj)
    if omod and omod != module:
        fam = DENY_EXACT.get((omod, oname)) or wildcard_family(omod)
        if fam:
            return "denylisted-origin", fam
    if TEST_MODULE.search(module):
        return None
    cap = name_capability(name)
    if cap == "security-tooling" or module.startswith(("torch.serialization", "torch._weights_only_unpickler")) and name in ("add_safe_globals", "safe_globals", "clear_safe_globals", "get_safe_globals"):
        return "security-tooling", "security-tooling"
    if f"{module}.{name}" in WEIGHTS_ONLY:
        return "torch-weights-only", None
    # Reconstructors of the libraries' own data are named like loaders (`_unpickle_block`): decided
    # before the name heuristics, and only for the modules real pickles reference.
    if (module, name) in PICKLED and top in FRAMEWORK_TOPS | {"numpy", "torch"} and re.search(r"(__pyx_unpickle_|^_?_?new_|unpickle|_reconstruct|^_rebuild)", name) and not inspect.isclass(obj):
        return "framework-reconstructor", None
    if cap:
        return "capability-by-name", cap
    callable_obj = callable(obj)
    if callable_obj and not inspect.isclass(obj) and has_required_callable_param(obj):
        return "calls-its-argument", "reflection"
    if top == "numpy":
        if module.startswith("numpy.lib.stride_tricks") or module.startswith("numpy.ctypeslib") or name in ("frombuffer", "from_dlpack", "byte_bounds"):
            if name != "frombuffer":
                return "numpy-memory", "memory"
        if isinstance(obj, np.ufunc):
            return "numpy-ufunc", None
        if inspect.isclass(obj) and (issubclass(obj, (np.generic, np.dtype))):
            return "numpy-scalar-or-dtype", None
        if inspect.isclass(obj) and issubclass(obj, np.ndarray) and obj is not np.memmap:
            return "ndarray-subclass", None
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            return "exception-class", None
        if callable_obj and not inspect.isclass(obj) and re.match(r"numpy(\.core|\.lib|\.linalg|\.fft|\.ma|\.polynomial|\.random|\.char|\.rec|\.emath|\.matrixlib)?(\.|$)", module) and name not in NUMPY_NOT_COMPUTATION:
            if not module.startswith(("numpy.lib.npyio", "numpy.lib.format", "numpy.lib.utils", "numpy.lib._datasource", "numpy.lib.mixins", "numpy.core._internal", "numpy.core.overrides", "numpy.core._ufunc_config", "numpy.core._methods", "numpy.core.arrayprint")):
                return "numpy-computation", None
        if inspect.isclass(obj) and module.startswith(("numpy.random", "numpy.polynomial", "numpy.ma")) and name[0].isupper():
            return "numpy-computation", None
        return None
    if top == "torch":
        if inspect.isclass(obj):
            if issubclass(obj, GraphModule):
                return "code-generating-module", "code-evaluation"
            if issubclass(obj, torch.nn.Module) and "Distributed" not in name and "DataParallel" not in name:
                return "torch-module-class", None
            if issubclass(obj, torch.optim.Optimizer) or module == "torch.optim.lr_scheduler" and name[0].isupper():
                return "torch-optim-class", None
            import torch.distributions as D

            if issubclass(obj, (D.Distribution, D.Transform, D.constraints.Constraint)):
                return "torch-distribution", None
            if torch_value_class(obj):
                return "torch-value-class", None
            if issubclass(obj, BaseException):
                return "exception-class", None
            return None
        if callable_obj and module in ("torch", "torch.functional", "torch.linalg", "torch.fft", "torch.special", "torch.nn.functional", "torch.nn.init") and not name.startswith("_"):
            # In torch's own namespace only the ATen operators (torch._C._VariableFunctions) and the
            # Python wrappers of torch.functional/torch.nn.functional count: torch also re-exports
            # TorchScript internals (import_ir_module, parse_ir, fork) there.
            origin = getattr(obj, "__module__", "") or ""
            if getattr(torch._C._VariableFunctions, name, None) is obj or origin in ("torch.functional", "torch.nn.functional", "torch.nn.init", "torch.linalg", "torch.fft", "torch.special", "torch._C._linalg", "torch._C._fft", "torch._C._special", "torch._C._nn"):
                return "torch-operator", None
        return None
    if top in FRAMEWORK_TOPS:
        if (module, name) in PICKLED and inspect.isclass(obj):
            if issubclass(obj, BaseException):
                return "exception-class", None
            return "framework-data-class", None
        if (module, name) in PICKLED and re.match(r"^_\w*(scorer|UTC|_p)$|^_p$|^_UTC$", name):
            return "framework-reconstructor", None
        return None
    # standard library
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            return "exception-class", None
        # Interpreter types re-exported under other names (collections.abc.FunctionType is the type of
        # functions: constructing one from a code object runs code) are only known by their data names.
        if origin_of(obj)[0] == "builtins" and origin_of(obj)[1] not in BUILTIN_DATA:
            return None
        if module in STDLIB_ONLY and name not in STDLIB_ONLY[module]:
            return None
        if module in STDLIB_VALUE_MODULES and not issubclass(obj, (type, io.IOBase)) and not module.startswith(("types",)):
            return "stdlib-value-type", None
        return None
    # Not pure computation: command-line entry points (base64.main reads files named in argv) and key
    # derivation, whose cost is a literal argument (a pickle could stall the loader for hours).
    if callable_obj and module in STDLIB_PURE_FUNCTION_MODULES and name not in ("main", "test", "scrypt", "pbkdf2_hmac"):
        return "stdlib-pure-function", None
    return None


# ------------------------------------------------------------------------------------------ enumeration
def public_names(mod):
    out = []
    for name in dir(mod):
        if name.startswith("_") and not name.startswith("__pyx_unpickle"):
            continue
        try:
            obj = getattr(mod, name)
        except Exception:  # noqa: BLE001
            continue
        if inspect.ismodule(obj):
            continue
        if callable(obj):
            out.append((name, obj))
    return out


def stdlib_modules():
    names = set()
    for top in sorted(sys.stdlib_module_names):
        if top in NEVER_IMPORT:
            continue
        try:
            m = importlib.import_module(top)
        except BaseException:  # noqa: BLE001
            continue
        names.add(top)
        if hasattr(m, "__path__"):
            for info in pkgutil.walk_packages(m.__path__, top + ".", onerror=lambda _n: None):
                if any(part in NEVER_IMPORT or part == "tests" for part in info.name.split(".")) or "__main__" in info.name:
                    continue
                names.add(info.name)
    return sorted(names)


def package_modules(pkg, skip=()):
    names = {pkg.__name__}
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".", onerror=lambda _n: None):
        if any(s in info.name for s in skip) or ".tests" in info.name or "__main__" in info.name:
            continue
        names.add(info.name)
    return sorted(names)


def pickled_names():
    """(module, name) of every global the real-world corpus's pickles import, read with genops only."""
    found = set()
    if not os.path.isdir(CORPUS):
        return found

    def streams(path):
        data = open(path, "rb").read()
        if data[:2] == b"PK":
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for n in z.namelist():
                    if n.endswith(".pkl"):
                        yield z.read(n)
        elif data[:6] == b"\x93NUMPY":
            hl = int.from_bytes(data[8:10], "little") if data[6] == 1 else int.from_bytes(data[8:12], "little")
            yield data[(10 if data[6] == 1 else 12) + hl:]
        else:
            yield data

    for root, _dirs, files in os.walk(CORPUS):
        for f in files:
            if f.endswith((".json", ".txt", ".gz", ".npz")):
                continue
            for blob in streams(os.path.join(root, f)):
                pos = 0
                while pos < len(blob):
                    memo, strings = {}, []
                    try:
                        end = pos
                        for op, arg, at in pickletools.genops(io.BytesIO(blob[pos:])):
                            end = pos + at
                            if op.name in ("GLOBAL", "INST"):
                                mod, nm = arg.split(" ", 1)
                                found.add((mod, nm))
                            elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
                                strings.append(arg)
                            elif op.name == "MEMOIZE" and strings:
                                memo[len(memo)] = strings[-1]
                            elif op.name in ("BINGET", "LONG_BINGET", "GET") and arg in memo:
                                strings.append(memo[arg])
                            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                                found.add((strings[-2], strings[-1]))
                            if op.name == "STOP":
                                break
                        pos = end + 1
                    except Exception:  # noqa: BLE001
                        break
                    # Stacked pickles (legacy torch, joblib): continue only if another one starts here.
                    if pos >= len(blob) or blob[pos] != 0x80:
                        break
    return found


WEIGHTS_ONLY = set()
try:
    import torch._weights_only_unpickler as wou

    WEIGHTS_ONLY = set(wou._get_allowed_globals().keys())
except Exception:  # noqa: BLE001
    pass
PICKLED = pickled_names()


def library_of(module):
    top = module.split(".", 1)[0]
    if top in ("torch", "numpy"):
        return top
    if top in FRAMEWORK_TOPS:
        return top
    return "stdlib"


def main():
    entries = {}  # class id -> {module: set(names)}
    families = {}  # (module, name) -> family for dangerous by capability
    counts = {}
    seen = set()

    enums = set()
    reconstructors = set()

    def take(module, name, obj):
        if (module, name) in seen:
            return
        seen.add((module, name))
        # Enum classes and class reconstructors are recorded whatever their tier: brine uses them only
        # for classes its classification puts in the safe or known tier.
        if inspect.isclass(obj):
            try:
                if issubclass(obj, enum.Enum) and obj is not enum.Enum and len(obj.__members__):
                    enums.add((module, name))
                for attr in RECONSTRUCTOR_ATTRS:
                    if attr in vars(obj):
                        reconstructors.add((module, f"{name}.{attr}"))
            except Exception:  # noqa: BLE001
                pass
        top = module.split(".", 1)[0]
        got = classify(module, name, obj, top)
        lib = library_of(module)
        tally = counts.setdefault(lib, {"safe": 0, "known": 0, "dangerous": 0, "unreviewed": 0})
        if not got:
            tally["unreviewed"] += 1
            return
        cid, fam = got
        tally[CLASS_INFO[cid][1]] += 1
        if cid == "denylist":
            return  # already in denylist.ts
        entries.setdefault(cid, {}).setdefault(module, set()).add(name)
        if fam:
            families[(module, name)] = fam

    modules = [("stdlib", m) for m in stdlib_modules()]
    modules += [("numpy", m) for m in package_modules(np, ("distutils", "f2py", "testing"))]
    modules += [("torch", m) for m in package_modules(torch, TORCH_SKIP)]
    for _lib, modname in modules:
        if any(part in NEVER_IMPORT for part in modname.split(".")):
            continue
        try:
            mod = importlib.import_module(modname)
        except BaseException:  # noqa: BLE001
            continue
        for name, obj in public_names(mod):
            take(modname, name, obj)
    # Names the libraries' pickles reference, private ones included (reconstructors, Cython helpers).
    for module, name in sorted(PICKLED):
        try:
            obj = importlib.import_module(module)
            for part in name.split("."):
                obj = getattr(obj, part)
        except BaseException:  # noqa: BLE001
            continue
        take(module, name, obj)

    import pandas
    import scipy
    import sklearn

    out = OUT
    out.write("// Generated by packages/rules/scripts/gadget-surface.py from the installed libraries\n")
    out.write(f"// (python {sys.version.split()[0]}, torch {torch.__version__}, numpy {np.__version__}, scikit-learn {sklearn.__version__}, pandas {pandas.__version__}, scipy {scipy.__version__}). Do not edit.\n\n")
    out.write("import type { SurfaceClass } from './surface-types.js';\n\n")
    out.write("/** The reviewed entry classes, in the order the generator applies them. */\n")
    out.write("export const SURFACE_CLASSES: readonly SurfaceClass[] = [\n")
    for cid, tier, fam, reason in CLASSES:
        f = f", family: '{fam}'" if fam else ""
        out.write(f"  {{ id: '{cid}', tier: '{tier}'{f}, reason: {js(reason)} }},\n")
    out.write("];\n\n")
    out.write("/** Names per entry class, one module a line: `module name name ...` (denylist entries are not repeated). */\n")
    out.write("export const SURFACE_ENTRIES: Readonly<Record<string, string>> = {\n")
    for cid, _tier, _fam, _reason in CLASSES:
        if cid not in entries:
            continue
        out.write(f"  '{cid}': `\n")
        for module in sorted(entries[cid]):
            out.write(f"{module} {' '.join(sorted(entries[cid][module]))}\n")
        out.write("`,\n")
    out.write("};\n\n")
    out.write("/** Family of each name classified dangerous by capability: `family module name name ...`. */\n")
    out.write("export const SURFACE_FAMILIES = `\n")
    by = {}
    for (module, name), fam in families.items():
        by.setdefault((fam, module), []).append(name)
    for (fam, module) in sorted(by):
        out.write(f"{fam} {module} {' '.join(sorted(by[(fam, module)]))}\n")
    out.write("`;\n\n")
    out.write("/** Enum classes (used only when classified safe or known): `getattr(<enum class>, '<member>')` reads a member. */\n")
    out.write("export const KNOWN_ENUMS = `\n" + "".join(f"{m} {n}\n" for m, n in sorted(enums)) + "`;\n\n")
    out.write("/** Reconstructors defined on known classes (`Class._unpickle`), reached as `getattr(Class, attr)` or a dotted name. */\n")
    out.write("export const KNOWN_RECONSTRUCTORS = `\n" + "".join(f"{m} {n}\n" for m, n in sorted(reconstructors)) + "`;\n\n")
    out.write("/** How many enumerated names fall in each tier, per library (unreviewed ones fail closed). */\n")
    out.write("export const SURFACE_COUNTS: Readonly<Record<string, Readonly<Record<'safe' | 'known' | 'dangerous' | 'unreviewed', number>>>> = {\n")
    for lib in sorted(counts):
        c = counts[lib]
        out.write(f"  {lib}: {{ safe: {c['safe']}, known: {c['known']}, dangerous: {c['dangerous']}, unreviewed: {c['unreviewed']} }},\n")
    out.write("};\n")


def js(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


main()
