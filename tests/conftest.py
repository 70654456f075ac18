"""Shared fixtures. `device` runs a test once per device this build can use: "cpu", plus "cuda"
when pyengine.cuda.is_available() - a real GPU, or the emulated GPU of a PYENGINE_CUDA=EMU build,
where the CUDA kernels run on CPU threads (keep shapes small there)."""
import pytest

import pyengine as pe

DEVICES = ["cpu"] + (["cuda"] if pe.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param
