"""Shared fixtures. `device` runs a test once per device this build can use: "cpu", plus "cuda"
when pyengine.cuda.is_available() - a real GPU, or the emulated GPU of a PYENGINE_CUDA=EMU build,
where the CUDA kernels run on CPU threads (keep shapes small there)."""
import os

import pytest

import pyengine as pe

DEVICES = ["cpu"] + (["cuda"] if pe.cuda.is_available() else [])
# PYENGINE_TEST_DEVICES=cuda keeps only the listed devices (CI's ThreadSanitizer stage looks for
# races between the emulated GPU's host threads; the cpu half of each test would only repeat
# the sanitizer-free run).
if os.environ.get("PYENGINE_TEST_DEVICES"):
    DEVICES = [d for d in DEVICES if d in os.environ["PYENGINE_TEST_DEVICES"].split(",")]


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param
