"""The seeds' network on Fashion-MNIST (or digit MNIST): 784 -> 256 -> 128 -> 10, ReLU,
softmax output, cross-entropy; compared, as the seeds' table does, with multinomial logistic
regression and with an L2-regularised MLP.

    python -m pyengine.examples.mlp [--epochs 20] [--models logreg,mlp-l2,mlp-dropout]
                                    [--mnist-root DIR] [--plot mlp_curves.png] [--device cpu|cuda]
    mpiexec -n 2 python -m pyengine.examples.mlp ...   (data-parallel over 2 processes)

Published Fashion-MNIST figures for comparison: logistic regression about 84% test accuracy,
an MLP of this size 88-90%.
"""
import time

import numpy as np

import pyengine as pe
from pyengine import nn
from pyengine.data import DataLoader, TensorDataset
from pyengine.data.datasets import MNIST, FashionMNIST

from ._cli import example_parser, model_list, non_negative, positive
from ._distributed import DataParallelRun
from ._training import add_device_argument, device_note, fit, plot_curves, resolve_device, run_epoch

MODELS = ("logreg", "mlp", "mlp-l2", "mlp-dropout")
# Per-pixel statistics of the Fashion-MNIST training set (inputs scaled to [0, 1]).
MEAN, STD = 0.2860, 0.3530


def build(model_name):
    if model_name == "logreg":
        return nn.Sequential(nn.Linear(784, 10))
    dropout = 0.2 if model_name == "mlp-dropout" else 0.0
    layers = [nn.Linear(784, 256), nn.ReLU()]
    layers += [nn.Dropout(dropout)] if dropout else []
    layers += [nn.Linear(256, 128), nn.ReLU()]
    layers += [nn.Dropout(dropout)] if dropout else []
    layers += [nn.Linear(128, 10)]  # logits: CrossEntropyLoss applies the (log-)softmax
    return nn.Sequential(*layers)


def load(mnist_root, val_size, seed):
    """Flattened, normalised tensors: (train, validation, test) TensorDatasets."""
    ds = MNIST if mnist_root else FashionMNIST
    kwargs = {"root": mnist_root} if mnist_root else {}
    train, test = ds(train=True, **kwargs), ds(train=False, **kwargs)

    def prepare(images):
        return pe.tensor(((images.reshape(len(images), 784).astype(np.float32) / 255.0) - MEAN) / STD)

    order = np.random.default_rng(seed).permutation(len(train))
    val_idx, train_idx = order[:val_size], order[val_size:]
    make = lambda images, labels: TensorDataset(prepare(images), pe.tensor(labels))  # noqa: E731
    return (make(train.data[train_idx], train.targets[train_idx]), make(train.data[val_idx], train.targets[val_idx]),
            make(test.data, test.targets))


def main(argv=None):
    p = example_parser("pyengine-mlp", __doc__)
    p.add_argument("--epochs", type=positive, default=20, help="training epochs per model (early stopping may end "
                   "sooner)")
    p.add_argument("--models", type=model_list(MODELS), default="logreg,mlp-l2,mlp-dropout",
                   help=f"comma-separated models to train, of {','.join(MODELS)} (mlp: no regularisation)")
    p.add_argument("--batch-size", type=positive, default=128, help="training images per step")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate (cosine decay over the epochs)")
    p.add_argument("--l2", type=float, default=1e-4, help="ridge penalty on weights (not biases) for mlp-l2")
    p.add_argument("--patience", type=non_negative, default=5, help="early stopping: epochs without a better "
                   "validation accuracy")
    p.add_argument("--val-size", type=positive, default=5000, help="training images held out for validation")
    p.add_argument("--mnist-root", default=None, help="folder with digit-MNIST IDX files (default: Fashion-MNIST)")
    p.add_argument("--plot", default="mlp_curves.png", help="PNG of the learning curves")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights, the split and the shuffling")
    add_device_argument(p)
    args = p.parse_args(argv)
    device = resolve_device(args.device)
    run = DataParallelRun(device)
    device = run.device(device)

    pe.manual_seed(args.seed)
    train, val, test = load(args.mnist_root, args.val_size, args.seed)
    data_name = "MNIST" if args.mnist_root else "Fashion-MNIST"
    print(f"{data_name}: {len(train)} training, {len(val)} validation, {len(test)} test images; "
          f"{device_note(device)}{run.note()}")
    train_loader = run.train_loader(DataLoader(train, batch_size=args.batch_size, shuffle=True, generator=args.seed),
                                    args.seed)
    val_loader = DataLoader(val, batch_size=1000)
    test_loader = DataLoader(test, batch_size=1000)
    loss_fn = nn.CrossEntropyLoss()

    histories, results = {}, []
    for name in args.models:
        model = build(name).to(device)  # before the optimizer: it holds these parameters
        if name != "logreg":
            nn.summary(model, (784,))
        model = run.model(model)
        optimizer = pe.optim.Adam(model.parameters(), lr=args.lr)
        scheduler = pe.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
        weights = nn.weight_parameters(model)
        penalty = (lambda: args.l2 * nn.l2_penalty(weights)) if name == "mlp-l2" else None
        stopper = nn.EarlyStopping(patience=args.patience, mode="max")
        start = time.perf_counter()
        history = fit(model, train_loader, val_loader, loss_fn, optimizer, args.epochs, scheduler, penalty,
                      stopper, name, device=device)
        wall = time.perf_counter() - start
        _, test_acc = run_epoch(model, test_loader, loss_fn, desc=f"{name} test", device=device)
        histories[name] = history
        run.report_throughput(train_loader, history["epoch_seconds"])
        params = sum(p.numel() for p in model.parameters())
        results.append((name, params, len(history["val_acc"]), stopper.best_epoch + 1, stopper.best, test_acc,
                        float(np.mean(history["epoch_seconds"])), wall))

    print(f"\n{data_name} results (test accuracy of the weights with the best validation accuracy)")
    print(f"{'model':12s} {'params':>8s} {'epochs':>6s} {'best':>5s} {'val acc':>8s} {'test acc':>8s} "
          f"{'s/epoch':>8s}")
    for name, params, epochs, best, val_acc, test_acc, sec, _ in results:
        print(f"{name:12s} {params:8,d} {epochs:6d} {best:5d} {val_acc:8.4f} {test_acc:8.4f} {sec:8.2f}")
    if run.is_main and plot_curves(histories, args.plot, f"{data_name}: training (dashed) and validation (solid)"):
        print(f"learning curves saved to {args.plot}")
    return {name: test_acc for name, _, _, _, _, test_acc, _, _ in results}


def cli():
    """Console-script entry point: run, and exit 0 (main() returns its figures for callers)."""
    main()


if __name__ == "__main__":
    cli()
