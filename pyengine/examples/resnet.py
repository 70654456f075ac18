"""A small ResNet with batch norm on Fashion-MNIST, against the plain network of the same depth.

    python -m pyengine.examples.resnet [--depth 44] [--widths 8,16,32] [--epochs 5]
                                       [--train-size 8000] [--plot resnet_curves.png] [--device cpu|cuda]

The defaults (44 layers, a subset of the training images) show the effect in about half an hour
on two cores; `--depth 20 --widths 16,32,64 --train-size 55000` is the paper's ResNet-20 shape.

Both networks have exactly the same layers (3x3 convolutions with batch norm, three stages,
global average pooling, a linear classifier); the residual one adds identity (or 1x1-projection)
shortcuts around every pair of convolutions. The seeds' degradation argument: the deeper a plain
network, the *worse* it trains - its training loss, not only its test error, stays higher - while
the residual network of the same depth keeps improving. Both learning curves go in one plot.
"""
import argparse
import time

import numpy as np

import pyengine as pe
from pyengine import nn
from pyengine.models import resnet

from ._cli import example_parser, model_list, positive
from ._images import image_loaders
from ._training import add_device_argument, device_note, fit, plot_curves, resolve_device, run_epoch


MODELS = ("plain", "residual")


def channel_counts(text):
    """--widths: comma-separated positive channel counts, one per stage."""
    try:
        return tuple(positive(w) for w in text.split(","))
    except argparse.ArgumentTypeError as e:
        raise argparse.ArgumentTypeError(f"expected comma-separated channel counts: {e}") from None


def main(argv=None):
    p = example_parser("pyengine-resnet", __doc__)
    p.add_argument("--depth", type=positive, default=44,
                   help="layers: 2 x stages x n + 2, so 6n + 2 with three stages (20, 32, 44, 56, ...)")
    p.add_argument("--widths", type=channel_counts, default="8,16,32", help="channels of the stages")
    p.add_argument("--epochs", type=positive, default=5, help="training epochs")
    p.add_argument("--batch-size", type=positive, default=128, help="training images per step")
    p.add_argument("--lr", type=float, default=0.1, help="SGD learning rate (momentum 0.9, cosine decay)")
    p.add_argument("--weight-decay", type=float, default=5e-4, help="SGD's L2 weight decay")
    p.add_argument("--models", type=model_list(MODELS), default="plain,residual",
                   help=f"comma-separated networks to train, of {','.join(MODELS)}")
    p.add_argument("--val-size", type=positive, default=2000, help="training images held out for validation")
    p.add_argument("--train-size", type=positive, default=8000, help="use only this many training images")
    p.add_argument("--mnist-root", default=None, help="folder with digit-MNIST IDX files (default: Fashion-MNIST)")
    p.add_argument("--plot", default="resnet_curves.png", help="PNG of the learning curves")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights, the split, the shuffling and "
                   "the augmentation")
    add_device_argument(p)
    args = p.parse_args(argv)
    try:  # a depth that does not fit the stages is a usage error, found before any data is read
        resnet(args.depth, args.widths)
    except ValueError as e:
        p.error(f"--depth/--widths: {e}")
    device = resolve_device(args.device)

    widths = args.widths
    train_loader, val_loader, test_loader, data_name = image_loaders(
        args.mnist_root, args.val_size, args.batch_size, args.seed, shift=2, flip=True, train_size=args.train_size)
    print(f"{data_name}: {len(train_loader.sampler)} training (augmented), {len(val_loader.sampler)} validation, "
          f"{len(test_loader.sampler)} test images; {device_note(device)}")
    loss_fn = nn.CrossEntropyLoss()
    histories, results = {}, []
    for kind in args.models:
        pe.manual_seed(args.seed)  # same initial convolutions for both networks
        model = resnet(args.depth, widths, skip=(kind == "residual")).to(device)
        name = f"{kind}-{args.depth}"
        params = sum(p.numel() for p in model.parameters())
        print(f"{name}: {params:,} parameters")
        optimizer = pe.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=args.weight_decay)
        scheduler = pe.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
        start = time.perf_counter()
        history = fit(model, train_loader, val_loader, loss_fn, optimizer, args.epochs, scheduler, name=name,
                      device=device)
        wall = time.perf_counter() - start
        _, test_acc = run_epoch(model, test_loader, loss_fn, desc=f"{name} test", device=device)
        histories[name] = history
        results.append((name, params, history["train_loss"][-1], history["train_acc"][-1], history["val_acc"][-1],
                        test_acc, float(np.mean(history["epoch_seconds"])), wall))

    print(f"\n{data_name}, depth {args.depth}, widths {widths}, {args.epochs} epochs (final epoch's weights)")
    print(f"{'model':12s} {'params':>8s} {'train loss':>10s} {'train acc':>9s} {'val acc':>8s} {'test acc':>8s} "
          f"{'s/epoch':>8s}")
    for name, params, tl, ta, va, test_acc, sec, _ in results:
        print(f"{name:12s} {params:8,d} {tl:10.4f} {ta:9.4f} {va:8.4f} {test_acc:8.4f} {sec:8.1f}")
    if plot_curves(histories, args.plot, f"{data_name}: plain vs residual, depth {args.depth} "
                                         f"(training dashed, validation solid)"):
        print(f"learning curves saved to {args.plot}")
    return {name: {"train_loss": tl, "test_acc": test_acc} for name, _, tl, _, _, test_acc, _, _ in results}


def cli():
    """Console-script entry point: run, and exit 0 (main() returns its figures for callers)."""
    main()


if __name__ == "__main__":
    cli()
