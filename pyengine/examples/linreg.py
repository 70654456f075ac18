"""Linear regression fitted by gradient descent with pyengine's autograd.

The textbook setting: y = X w + b + noise. We fit w and b by full-batch gradient descent on
the mean squared error, with gradients from `loss.backward()`, and check the answer against
the closed-form least-squares solution computed by NumPy.

    python -m pyengine.examples.linreg [--samples 2000] [--features 5] [--steps 500] [--lr 0.1]
"""
import time

import numpy as np

import pyengine as pe
from pyengine.examples._cli import example_parser, positive


def make_data(samples, features, noise, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(samples, features))
    true_w = rng.uniform(-3, 3, size=features)
    true_b = rng.uniform(-1, 1)
    y = x @ true_w + true_b + noise * rng.normal(size=samples)
    return x.astype(np.float32), y.astype(np.float32), true_w, true_b


def fit(x, y, steps, lr):
    """Full-batch gradient descent on the MSE; returns (w, b, loss history)."""
    X, Y = pe.tensor(x), pe.tensor(y)
    w = pe.zeros(x.shape[1], requires_grad=True)
    b = pe.zeros(1, requires_grad=True)
    history = []
    for _ in range(steps):
        loss = ((X @ w + b - Y) ** 2).mean()
        loss.backward()
        with pe.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad = None
        b.grad = None
        history.append(loss.item())
    return w.detach().numpy(), float(b.item()), history


def main(argv=None):
    p = example_parser("pyengine-linreg", __doc__)
    p.add_argument("--samples", type=positive, default=2000, help="rows of the generated data")
    p.add_argument("--features", type=positive, default=5, help="columns of the generated data")
    p.add_argument("--steps", type=positive, default=500, help="full-batch gradient-descent steps")
    p.add_argument("--lr", type=float, default=0.1, help="gradient-descent step size")
    p.add_argument("--noise", type=float, default=0.5, help="standard deviation of the noise added to y")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated data")
    args = p.parse_args(argv)

    x, y, true_w, true_b = make_data(args.samples, args.features, args.noise, args.seed)
    start = time.perf_counter()
    w, b, history = fit(x, y, args.steps, args.lr)
    seconds = time.perf_counter() - start

    # Closed-form least squares with an intercept column, for comparison.
    design = np.hstack([x, np.ones((len(x), 1), np.float32)]).astype(np.float64)
    exact = np.linalg.lstsq(design, y.astype(np.float64), rcond=None)[0]
    exact_mse = float(np.mean((design @ exact - y) ** 2))

    print(f"pyengine linear regression: {args.samples} samples, {args.features} features, "
          f"{args.steps} gradient-descent steps in {seconds:.2f} s ({1e3 * seconds / args.steps:.2f} ms/step)")
    print(f"  training MSE: start {history[0]:.4f} -> end {history[-1]:.4f} "
          f"(least-squares optimum {exact_mse:.4f}, noise variance {args.noise ** 2:.4f})")
    print("  weight    true      gradient descent   least squares")
    for i in range(args.features):
        print(f"  w[{i}]   {true_w[i]:+8.4f}   {w[i]:+8.4f}           {exact[i]:+8.4f}")
    print(f"  b       {true_b:+8.4f}   {b:+8.4f}           {exact[-1]:+8.4f}")
    gap = float(np.max(np.abs(np.append(w, b) - exact)))
    print(f"  max |gradient descent - least squares| = {gap:.2e}")
    return gap


def cli():
    """Console-script entry point: run, and exit 0 (main() returns its figures for callers)."""
    main()


if __name__ == "__main__":
    cli()
