"""pyengine.cuda: is a CUDA device usable here?"""
from . import _C


def is_available():
    """False when pyengine was built without CUDA, or on any driver/device error."""
    try:
        return bool(_C.cuda_is_available())
    except Exception:
        return False


def device_count():
    try:
        return int(_C.cuda_device_count()) if is_available() else 0
    except Exception:
        return 0


def is_built():
    return bool(_C.cuda_built())
