"""The lottery ticket experiment on the seeds' MLP (784 -> 256 -> 128 -> 10) and Fashion-MNIST:
iterative magnitude pruning with rewinding. Train, prune a fraction of the remaining weights
(per layer or globally), rewind the survivors to their initial values (or to those of an early
iteration), retrain; compared with the same sparsity masks trained from a fresh random
initialisation.

    pyengine-lottery [--rounds 15] [--prune-rate 0.2] [--scope layer|global] [--rewind-iter 0]
                     [--epochs 2] [--train-size 10000] [--compare-every 3] [--plot lottery.png]

With 20% per round, rounds 3, 6, 9, 12 and 15 leave about 51%, 26%, 13%, 6.9% and 3.6% of the
weights. Frankle & Carbin (2019) find the rewound tickets match the dense network's accuracy
down to a few percent of the weights, while the random re-initialisations fall off earlier.
Full run: --train-size 55000 --epochs 10 --compare-every 1.
"""
import argparse

import numpy as np

import pyengine as pe
from pyengine import nn
from pyengine.data import DataLoader, TensorDataset
from pyengine.nn.utils import prune

from ._cli import example_parser, non_negative, positive
from ._training import add_device_argument, device_note, fit, pyplot_or_warn, resolve_device, run_epoch
from .mlp import build, load

SCOPES = ("layer", "global")


def prunable(model):
    """The (module, "weight") pairs pruned: every Linear layer's weight (biases are kept, as in
    the paper)."""
    return [(m, "weight") for m in model.modules() if isinstance(m, nn.Linear)]


def reparametrise(model, masks=None):
    """Give every prunable weight its weight_orig / weight_mask pair (all ones, or `masks`), so the
    state_dict has the same keys in every round and the rewind can copy weight_orig back."""
    for i, (module, name) in enumerate(prunable(model)):
        if masks is None:
            prune.identity(module, name)
        else:
            prune.custom_from_mask(module, name, masks[i])
    return model


def masks_of(model):
    return [getattr(m, name + "_mask").detach().clone() for m, name in prunable(model)]


def density(masks):
    """The fraction of prunable weights still in use."""
    return sum(float(m.sum().item()) for m in masks) / sum(m.numel() for m in masks)


def snapshot(model):
    """The trainable values (weight_orig, biases), copied: deepcopy of a pruned module fails until
    a forward pass has run (as in PyTorch), so copies are kept as state_dicts."""
    return {k: v.detach().clone() for k, v in model.state_dict().items() if not k.endswith("_mask")}


def rewind(model, state):
    """Put the snapshot's values back, keeping the current masks."""
    with pe.no_grad():
        current = model.state_dict()
        for k, v in state.items():
            current[k].copy_(v)


def prune_round(model, rate, scope):
    """Prune `rate` of the still-unpruned weights by magnitude of the trained values: per layer,
    or ranked across all layers together."""
    pairs = prunable(model)
    # weight_orig, not module.weight: the latter is refreshed only by the next forward pass
    scores = {(m, name): getattr(m, name + "_orig").detach() for m, name in pairs}
    if scope == "global":
        prune.global_unstructured(pairs, pruning_method=prune.L1Unstructured, importance_scores=scores,
                                  amount=rate)
    else:
        for m, name in pairs:
            prune.l1_unstructured(m, name, amount=rate, importance_scores=scores[(m, name)])


class RewindPoint:
    """Stepped after every optimizer step (as fit's batch_scheduler): snapshots the model after
    `iteration` steps, the values a ticket is rewound to."""

    def __init__(self, model, iteration):
        self.model, self.iteration, self.steps = model, iteration, 0
        self.state = snapshot(model) if iteration == 0 else None

    def step(self):
        self.steps += 1
        if self.steps == self.iteration:
            self.state = snapshot(self.model)


def train(model, loaders, epochs, lr, name, device, batch_scheduler=None):
    """A fresh Adam for each round; returns the test accuracy after `epochs`."""
    train_loader, val_loader, test_loader = loaders
    loss_fn = nn.CrossEntropyLoss()
    optimizer = pe.optim.Adam(model.parameters(), lr=lr)
    fit(model, train_loader, val_loader, loss_fn, optimizer, epochs, name=name, device=device,
        batch_scheduler=batch_scheduler)
    return run_epoch(model, test_loader, loss_fn, desc=f"{name} test", device=device)[1]


def lottery(make_model, loaders, rounds, rate, scope="layer", rewind_iter=0, epochs=2, lr=1.2e-3,
            compare_every=3, seed=0, device=None, on_round=None):
    """Iterative magnitude pruning with rewinding. `make_model()` builds a fresh (unpruned) model;
    returns a list of per-round dicts: round, density (fraction of weights left), ticket accuracy,
    and (every `compare_every` rounds and the last) the random re-initialisation's accuracy.
    `on_round(round, model, rewound_state)` is called after each rewind (for tests)."""
    device = device or pe.device("cpu")
    pe.manual_seed(seed)
    model = reparametrise(make_model()).to(device)
    point = RewindPoint(model, rewind_iter)
    results = []
    for r in range(rounds + 1):
        masks = masks_of(model)
        row = {"round": r, "density": density(masks)}
        print(f"round {r}: {100 * row['density']:.1f}% of the weights", flush=True)
        row["ticket"] = train(model, loaders, epochs, lr, f"ticket r{r}", device,
                              batch_scheduler=point if r == 0 else None)
        if r == 0 and point.state is None:
            raise ValueError(f"rewind_iter={rewind_iter} is beyond the {point.steps} steps of the first training")
        if r > 0 and (r % compare_every == 0 or r == rounds):
            pe.manual_seed(seed + 1000 + r)  # a different draw: same masks, fresh random weights
            other = reparametrise(make_model(), [m.to("cpu") for m in masks]).to(device)
            row["random"] = train(other, loaders, epochs, lr, f"random r{r}", device)
        results.append(row)
        if r < rounds:
            prune_round(model, rate, scope)
            rewind(model, point.state)
            if on_round is not None:
                on_round(r + 1, model, point.state)
    return results


