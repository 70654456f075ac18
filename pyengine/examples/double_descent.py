"""Double descent of minimum-norm random-features regression on Fashion-MNIST: the test error of
the least-squares fit with the smallest norm rises to a peak as the number of random features p
reaches the number of training samples n (the interpolation threshold), then falls again as p
grows past n, below its value for small p.

    pyengine-double-descent [--samples 300] [--ratios 0.1,...,10] [--seeds 3] [--test-size 2000]
                            [--plot double_descent.png]

The setup (Belkin et al. 2019; Mei & Montanari 2019): n training images x (784 pixels,
standardised), p random ReLU features phi(x) = max(0, W x / sqrt(784)) with W ~ N(0, 1) drawn
per seed, and one-hot targets Y (10 classes). The weights beta = pinv(Phi) Y (pyengine.linalg.lstsq,
through the SVD) minimise ||Phi beta - Y|| and, among all minimisers, ||beta||: for p >= n they
interpolate the training set exactly. Reported per p, averaged over the seeds (each seed also draws
its own n training images): test mean squared error, test classification error (argmax of the 10
outputs), training MSE and ||beta||.
"""
import math
import time

import numpy as np

import pyengine as pe

from ._cli import example_parser, positive

DEFAULT_RATIOS = "0.1,0.2,0.4,0.6,0.8,0.9,0.95,1,1.05,1.1,1.25,1.5,2,3,5,10"


def ratio_list(text):
    """An argparse type: comma-separated positive numbers (feature counts as multiples of n)."""
    import argparse
    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values or any(not (v > 0) for v in values):
        raise argparse.ArgumentTypeError(f"expected positive numbers, got {text!r}")
    return sorted(set(values))


def load_fashion(test_size):
    """(train images, train labels, test images, test labels): standardised float64 pixels."""
    from pyengine.data.datasets import FashionMNIST
    train, test = FashionMNIST(train=True), FashionMNIST(train=False)
    prepare = lambda images: images.reshape(len(images), -1).astype(np.float64) / 255.0  # noqa: E731
    x_train, x_test = prepare(train.data), prepare(test.data[:test_size])
    mean, std = x_train.mean(), x_train.std()
    y_train, y_test = np.asarray(train.targets), np.asarray(test.targets[:test_size])
    return (x_train - mean) / std, y_train, (x_test - mean) / std, y_test


def random_features(x, w):
    """max(0, x W^T / sqrt(d)) for x (N, d), W (p, d)."""
    return pe.relu(x @ w.transpose(0, 1) / math.sqrt(x.shape[1]))


def fit_and_score(x_train, y_train, x_test, y_test, p, classes):
    """Minimum-norm least squares on p random features (drawn from pyengine's global generator):
    (test MSE, test classification error, training MSE, ||beta||)."""
    w = pe.randn(p, x_train.shape[1], dtype=pe.float64)
    phi_train, phi_test = random_features(x_train, w), random_features(x_test, w)
    targets = pe.one_hot(y_train, classes).to(pe.float64)
    beta = pe.linalg.lstsq(phi_train, targets, driver="gelsd").solution
    pred_test, pred_train = phi_test @ beta, phi_train @ beta
    test_mse = ((pred_test - pe.one_hot(y_test, classes).to(pe.float64)) ** 2).sum(1).mean().item()
    test_err = (pred_test.argmax(1) != y_test).to(pe.float64).mean().item()
    train_mse = ((pred_train - targets) ** 2).sum(1).mean().item()
    return test_mse, test_err, train_mse, pe.linalg.norm(beta).item()


def sweep(x_pool, y_pool, x_test, y_test, n, ratios, seeds, classes=10, progress=True):
    """For each seed: n training samples drawn from the pool, then one fit per p = ratio * n.
    Returns rows {p, ratio, test_mse, test_err, train_mse, norm} (means over seeds, and the
    per-seed values under the same keys + '_all')."""
    from tqdm import tqdm
    ps = sorted({max(1, int(round(r * n))) for r in ratios})
    x_test_t, y_test_t = pe.tensor(x_test), pe.tensor(y_test)
    per = {p: [] for p in ps}
    bar = tqdm(total=len(ps) * seeds, desc="fits", disable=not progress)
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        pick = rng.choice(len(x_pool), size=n, replace=False)
        x_train, y_train = pe.tensor(x_pool[pick]), pe.tensor(y_pool[pick])
        pe.manual_seed(1000 + seed)
        for p in ps:
            per[p].append(fit_and_score(x_train, y_train, x_test_t, y_test_t, p, classes))
            bar.update(1)
    bar.close()
    rows = []
    for p in ps:
        values = np.array(per[p])
        row = {"p": p, "ratio": p / n}
        for i, key in enumerate(("test_mse", "test_err", "train_mse", "norm")):
            row[key] = float(values[:, i].mean())
            row[key + "_all"] = values[:, i].tolist()
        rows.append(row)
    return rows


