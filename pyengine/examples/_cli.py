"""The examples' command lines: one parser builder (the module docstring's first paragraph as the
description, every default shown, --version) and argument types that refuse, with argparse's
usage error and exit status 2, what could not run: counts below their minimum, unknown models."""
import argparse

import pyengine as pe


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's defaults formatter, except where the help already says what the default means
    (options whose default is None, flags)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def description(doc):
    """A module docstring's first paragraph, as one line of whole sentences."""
    return " ".join(doc.strip().split("\n\n")[0].split())


def example_parser(prog, doc):
    """The parser every example starts from: `prog` is its console command (pyengine-mlp, ...)."""
    parser = argparse.ArgumentParser(prog=prog, description=description(doc), formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s (pyengine {pe.__version__})")
    return parser


def at_least(minimum):
    """An argparse type: an integer >= minimum."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value
    return parse


positive = at_least(1)
non_negative = at_least(0)


def model_list(choices, allow_empty=False):
    """An argparse type: comma-separated names, each one of `choices` and none twice; gives a list
    (empty only where `allow_empty`)."""
    def parse(text):
        names = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in names if name not in choices]
        if unknown or not (names or allow_empty):
            got = f"unknown model(s) {', '.join(map(repr, unknown))}" if unknown else "no model given"
            raise argparse.ArgumentTypeError(f"{got}; choose from {', '.join(choices)} (comma-separated)")
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise argparse.ArgumentTypeError(f"{', '.join(map(repr, repeated))} given more than once")
        return names
    return parse
