#!/usr/bin/python3
"""Writes real, benign artefacts made by the actual libraries into bench-data/realworld/ (gitignored)
for a false-positive check: whole torch models (zip and legacy), checkpoints with optimizer/scheduler
state, torch tensor kinds, NumPy/stdlib objects, and every scikit-learn estimator fitted on tiny data.

Needs Debian's python with python3-torch, python3-sklearn, python3-numpy, python3-joblib, python3-scipy.
It only *writes* pickles; nothing here loads one. Then score them:

    /usr/bin/python3 packages/rules/scripts/realworld-benign.py
    node scripts/eval.mjs --benign-dir bench-data/realworld
"""
import argparse
import array
import collections
import datetime
import decimal
import fractions
import os
import pathlib
import pickle
import re
import types
import uuid
import warnings

warnings.simplefilter("ignore")

import joblib  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "bench-data", "realworld")


def save(name, obj):
    for p in (2, 4, 5):
        with open(os.path.join(OUT, f"{name}-p{p}.pkl"), "wb") as f:
            pickle.dump(obj, f, protocol=p)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4, 2), nn.Dropout(0.1), nn.LSTM(2, 2), nn.TransformerEncoderLayer(8, 2))
    torch.save(model, os.path.join(OUT, "torch-whole-model.pt"))
    torch.save(model, os.path.join(OUT, "torch-whole-model-legacy.pt"), _use_new_zipfile_serialization=False)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, 10)
    torch.save(
        {"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "epoch": 3, "rng": torch.get_rng_state(), "np_rng": np.random.get_state(), "args": argparse.Namespace(lr=0.1, out=pathlib.Path("runs"))},
        os.path.join(OUT, "torch-checkpoint.pt"),
    )
    modules = [nn.Embedding(5, 2), nn.GRU(2, 2), nn.LayerNorm(2), nn.GroupNorm(1, 2), nn.PReLU(), nn.MultiheadAttention(4, 2), nn.Upsample(scale_factor=2), nn.ConvTranspose2d(2, 2, 3), nn.CrossEntropyLoss(weight=torch.ones(3)), nn.ModuleDict({"a": nn.Linear(1, 1)}), nn.ParameterList([nn.Parameter(torch.ones(1))]), nn.GELU(approximate="tanh")]
    for i, m in enumerate(modules):
        torch.save(m, os.path.join(OUT, f"nn-{i}-{type(m).__name__}.pt"))
    from torch.nn.utils import spectral_norm, weight_norm

    extra = {
        "weight-norm": weight_norm(nn.Linear(2, 2)),
        "spectral-norm": spectral_norm(nn.Linear(2, 2)),
        "quantized-dynamic": torch.quantization.quantize_dynamic(nn.Sequential(nn.Linear(4, 4)), {nn.Linear}, dtype=torch.qint8),
        "dataparallel": nn.DataParallel(nn.Linear(2, 2)),
        "transformer": nn.Transformer(8, 2, 1, 1, 16),
        "distributions": {"n": torch.distributions.Normal(torch.zeros(1), torch.ones(1))},
    }
    sgd = torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.1)
    extra["onecycle-whole"] = {"sched": torch.optim.lr_scheduler.OneCycleLR(sgd, max_lr=0.1, total_steps=10)}
    for name, obj in extra.items():
        torch.save(obj, os.path.join(OUT, f"torch-{name}.pt"))
    torch.jit.save(torch.jit.script(nn.Sequential(nn.Linear(2, 2), nn.ReLU())), os.path.join(OUT, "torchscript-scripted.pt"))
    torch.jit.save(torch.jit.trace(nn.Linear(2, 2), torch.ones(1, 2)), os.path.join(OUT, "torchscript-traced.pt"))
    torch.save({"sparse": torch.eye(3).to_sparse(), "q": torch.quantize_per_tensor(torch.ones(2), 0.1, 0, torch.quint8), "c": torch.ones(2, dtype=torch.complex64), "bf16": torch.ones(2, dtype=torch.bfloat16), "size": torch.Size([2, 3]), "dtype": torch.float16, "device": torch.device("cpu")}, os.path.join(OUT, "torch-tensor-kinds.pt"))
    save("numpy", {"a": np.arange(6).reshape(2, 3), "s": np.float32(1.5), "dt": np.dtype([("x", "<f4"), ("y", "<i8")]), "ma": np.ma.masked_array([1, 2], mask=[0, 1]), "gen": np.random.default_rng(1), "rs": np.random.RandomState(1), "ss": np.random.SeedSequence(1)})
    save("stdlib", {"d": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc), "td": datetime.timedelta(3), "dec": decimal.Decimal("1.1"), "fr": fractions.Fraction(1, 3), "p": pathlib.Path("/tmp/x"), "u": uuid.UUID(int=7), "ns": types.SimpleNamespace(a=1), "dq": collections.deque([1]), "dd": collections.defaultdict(list), "c": collections.Counter("aab"), "re": re.compile("a+"), "arr": array.array("i", [1, 2]), "fs": frozenset([1]), "cx": complex(1, 2), "ba": bytearray(b"x"), "rng": range(3), "sl": slice(1, 2)})
    from sklearn.utils import all_estimators

    X = np.random.RandomState(0).rand(24, 3)
    y = np.array([0, 1, 2] * 8)
    for name, cls in all_estimators():
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
            joblib.dump(est, os.path.join(OUT, f"sk-{name}.joblib"))
        except Exception:
            pass
    print(f"wrote {len(os.listdir(OUT))} files to {os.path.normpath(OUT)}")


main()
