"""Runnable examples: `python -m pyengine.examples.<name>`."""