def print_table(rows, n):
    print(f"\n{'p':>6s} {'p/n':>6s} {'test MSE':>10s} {'test error':>10s} {'train MSE':>10s} {'||beta||':>10s}")
    for r in rows:
        mark = "  <- interpolation threshold p = n" if r["p"] == n else ""
        print(f"{r['p']:6d} {r['ratio']:6.2f} {r['test_mse']:10.4f} {100 * r['test_err']:9.1f}% "
              f"{r['train_mse']:10.2e} {r['norm']:10.3g}{mark}")


def summary(rows, n):
    """The figures that show double descent: the peak near p = n against both ends of the sweep."""
    best_under = min((r for r in rows if r["p"] < n), key=lambda r: r["test_mse"], default=None)
    peak = max(rows, key=lambda r: r["test_mse"])
    last = rows[-1]
    return best_under, peak, last


def plot(rows, n, seeds, path, title):
    from ._training import pyplot_or_warn
    plt = pyplot_or_warn(path)
    if plt is None:
        return False
    ratio = [r["ratio"] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, label, scale in ((axes[0], "test_mse", "test mean squared error", "log"),
                                  (axes[1], "test_err", "test classification error", "linear")):
        spread = np.array([r[key + "_all"] for r in rows])
        ax.plot(ratio, [r[key] for r in rows], marker="o", label=f"mean of {seeds} seeds")
        if seeds > 1:
            ax.fill_between(ratio, spread.min(1), spread.max(1), alpha=0.2, label="min-max over seeds")
        ax.axvline(1.0, color="red", linestyle="--", label="interpolation threshold p = n")
        ax.set_xscale("log")
        ax.set_yscale(scale)
        ax.set(xlabel=f"features / samples p/n  (n = {n})", ylabel=label)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv=None):
    p = example_parser("pyengine-double-descent", __doc__)
    p.add_argument("--samples", type=positive, default=300, help="training images n per seed")
    p.add_argument("--ratios", type=ratio_list, default=DEFAULT_RATIOS, help="feature counts p as multiples of n")
    p.add_argument("--seeds", type=positive, default=3, help="repetitions averaged (new features and training images)")
    p.add_argument("--test-size", type=positive, default=2000, help="test images scored")
    p.add_argument("--threads", type=positive, default=None, help="pyengine threads (default: pyengine's)")
    p.add_argument("--plot", default="double_descent.png", help="PNG of test error against p/n ('' for none)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")
    args = p.parse_args(argv)
    if isinstance(args.ratios, str):
        args.ratios = ratio_list(args.ratios)
    if args.threads:
        pe.set_num_threads(args.threads)
    start = time.time()
    x_pool, y_pool, x_test, y_test = load_fashion(args.test_size)
    if args.samples > len(x_pool):
        p.error(f"argument --samples: at most {len(x_pool)} training images, got {args.samples}")
    print(f"Fashion-MNIST: n = {args.samples} training images per seed, {len(x_test)} test images; "
          f"{len(args.ratios)} feature counts from p = {args.ratios[0]:g}n to {args.ratios[-1]:g}n; "
          f"{args.seeds} seed(s); random ReLU features, minimum-norm least squares (pe.linalg.lstsq)")
    rows = sweep(x_pool, y_pool, x_test, y_test, args.samples, args.ratios, args.seeds,
                 progress=not args.no_progress)
    print(f"\nDouble descent, Fashion-MNIST random-features regression (mean of {args.seeds} seed(s)):")
    print_table(rows, args.samples)
    best_under, peak, last = summary(rows, args.samples)
    if best_under is not None:
        print(f"\nbest under-parameterised: p/n = {best_under['ratio']:.2f}, test MSE {best_under['test_mse']:.4f}, "
              f"error {100 * best_under['test_err']:.1f}%")
    print(f"peak: p/n = {peak['ratio']:.2f}, test MSE {peak['test_mse']:.4f}, error {100 * peak['test_err']:.1f}%")
    print(f"most over-parameterised: p/n = {last['ratio']:.2f}, test MSE {last['test_mse']:.4f}, "
          f"error {100 * last['test_err']:.1f}%")
    print(f"wall time {time.time() - start:.0f} s")
    if args.plot and plot(rows, args.samples, args.seeds, args.plot,
                          f"Double descent: min-norm random ReLU features, Fashion-MNIST (n = {args.samples})"):
        print(f"plot saved to {args.plot}")
    return rows


def cli():
    """Console-script entry point: run, and exit 0 (main() returns its figures for callers)."""
    main()


if __name__ == "__main__":
    cli()
