"""pyengine.__version__: the version in the installed package's metadata; for a source checkout
that was never installed (or whose import shadows another installed copy), pyproject.toml's."""
import os
import re


def package_version():
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        from importlib.metadata import PackageNotFoundError, distribution
        dist = distribution("pyengine")
        # the metadata describes this copy only if its files are the ones being imported
        if os.path.abspath(str(dist.locate_file("pyengine/__init__.py"))) == os.path.join(here, "__init__.py"):
            return dist.version
    except (ImportError, PackageNotFoundError):
        pass
    try:
        with open(os.path.join(os.path.dirname(here), "pyproject.toml"), encoding="utf-8") as f:
            match = re.search(r'^version\s*=\s*"([^"]+)"', f.read(), re.MULTILINE)
    except OSError:
        match = None
    return match.group(1) if match else "0+unknown"
