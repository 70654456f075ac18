"""pyengine.cuda: is a CUDA device usable here, and is it a real GPU or the emulated one?"""
from . import _C


def is_available():
    """False when pyengine was built without CUDA, or on any driver/device error. True on the
    emulated GPU (a PYENGINE_CUDA=EMU build): see is_emulated()."""
    try:
        return bool(_C.cuda_is_available())
    except Exception:
        return False


def is_emulated():
    """True in a PYENGINE_CUDA=EMU build: device="cuda" runs the real CUDA kernels, glue and
    device branches, compiled by the host compiler, on CPU threads, with device memory in host
    RAM. For testing CUDA code on machines without a GPU; slow."""
    return bool(_C.cuda_is_emulated())


def device_count():
    try:
        return int(_C.cuda_device_count()) if is_available() else 0
    except Exception:
        return 0


def is_built():
    return bool(_C.cuda_built())


def get_device_name(device=0):
    return _C.cuda_device_name(_index(device))


def get_device_capability(device=0):
    return tuple(_C.cuda_device_capability(_index(device)))


def synchronize(device=0):
    _C.cuda_synchronize(_index(device))


def _index(device):
    if isinstance(device, int):
        return device
    text = str(device)
    return int(text.split(":")[1]) if ":" in text else 0


# ---------------------------------------------------------------- seeding (torch.cuda's names)
# pyengine draws on a GPU from the same Philox streams as on the CPU (the same numbers on both
# devices), so the CUDA default stream is the default generator: these seed that one. A
# deliberate difference from PyTorch, where CUDA has its own default generators.
def manual_seed(seed):
    """Seed the default generator (shared by CPU and CUDA draws)."""
    from .random import manual_seed as _manual_seed
    _manual_seed(seed)


manual_seed_all = manual_seed


def seed():
    """Reseed the default generator from a non-deterministic source."""
    from .random import seed as _seed
    _seed()


seed_all = seed


def initial_seed():
    from .random import initial_seed as _initial_seed
    return _initial_seed()
