"""Why `import pyengine` failed to load the compiled extension (pyengine._C), and what to do.

The usual cause: Python was started in the source checkout, so `import pyengine` found the
checkout's pyengine/ folder, which has no _C*.so until it is built in place; Python then reports
"cannot import name '_C' from partially initialized module 'pyengine' (most likely due to a
circular import)", which points the wrong way. This module must import nothing from pyengine.
"""
import glob
import importlib.machinery
import os

DEVELOPER_BUILD = ("cmake -S . -B build/dev -G Ninja -DPYENGINE_CUDA=OFF -Dpybind11_DIR=$(python3 -m pybind11 "
                   "--cmakedir) && cmake --build build/dev -j2")


def explain(error):
    """The message of the ImportError raised in place of `error` (the original ImportError)."""
    package = os.path.dirname(os.path.abspath(__file__))
    built = sorted(os.path.basename(f) for f in glob.glob(os.path.join(package, "_C*"))
                   if f.endswith((".so", ".pyd", ".dylib")))
    ours = [f for f in built if any(f == "_C" + suffix for suffix in importlib.machinery.EXTENSION_SUFFIXES)]
    head = f"pyengine's compiled extension (pyengine._C) could not be imported from {package}: {error}"
    if not built:
        return (f"{head}\nThat folder has no built extension (_C*.so): it is a source checkout, which Python "
                "imports instead of an installed pyengine when it runs from the checkout's root (or with the "
                "checkout on sys.path). Either\n"
                "  - install pyengine (pip install . in the checkout) and run Python from another directory, or\n"
                f"  - build the extension in place, in the checkout's root: {DEVELOPER_BUILD}")
    if not ours:
        return (f"{head}\nThe extension there ({', '.join(built)}) was built for another Python version or "
                f"platform (this one loads {', '.join(importlib.machinery.EXTENSION_SUFFIXES)}): rebuild it "
                f"with this Python ({DEVELOPER_BUILD}) or reinstall (pip install .).")
    return (f"{head}\nThe extension there ({', '.join(ours)}) exists but failed to load: it is damaged, or "
            "a shared library it needs (libgomp, libstdc++, the CUDA runtime) is missing or too old: rebuild it "
            f"({DEVELOPER_BUILD}) or reinstall (pip install .).")
