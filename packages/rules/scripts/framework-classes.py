#!/usr/bin/python3
"""Lists the framework classes brine puts in the `known` tier, by introspecting installed libraries.

Run with Debian's python (which has python3-torch, python3-sklearn, python3-numpy, python3-joblib):
    /usr/bin/python3 packages/rules/scripts/framework-classes.py > packages/rules/src/data/framework-classes.ts

It only imports the libraries to read class names; it never loads a pickle. The output is committed,
so nothing at test or run time needs Python. Exact (module, name) pairs only: an allowlisted module
never allowlists its other attributes.
"""
import importlib
import inspect
import pkgutil
import sys
import warnings

warnings.simplefilter("ignore")


def torch_module_classes_everywhere():
    """nn.Module subclasses anywhere under torch.nn (torch.nn.modules included) and torch.ao.nn (quantized, parallel, utils hooks'
    modules), plus torch.distributions classes. Whole-model saves name them; constructing one runs no
    I/O. DistributedDataParallel and friends are left out: their constructor talks to a process group."""
    import torch
    import torch.distributions

    pairs = set()
    roots = [torch.nn, torch.distributions]
    try:
        import torch.ao.nn

        roots.append(torch.ao.nn)
    except ImportError:
        pass
    for root in roots:
        for info in pkgutil.walk_packages(root.__path__, root.__name__ + "."):
            if "distributed" in info.name or ".test" in info.name:
                continue
            try:
                m = importlib.import_module(info.name)
            except Exception:
                continue
            for attr, obj in vars(m).items():
                if not inspect.isclass(obj) or obj.__module__ != info.name or "Distributed" in attr:
                    continue
                if issubclass(obj, torch.nn.Module) or (
                    root is torch.distributions
                    and issubclass(obj, (torch.distributions.Distribution, torch.distributions.Transform, torch.distributions.constraints.Constraint))
                ):
                    pairs.add((info.name, attr))
    return pairs


def torch_optimizers():
    import torch.optim
    import torch.optim.lr_scheduler as sched

    pairs = set()
    for info in pkgutil.iter_modules(torch.optim.__path__):
        name = f"torch.optim.{info.name}"
        try:
            m = importlib.import_module(name)
        except Exception:
            continue
        for attr, obj in vars(m).items():
            if not inspect.isclass(obj) or obj.__module__ != name:
                continue
            if issubclass(obj, torch.optim.Optimizer) or (
                name == "torch.optim.lr_scheduler" and attr[0].isupper() and not attr.startswith("_")
            ):
                pairs.add((name, attr))
    return pairs


def sklearn_estimators():
    from sklearn.utils import all_estimators

    pairs = set()
    for _name, cls in all_estimators():
        if cls.__name__ == "FunctionTransformer":
            # Calls an arbitrary user function on transform: not a data class.
            continue
        pairs.add((cls.__module__, cls.__name__))
    # Fitted-state helper classes that estimators pickle alongside themselves.
    extra = [
        ("sklearn.tree._tree", "Tree"),
        ("sklearn.neighbors._kd_tree", "KDTree"),
        ("sklearn.neighbors._ball_tree", "BallTree"),
        ("sklearn._loss.loss", "HalfSquaredError"),
        ("sklearn._loss.loss", "HalfBinomialLoss"),
        ("sklearn._loss.loss", "HalfMultinomialLoss"),
        ("sklearn._loss.link", "IdentityLink"),
        ("sklearn._loss.link", "LogitLink"),
        ("sklearn._loss.link", "Interval"),
        ("sklearn.ensemble._hist_gradient_boosting.binning", "_BinMapper"),
        ("sklearn.ensemble._hist_gradient_boosting.predictor", "TreePredictor"),
    ]
    for mod, name in extra:
        try:
            m = importlib.import_module(mod)
            if inspect.isclass(getattr(m, name, None)):
                pairs.add((mod, name))
        except Exception:
            pass
    return pairs


def sklearn_pickled_globals():
    """Globals that real sklearn pickles reference: fit each estimator on tiny data, pickle it at
    protocol 2 (every import is a GLOBAL opcode) and list the GLOBAL arguments with pickletools.genops,
    which only parses the bytes. Restricted to sklearn/numpy/scipy modules so that nothing from a
    dangerous stdlib module can slip into the known tier this way."""
    import pickle
    import pickletools

    import numpy as np
    from sklearn.utils import all_estimators

    X = np.random.RandomState(0).rand(24, 3)
    y = np.array([0, 1, 2] * 8)
    pairs = set()
    for _name, cls in all_estimators():
        try:
            est = cls()
        except Exception:
            continue
        for target in (y, None):
            try:
                est.fit(X, target) if target is not None else est.fit(X)
                break
            except Exception:
                continue
        try:
            data = pickle.dumps(est, protocol=2)
        except Exception:
            continue
        for op, arg, _pos in pickletools.genops(data):
            if op.name == "GLOBAL":
                module, name = arg.split(" ", 1)
                top = module.split(".")[0]
                if top not in ("sklearn", "numpy", "scipy"):
                    continue
                if module.startswith(("numpy.f2py", "numpy.testing", "numpy.distutils", "numpy.lib.npyio", "numpy.lib._npyio_impl")):
                    continue
                if name == "FunctionTransformer" or name.startswith(("load", "read_", "fetch_")):
                    continue
                pairs.add((module, name))
    return pairs


def numpy_dtype_classes():
    import numpy

    pairs = set()
    try:
        import numpy.dtypes as dt  # numpy >= 1.25

        for attr, obj in vars(dt).items():
            if inspect.isclass(obj) and attr.endswith("DType"):
                pairs.add(("numpy.dtypes", attr))
    except ImportError:
        pass
    # numpy scalar types (pickled as `numpy.float32` etc. inside dtype reconstruction).
    for attr in sorted(set(numpy.sctypeDict.values()), key=lambda c: c.__name__):
        pairs.add(("numpy", attr.__name__))
    return pairs


def main():
    groups = {
        "torchOptimizers": torch_optimizers(),
        "torchModulesEverywhere": torch_module_classes_everywhere(),
        "sklearnEstimators": sklearn_estimators(),
        "sklearnPickledGlobals": sklearn_pickled_globals(),
        "numpyScalarTypes": numpy_dtype_classes(),
    }
    import numpy, sklearn, torch

    out = sys.stdout
    out.write("// Generated by packages/rules/scripts/framework-classes.py from installed libraries\n")
    out.write(f"// (torch {torch.__version__}, scikit-learn {sklearn.__version__}, numpy {numpy.__version__}). Do not edit.\n\n")
    for key, pairs in groups.items():
        by_module = {}
        for mod, name in sorted(pairs):
            by_module.setdefault(mod, []).append(name)
        out.write(f"/** `module -> class names`, exact pairs. */\n")
        out.write(f"export const {key}: Record<string, readonly string[]> = {{\n")
        for mod, names in by_module.items():
            out.write(f"  '{mod}': [{', '.join(repr(n) for n in names)}],\n")
        out.write("};\n\n")


main()
