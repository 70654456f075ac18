"""The textbook's single-hidden-layer network on Hitters: predict a baseball player's Salary
from 19 statistics, compared with least-squares linear regression by test mean absolute error.

    python -m pyengine.examples.hitters [--epochs 300] [--hidden 50] [--dropout 0.4]

Following the ISLP lab: a third of the 263 players is held out as the test set, predictors are
standardised with the training set's mean and standard deviation, and the network is
Linear(19, 50) - ReLU - Dropout(0.4) - Linear(50, 1) trained on squared error.
Needs the ISLP data: pip install --no-deps islp
"""
import time

import numpy as np

import pyengine as pe
from pyengine import nn
from pyengine.data import DataLoader, TensorDataset
from pyengine.data.datasets import load_hitters
from pyengine.examples._cli import example_parser, positive


def split(n, test_fraction, seed):
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    return order[n_test:], order[:n_test]


def linear_regression_mae(x_train, y_train, x_test, y_test):
    design = lambda x: np.hstack([x, np.ones((len(x), 1))])  # noqa: E731
    coef = np.linalg.lstsq(design(x_train), y_train, rcond=None)[0]
    return float(np.mean(np.abs(design(x_test) @ coef - y_test)))


def main(argv=None):
    p = example_parser("pyengine-hitters", __doc__)
    p.add_argument("--epochs", type=positive, default=300, help="training epochs")
    p.add_argument("--hidden", type=positive, default=50, help="units of the hidden layer")
    p.add_argument("--dropout", type=float, default=0.4, help="dropout after the hidden layer")
    p.add_argument("--lr", type=float, default=1e-2, help="RMSprop's learning rate")
    p.add_argument("--batch-size", type=positive, default=32, help="training players per step")
    p.add_argument("--seed", type=int, default=13, help="seed of the split, the initial weights and the shuffling")
    args = p.parse_args(argv)

    pe.manual_seed(args.seed)
    x, y, names = load_hitters()
    train_idx, test_idx = split(len(y), 1 / 3, args.seed)
    mean, std = x[train_idx].mean(0), x[train_idx].std(0)
    xs = (x - mean) / std
    lin_mae = linear_regression_mae(xs[train_idx], y[train_idx], xs[test_idx], y[test_idx])

    model = nn.Sequential(nn.Linear(x.shape[1], args.hidden), nn.ReLU(), nn.Dropout(args.dropout),
                          nn.Linear(args.hidden, 1))
    as_tensor = lambda a: pe.tensor(a.astype(np.float32))  # noqa: E731
    train = TensorDataset(as_tensor(xs[train_idx]), as_tensor(y[train_idx]).reshape(-1, 1))
    x_test, y_test = as_tensor(xs[test_idx]), y[test_idx]
    loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, generator=args.seed)
    optimizer = pe.optim.RMSprop(model.parameters(), lr=args.lr)
    loss_fn = nn.MSELoss()

    from tqdm import tqdm
    start = time.perf_counter()
    for _ in tqdm(range(args.epochs), desc="Hitters network", unit="epoch", mininterval=0.5):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
    seconds = time.perf_counter() - start
    model.eval()
    with pe.no_grad():
        pred = model(x_test).numpy().ravel()
    nn_mae = float(np.mean(np.abs(pred - y_test)))

    print(f"Hitters: {len(train_idx)} training and {len(test_idx)} test players, {x.shape[1]} predictors")
    print(f"  linear regression (least squares)   test MAE {lin_mae:8.2f}")
    print(f"  network {x.shape[1]}-{args.hidden}-1 (dropout {args.dropout})  test MAE {nn_mae:8.2f}  "
          f"({args.epochs} epochs, {1e3 * seconds / args.epochs:.1f} ms/epoch)")
    return lin_mae, nn_mae


def cli():
    """Console-script entry point: run, and exit 0 (main() returns its figures for callers)."""
    main()


if __name__ == "__main__":
    cli()
