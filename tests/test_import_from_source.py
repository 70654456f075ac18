"""Importing pyengine where its compiled extension is missing or unusable (Python started in the
source checkout) says what happened and what to do; __version__ comes from the package metadata."""
import os
import shutil
import subprocess
import sys

import pytest

import pyengine as pe

PACKAGE = os.path.dirname(os.path.abspath(pe.__file__))


def _unbuilt_checkout(root):
    """A copy of the pyengine package without its built extension, as in a fresh checkout."""
    shutil.copytree(PACKAGE, os.path.join(root, "pyengine"), ignore=shutil.ignore_patterns("_C*", "__pycache__"))
    return os.path.join(root, "pyengine")


def _python(code, cwd, pythonpath=""):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_import_in_an_unbuilt_checkout_says_what_to_do(tmp_path):
    _unbuilt_checkout(str(tmp_path))
    run = _python("import pyengine", cwd=str(tmp_path))
    assert run.returncode == 1
    last = run.stderr[run.stderr.index("ImportError: pyengine's compiled extension"):]
    assert "cannot import name '_C'" in last  # the original error, kept
    assert "has no built extension" in last and "source checkout" in last
    assert "pip install ." in last and "from another directory" in last
    assert "cmake -S . -B build/dev" in last and "cmake --build build/dev" in last


def test_an_extension_for_another_python_or_a_damaged_one_is_named(tmp_path):
    package = _unbuilt_checkout(str(tmp_path))
    other = os.path.join(package, "_C.cpython-27-x86_64-linux-gnu.so")
    open(other, "wb").close()
    run = _python("import pyengine", cwd=str(tmp_path))
    assert "_C.cpython-27-x86_64-linux-gnu.so) was built for another Python version" in run.stderr
    os.remove(other)
    import importlib.machinery
    damaged = os.path.join(package, "_C" + importlib.machinery.EXTENSION_SUFFIXES[0])
    with open(damaged, "wb") as f:
        f.write(b"not a shared library")
    run = _python("import pyengine", cwd=str(tmp_path))
    assert run.returncode == 1 and "exists but failed to load: it is damaged" in run.stderr
    assert damaged in run.stderr  # the loader's own message names the file


def test_version_comes_from_the_installed_metadata(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "pyengine").symlink_to(PACKAGE, target_is_directory=True)
    info = site / "pyengine-9.8.7.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pyengine\nVersion: 9.8.7\n")
    (info / "RECORD").write_text("pyengine/__init__.py,,\n")
    run = _python("import pyengine; print(pyengine.__version__)", cwd=str(tmp_path), pythonpath=str(site))
    assert run.stdout.split() == ["9.8.7"], run.stderr


def test_version_in_a_checkout_is_pyprojects():
    pyproject = os.path.join(os.path.dirname(PACKAGE), "pyproject.toml")
    if not os.path.exists(pyproject):
        pytest.skip("pyengine is imported from an installation, not a checkout")
    with open(pyproject, encoding="utf-8") as f:
        assert f'\nversion = "{pe.__version__}"\n' in f.read()
