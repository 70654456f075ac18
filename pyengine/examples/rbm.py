"""A Bernoulli restricted Boltzmann machine on binarised Fashion-MNIST, trained with contrastive
divergence (CD-k) and with persistent contrastive divergence (PCD): the reconstruction error and
the pseudo-log-likelihood per epoch, a PNG of the learned filters and one of the curves; then a
deep belief network, a stack of RBMs pretrained greedily layer by layer, fine-tuned as a
classifier against the same network trained from random initialisation.

    python -m pyengine.examples.rbm [--models cd,pcd] [--k 1] [--epochs 10] [--hidden 256]
        [--dbn-hidden 500,250] [--pretrain-epochs 3] [--finetune-epochs 6] [--binarize threshold|sample]

Model (pyengine.models.RBM). Pixels are binarised (> 0.5, or --binarize sample: a fresh Bernoulli
draw with the pixel's intensity as probability for every batch). The RBM has a weight W of shape
(--hidden, 784) and visible and hidden biases; it is trained with SGD with momentum on
loss = mean F(v_data) - mean F(v_model), F the free energy, whose autograd gradient is the CD
update, with a learning rate decaying linearly to zero (--constant-lr: constant). v_model is
--k Gibbs sweeps (pe.bernoulli sampling) from the batch (cd) or from --chains persistent fantasy
particles that carry over from step to step (pcd).

Per epoch, on the held-out validation images: the reconstruction error of one Gibbs step
(v -> h ~ p(h|v) -> p(v|h)) as mean squared error and binary cross-entropy per pixel, and the
pseudo-log-likelihood per image as scikit-learn's BernoulliRBM.score_samples estimates it
(784 log p(v_i | v_-i) for one random pixel i per image; the same pixels every epoch).

Deep belief network. RBMs of sizes 784-h1-h2-... (--dbn-hidden) are trained one after the other
with CD-k for --pretrain-epochs each, the next on Bernoulli samples of the previous one's hidden
probabilities. The stack becomes an MLP (Linear + Sigmoid per RBM, plus a Linear softmax output
layer: pyengine.models.dbn_classifier), fine-tuned with cross-entropy and SGD with momentum
(cosine-annealed learning rate) for --finetune-epochs, against pyengine.models.sigmoid_mlp of the
same sizes from random initialisation trained the same way; their validation curves are one PNG,
their test accuracies printed.
--data blobs swaps Fashion-MNIST for generated images when the data set is not installed.

Measured (defaults, seed 0, 1 CPU thread of a release build: 2.7 minutes in all, 7.5 on a busy
machine): on the test set CD-1 reaches reconstruction MSE 0.0339 per pixel (cross-entropy 0.117)
and pseudo-log-likelihood -98.5 per image, PCD 0.0371 (0.128) and -105.5 (PCD's chains target
the likelihood itself, which neither figure measures; with a constant learning rate its chains
fall behind and its curves turn back). The 784-500-250-10 network reaches test accuracy 0.846
pretrained against 0.822 from random initialisation after the same 6 fine-tuning epochs.
"""
import time

import numpy as np

import pyengine as pe
from pyengine import nn
from pyengine.data import DataLoader, TensorDataset
from pyengine.models import RBM, dbn_classifier, sigmoid_mlp

from ._cli import example_parser, model_list, positive
from ._training import add_device_argument, device_note, finish_figure, fit, plot_curves, pyplot_or_warn, \
    resolve_device, run_epoch
from .autoencoder import load_images

MODELS = ("cd", "pcd")
BINARIZE = ("threshold", "sample")


def binarize(x, how):
    """0/1 pixels: x > 0.5, or one Bernoulli draw per pixel with probability x (pe.bernoulli)."""
    return (x > 0.5).to(x.dtype) if how == "threshold" else pe.bernoulli(x)


def rbm_statistics(rbm, v, pll_index, batch_size=2000):
    """Mean per-pixel reconstruction MSE and binary cross-entropy of one Gibbs step, and the mean
    pseudo-log-likelihood per image (pixel pll_index[n] flipped for image n), over the 0/1 rows v."""
    se = ce = pll = 0.0
    for i in range(0, v.shape[0], batch_size):
        batch = v[i:i + batch_size]
        recon = rbm.reconstruct(batch)
        se += float(((recon - batch) ** 2).sum().item())
        ce += float(nn.functional.binary_cross_entropy(recon.clamp(1e-7, 1 - 1e-7), batch, reduction="sum").item())
        pll += float(rbm.pseudo_log_likelihood(batch, pll_index[i:i + batch_size]).sum().item())
    pixels = v.shape[0] * v.shape[1]
    return {"recon_mse": se / pixels, "recon_bce": ce / pixels, "pll": pll / v.shape[0]}


