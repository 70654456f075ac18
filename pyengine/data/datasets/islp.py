"""Data sets of the ISLP book ("An Introduction to Statistical Learning, with Applications in
Python"), read from the CSV files that the `islp` package ships. Only the package's data folder
is used, so `pip install --no-deps islp` is enough (no pandas needed here)."""
import csv
import importlib.util
import os

import numpy as np

_INSTALL_HINT = "install it with: pip install --no-deps islp"


def islp_data_dir():
    spec = importlib.util.find_spec("ISLP")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the ISLP data sets need the 'islp' package: {_INSTALL_HINT}")
    path = os.path.join(list(spec.submodule_search_locations)[0], "data")
    if not os.path.isdir(path):
        raise FileNotFoundError(f"the 'islp' package has no data folder at {path}: reinstall it ({_INSTALL_HINT})")
    return path


def read_islp_csv(name):
    """Rows of ISLP/data/<name>.csv as a list of dicts (header -> string)."""
    path = os.path.join(islp_data_dir(), name + ".csv")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found: the installed 'islp' package lacks {name} ({_INSTALL_HINT})")
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


HITTERS_NUMERIC = ["AtBat", "Hits", "HmRun", "Runs", "RBI", "Walks", "Years", "CAtBat", "CHits", "CHmRun",
                   "CRuns", "CRBI", "CWalks", "PutOuts", "Assists", "Errors"]
# Categorical columns coded as one dummy each (the first level is the baseline), as in the book.
HITTERS_DUMMIES = [("League", "N"), ("Division", "W"), ("NewLeague", "N")]


def load_hitters():
    """Hitters: predict a baseball player's Salary (in $1000s) from 19 predictors.

    Players with a missing salary are dropped (263 remain), as the book does. Returns
    (X float64 (263, 19), y float64 (263,), feature names).
    """
    rows = [r for r in read_islp_csv("Hitters") if r["Salary"] not in ("", "NA")]
    if not rows:
        raise ValueError("Hitters.csv has no rows with a Salary")
    names = HITTERS_NUMERIC + [f"{col}[{level}]" for col, level in HITTERS_DUMMIES]
    x = np.array([[float(r[c]) for c in HITTERS_NUMERIC] + [float(r[c] == level) for c, level in HITTERS_DUMMIES]
                  for r in rows])
    y = np.array([float(r["Salary"]) for r in rows])
    return x, y, names


NYSE_COLUMNS = ["DJ_return", "log_volume", "log_volatility"]


def load_nyse():
    """NYSE: daily Dow Jones return, log trading volume and log volatility, 1962-1986.

    Returns (values float64 (6051, 3) in NYSE_COLUMNS order, train mask bool (6051,), dates, days of week).
    """
    rows = read_islp_csv("NYSE")
    values = np.array([[float(r[c]) for c in NYSE_COLUMNS] for r in rows])
    train = np.array([r["train"].strip().upper() == "TRUE" for r in rows])
    return values, train, [r["date"] for r in rows], [r["day_of_week"] for r in rows]
