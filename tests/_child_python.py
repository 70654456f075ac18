"""Fresh interpreters for tests that must survive a crash or watch a process exit.

The child must import the same pyengine as the test run: an in-place build next to the sources
(PYTHONPATH=.) or the installed package (the README's `pip install .`, where the checkout's root
holds only the unbuilt sources). So the child runs in an empty folder of its own, never the
checkout's root (Python puts the working folder first on sys.path for `-c`), with the folder
that holds the imported package first on PYTHONPATH.
"""
import os
import subprocess
import sys
import tempfile

import pyengine

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(pyengine.__file__)))
NEUTRAL_CWD = tempfile.mkdtemp(prefix="pyengine-tests-")

# The CI's sanitizer stages preload ASan/TSan: their shadow memory makes resident-set sizes and
# address-space limits meaningless (and the runs many times slower).
UNDER_SANITIZER = any(s in os.environ.get("LD_PRELOAD", "") for s in ("asan", "tsan"))


def python_env(**extra):
    """os.environ plus `extra`, with the imported pyengine's folder first on PYTHONPATH."""
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_PARENT, env.get("PYTHONPATH")]))
    return env


def popen_python(args, **kwargs):
    """subprocess.Popen([python, *args]) importing the same pyengine, from a neutral folder."""
    kwargs.setdefault("env", python_env())
    kwargs.setdefault("cwd", NEUTRAL_CWD)
    return subprocess.Popen([sys.executable, *args], **kwargs)


def run_python(args, **kwargs):
    """subprocess.run([python, *args]) importing the same pyengine, from a neutral folder."""
    kwargs.setdefault("env", python_env())
    kwargs.setdefault("cwd", NEUTRAL_CWD)
    return subprocess.run([sys.executable, *args], **kwargs)