def train_rbm(name, rbm, data, args, epochs, how, persistent=False, evaluate=None):
    """CD-k (or PCD, with persistent fantasy chains) on the rows of `data` (probabilities in
    [0, 1], binarised per batch by `how`) with SGD + momentum. After each epoch prints (and
    records) the mean free-energy gap F(data) - F(model) and `evaluate(rbm)`'s statistics."""
    from tqdm import tqdm
    loader = DataLoader(TensorDataset(data), batch_size=args.batch_size, shuffle=True, generator=args.seed)
    optimizer = pe.optim.SGD(rbm.parameters(), lr=args.lr, momentum=args.momentum)
    total_steps = epochs * len(loader)
    # a learning rate decaying linearly to zero, as in Tieleman's PCD: the fantasy chains must mix
    # faster than the weights move, and a constant rate leaves them stuck in the model's modes
    scheduler = None if args.constant_lr else pe.optim.lr_scheduler.LambdaLR(optimizer,
                                                                          lambda step: 1 - step / total_steps)
    chains = None
    if persistent:  # fantasy particles start as random images and are never reset
        chains = pe.bernoulli(pe.full((args.chains, rbm.n_visible), 0.5, device=data.device))
    history = {"gap": [], "epoch_seconds": []}
    for epoch in range(1, epochs + 1):
        start, total, steps = time.perf_counter(), 0.0, 0
        for (x,) in tqdm(loader, desc=f"{name} epoch {epoch}", leave=False, unit="batch", mininterval=0.5):
            loss = rbm.contrastive_divergence(binarize(x, how), k=args.k, chains=chains)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            total, steps = total + float(loss.item()), steps + 1
        history["gap"].append(total / steps)
        history["epoch_seconds"].append(time.perf_counter() - start)
        line = f"  {name:10s} epoch {epoch:2d}: F(data) - F(model) {total / steps:8.3f}"
        if evaluate is not None:
            for key, value in evaluate(rbm).items():
                history.setdefault(key, []).append(value)
            line += (f" | validation recon MSE {history['recon_mse'][-1]:.4f} BCE {history['recon_bce'][-1]:.4f}"
                     f" pseudo-LL {history['pll'][-1]:8.2f}")
        print(f"{line} | {history['epoch_seconds'][-1]:.1f} s", flush=True)
    return history


def pretrain_stack(x_train, x_input, sizes, args):
    """Greedy layer-wise pretraining: one RBM per pair of consecutive sizes, each trained with CD-k
    on the previous one's hidden probabilities given `x_input` (the network's input: the
    thresholded pixels, or the intensities themselves with --binarize sample), Bernoulli-sampled
    per batch; the first on the pixels x_train, binarised per batch as --binarize says."""
    rbms, data, features = [], x_train, x_input
    for layer, (n_visible, n_hidden) in enumerate(zip(sizes[:-1], sizes[1:]), 1):
        pe.manual_seed(args.seed + layer)
        rbm = RBM(n_visible, n_hidden).to(x_train.device)
        train_rbm(f"dbn rbm {layer}", rbm, data, args, args.pretrain_epochs, args.binarize if layer == 1 else "sample")
        with pe.no_grad():
            data = features = pe.cat([rbm.hidden_probs(features[i:i + 5000])
                                      for i in range(0, features.shape[0], 5000)])
        rbms.append(rbm)
    return rbms


def finetune(name, model, loaders, args, device):
    """Cross-entropy, SGD with momentum 0.9 and a learning rate annealed to zero on a cosine over
    --finetune-epochs: the history of pyengine's fit()."""
    optimizer = pe.optim.SGD(model.parameters(), lr=args.finetune_lr, momentum=0.9)
    scheduler = pe.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.finetune_epochs)
    return fit(model, loaders[0], loaders[1], nn.CrossEntropyLoss(), optimizer, args.finetune_epochs,
               scheduler=scheduler, name=name, device=device)