def plot(results, path, title):
    plt = pyplot_or_warn(path)
    if plt is None:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ticket = [(100 * row["density"], row["ticket"]) for row in results]
    random = [(100 * row["density"], row["random"]) for row in results if "random" in row]
    ax.plot(*zip(*ticket), marker="o", label="winning ticket (rewound)")
    if random:
        ax.plot(*zip(*random), marker="s", linestyle="--", label="same masks, random re-init")
    ax.set_xscale("log")
    marks = [100 * row["density"] for row in results if "random" in row or row["round"] == 0]
    ax.set_xticks(marks, [f"{m:.3g}" for m in marks])  # the compared rounds' densities, not just decades
    ax.minorticks_off()
    ax.invert_xaxis()  # left to right: more and more pruned
    ax.set(xlabel="weights remaining (%), log scale", ylabel="test accuracy", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def print_table(results):
    print(f"\n{'round':>5s} {'weights':>8s} {'ticket':>8s} {'random':>8s}")
    for row in results:
        random = f"{row['random']:8.4f}" if "random" in row else f"{'-':>8s}"
        print(f"{row['round']:5d} {100 * row['density']:7.1f}% {row['ticket']:8.4f} {random}")


def fraction(text):
    """An argparse type: a float strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {value}")
    return value


def main(argv=None):
    p = example_parser("pyengine-lottery", __doc__)
    p.add_argument("--rounds", type=non_negative, default=15, help="pruning rounds after the dense training")
    p.add_argument("--prune-rate", type=fraction, default=0.2, help="fraction of the remaining weights pruned "
                   "per round")
    p.add_argument("--scope", choices=SCOPES, default="layer", help="rank weights per layer or across all layers")
    p.add_argument("--rewind-iter", type=non_negative, default=0, help="rewind to the weights after this many "
                   "training steps (0: the initialisation)")
    p.add_argument("--epochs", type=positive, default=2, help="training epochs per round")
    p.add_argument("--compare-every", type=positive, default=3, help="train the random re-initialisation every "
                   "this many rounds (and at the last)")
    p.add_argument("--train-size", type=positive, default=10000, help="training images used (at most 55000)")
    p.add_argument("--val-size", type=positive, default=2000, help="training images held out for validation")
    p.add_argument("--batch-size", type=positive, default=128, help="training images per step")
    p.add_argument("--lr", type=float, default=1.2e-3, help="Adam's learning rate (the paper's for this MLP)")
    p.add_argument("--mnist-root", default=None, help="folder with digit-MNIST IDX files (default: Fashion-MNIST)")
    p.add_argument("--plot", default="lottery.png", help="PNG of accuracy against weights remaining ('' for none)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, the split and the shuffling")
    add_device_argument(p)
    args = p.parse_args(argv)
    if not (args.lr > 0):
        p.error(f"argument --lr: must be > 0, got {args.lr}")
    device = resolve_device(args.device)

    train, val, test = load(args.mnist_root, args.val_size, args.seed)
    train = TensorDataset(*(t[:args.train_size] for t in train.tensors))  # the first images of the shuffled split
    steps = args.epochs * -(-len(train) // args.batch_size)
    if args.rewind_iter > steps:
        p.error(f"argument --rewind-iter: {args.rewind_iter} is beyond the {steps} steps of the first training")
    data_name = "MNIST" if args.mnist_root else "Fashion-MNIST"
    print(f"{data_name}: {len(train)} training, {len(val)} validation, {len(test)} test images; "
          f"{device_note(device)}; {args.scope}-wise pruning of {100 * args.prune_rate:g}% per round")
    loaders = (DataLoader(train, batch_size=args.batch_size, shuffle=True, generator=args.seed),
               DataLoader(val, batch_size=1000), DataLoader(test, batch_size=1000))
    results = lottery(lambda: build("mlp"), loaders, args.rounds, args.prune_rate, args.scope, args.rewind_iter,
                      args.epochs, args.lr, args.compare_every, args.seed, device)

    print(f"\n{data_name}: test accuracy of the rewound tickets and of the same masks randomly re-initialised")
    print_table(results)
    if args.plot and plot(results, args.plot, f"{data_name} MLP: iterative magnitude pruning ({args.scope}-wise)"):
        print(f"plot saved to {args.plot}")
    return results


def cli():
    """Console-script entry point: run, and exit 0 (main() returns its figures for callers)."""
    main()


if __name__ == "__main__":
    cli()