def filter_grid(weight, count=100, side=28):
    """The first `count` rows of weight as side x side images tiled in a square grid (one pixel of
    gap), each scaled to [0, 1] by its own largest |w| (grey is zero)."""
    w = weight[:count]
    cols = int(np.ceil(np.sqrt(len(w))))
    rows = -(-len(w) // cols)
    grid = np.full((rows * (side + 1) + 1, cols * (side + 1) + 1), 0.5)
    for n, row in enumerate(w):
        image = 0.5 + 0.5 * row.reshape(side, side) / max(np.abs(row).max(), 1e-12)
        r, c = divmod(n, cols)
        grid[1 + r * (side + 1):(r + 1) * (side + 1), 1 + c * (side + 1):(c + 1) * (side + 1)] = image
    return grid


def plot_filters(weights, path, title):
    """One panel per model: the grid of its first 100 hidden units' weights as 28x28 images."""
    plt = pyplot_or_warn(path)
    if plt is None:
        return False
    fig, axes = plt.subplots(1, len(weights), figsize=(6 * len(weights), 6.4), squeeze=False)
    for (name, w), ax in zip(weights.items(), axes[0]):
        ax.imshow(filter_grid(w), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set(title=f"{name}: first {min(100, len(w))} of {len(w)} hidden units", xticks=[], yticks=[])
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1, 0.97))  # room for the title above the panels' own
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def plot_rbm_curves(histories, path, title):
    """Validation reconstruction error and pseudo-log-likelihood per epoch, one line per model."""
    plt = pyplot_or_warn(path)
    if plt is None:
        return False
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
    panels = (("recon_mse", "reconstruction MSE per pixel"), ("recon_bce", "reconstruction cross-entropy per pixel"),
              ("pll", "pseudo-log-likelihood per image"))
    for i, (name, h) in enumerate(histories.items()):
        epochs = np.arange(1, len(h["pll"]) + 1)
        for ax, (key, _) in zip(axes, panels):
            ax.plot(epochs, h[key], color=f"C{i}", marker="o", markersize=3, label=name)
    for ax, (_, label) in zip(axes, panels):
        ax.set(xlabel="epoch", ylabel=label, title=f"validation {label}")
    return finish_figure(fig, axes, path, title)


def main(argv=None):
    p = example_parser("pyengine-rbm", __doc__)
    p.add_argument("--models", type=model_list(MODELS), default=",".join(MODELS),
                   help="RBMs to train: cd (CD-k from the data), pcd (persistent chains); comma-separated")
    p.add_argument("--epochs", type=positive, default=10, help="training epochs per RBM")
    p.add_argument("--k", type=positive, default=1, help="Gibbs sweeps per contrastive-divergence step")
    p.add_argument("--hidden", type=positive, default=256, help="hidden units of the RBMs")
    p.add_argument("--chains", type=positive, default=64, help="pcd: persistent fantasy chains")
    p.add_argument("--batch-size", type=positive, default=64, help="images per step")
    p.add_argument("--lr", type=float, default=0.1, help="SGD learning rate of the RBMs")
    p.add_argument("--momentum", type=float, default=0.5, help="SGD momentum of the RBMs")
    p.add_argument("--constant-lr", action="store_true",
                   help="keep the RBMs' learning rate constant (default: it decays linearly to 0 over the epochs)")
    p.add_argument("--binarize", choices=BINARIZE, default="threshold",
                   help="pixels > 0.5, or a Bernoulli sample with the pixel as probability per batch")
    p.add_argument("--dbn-hidden", default="500,250",
                   help="hidden sizes of the deep belief network's RBM stack, comma-separated ('' for no DBN)")
    p.add_argument("--pretrain-epochs", type=positive, default=3, help="CD epochs per RBM of the stack")
    p.add_argument("--finetune-epochs", type=positive, default=6, help="classifier training epochs (both inits)")
    p.add_argument("--finetune-lr", type=float, default=0.1, help="SGD learning rate of the classifiers")
    p.add_argument("--train-size", type=positive, default=60000,
                   help="training images (a random subset), --val-size of them held out")
    p.add_argument("--val-size", type=positive, default=5000, help="training images held out for validation")
    p.add_argument("--test-size", type=positive, default=None, help="test images (default: all 10,000)")
    p.add_argument("--data", choices=("fashion-mnist", "blobs"), default="fashion-mnist",
                   help="Fashion-MNIST, or generated blob images")
    p.add_argument("--plot", default="rbm_curves.png", help="PNG of the per-epoch RBM curves ('' for none)")
    p.add_argument("--filters", default="rbm_filters.png", help="PNG of the RBMs' filters ('' for none)")
    p.add_argument("--dbn-plot", default="dbn_finetune.png", help="PNG of the fine-tuning curves ('' for none)")
    p.add_argument("--seed", type=int, default=0, help="seed of the subset, the split, the weights and the sampling")
    add_device_argument(p)
    args = p.parse_args(argv)
    for option in ("lr", "finetune_lr"):
        if not getattr(args, option) > 0:
            p.error(f"argument --{option.replace('_', '-')}: must be > 0, got {getattr(args, option)}")
    if not 0 <= args.momentum < 1:
        p.error(f"argument --momentum: must be in [0, 1), got {args.momentum}")
    try:
        dbn_hidden = [positive(s) for s in args.dbn_hidden.split(",") if s.strip()]
    except Exception as e:
        p.error(f"argument --dbn-hidden: {e}")
    if args.val_size >= args.train_size:
        p.error(f"argument --val-size: must be below --train-size ({args.train_size}), got {args.val_size}")
    device = resolve_device(args.device)

    (images, labels), (test_images, test_labels), _, data_name = load_images(args.data, args.train_size,
                                                                             args.test_size, args.seed)
    x = pe.tensor(images.reshape(len(images), -1)).to(device)
    y = pe.tensor(labels).to(device)
    x_train, y_train, x_val, y_val = x[args.val_size:], y[args.val_size:], x[:args.val_size], y[:args.val_size]
    x_test = pe.tensor(test_images.reshape(len(test_images), -1)).to(device)
    pe.manual_seed(args.seed)
    v_val, v_test = binarize(x_val, args.binarize), binarize(x_test, args.binarize)  # fixed evaluation sets
    val_index = pe.randint(0, 784, (len(v_val),), device=device)
    test_index = pe.randint(0, 784, (len(v_test),), device=device)
    print(f"{data_name}: {len(x_train)} training, {len(x_val)} validation, {len(x_test)} test images, "
          f"binarised by {args.binarize}; {device_note(device)}", flush=True)

    results, histories = {}, {}
    for name in args.models:
        pe.manual_seed(args.seed)  # the same initial weights for both
        rbm = RBM(784, args.hidden).to(device)
        label = f"{name}-{args.k}" if name == "cd" else name
        histories[label] = train_rbm(label, rbm, x_train, args, args.epochs, args.binarize, persistent=name == "pcd",
                                     evaluate=lambda r: rbm_statistics(r, v_val, val_index))
        results[label] = dict(rbm_statistics(rbm, v_test, test_index), weight=rbm.weight.detach().cpu().numpy(),
                              seconds_per_epoch=float(np.mean(histories[label]["epoch_seconds"])))

    dbn = None
    if dbn_hidden:
        sizes = [784] + dbn_hidden
        print(f"\ndeep belief network {'-'.join(map(str, sizes))}-10: greedy pretraining, then fine-tuning", flush=True)
        # the network's input: thresholded pixels, or with --binarize sample the intensities (their mean)
        inputs = {"train": binarize(x_train, "threshold") if args.binarize == "threshold" else x_train,
                  "val": v_val if args.binarize == "threshold" else x_val}
        rbms = pretrain_stack(x_train, inputs["train"], sizes, args)
        loaders = (DataLoader(TensorDataset(inputs["train"], y_train), batch_size=args.batch_size, shuffle=True,
                              generator=args.seed),
                   DataLoader(TensorDataset(inputs["val"], y_val), batch_size=1000))
        test_input = v_test if args.binarize == "threshold" else x_test
        test_loader = DataLoader(TensorDataset(test_input, pe.tensor(test_labels).to(device)), batch_size=1000)
        dbn = {}
        for name in ("pretrained", "random init"):
            pe.manual_seed(args.seed)  # the same output layer (and, for random init, hidden layers) each run
            model = dbn_classifier(rbms, 10) if name == "pretrained" else sigmoid_mlp(sizes, 10).to(device)
            history = finetune(name, model, loaders, args, device)
            _, history["test_acc"] = run_epoch(model, test_loader, nn.CrossEntropyLoss(), desc=f"{name} test")
            dbn[name] = history

    print(f"\n{data_name} RBMs ({args.hidden} hidden, {args.epochs} epochs, k={args.k}), on the test set:")
    print(f"{'model':8s} {'recon MSE':>10s} {'recon BCE':>10s} {'pseudo-LL':>10s} {'s/epoch':>8s}")
    for name, r in results.items():
        print(f"{name:8s} {r['recon_mse']:10.4f} {r['recon_bce']:10.4f} {r['pll']:10.2f} {r['seconds_per_epoch']:8.1f}")
    if dbn is not None:
        print(f"deep belief network {'-'.join(map(str, sizes))}-10, {args.finetune_epochs} fine-tuning epochs: "
              + ", ".join(f"test accuracy {h['test_acc']:.4f} {name}" for name, h in dbn.items()), flush=True)

    title = f"{data_name}: Bernoulli RBM, {args.hidden} hidden units, {args.epochs} epochs"
    if args.plot and results and plot_rbm_curves(histories, args.plot, title):
        print(f"curves saved to {args.plot}")
    if args.filters and results and plot_filters({n: r["weight"] for n, r in results.items()}, args.filters,
                                                 f"{title}: filters (weights of each hidden unit)"):
        print(f"filters saved to {args.filters}")
    if args.dbn_plot and dbn is not None and plot_curves(
            dbn, args.dbn_plot, f"{data_name}: DBN {'-'.join(map(str, sizes))}-10, pretrained vs random init"):
        print(f"fine-tuning curves saved to {args.dbn_plot}")
    return {"rbms": results, "histories": histories, "dbn": dbn}


def cli():
    """Console-script entry point: run, and exit 0 (main() returns its figures for callers)."""
    main()


if __name__ == "__main__":
    cli()
