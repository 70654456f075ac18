"""Two generative adversarial networks on Fashion-MNIST: a DCGAN and a Wasserstein GAN with
gradient penalty, each judged by the CNN example's classifier.

    python -m pyengine.examples.gan [--models dcgan,wgan-gp] [--epochs 8] [--train-size 20000]
                                    [--out gan_out] [--classifier cnn_classifier.safetensors]

Both generators map --latent-dim Gaussian noise through a linear layer to (2 width, 7, 7) maps and
two stride-2 ConvTranspose2d layers (7x7 -> 14x14 -> 28x28), with batch norm and ReLU between and
a tanh at the end (pixels are scaled to [-1, 1]). Both discriminators mirror them: two stride-2
Conv2d layers with LeakyReLU(0.2) and a linear layer to one logit.
- dcgan (Radford et al. 2016): batch norm in the discriminator, BCEWithLogitsLoss against real/fake
  labels (the generator maximises log D(G(z))), Adam(lr=2e-4, betas=(0.5, 0.999)).
- wgan-gp (Gulrajani et al. 2017): the critic has layer norm instead of batch norm (the penalty is
  per sample), its loss is mean critic(fake) - mean critic(real) + --gp-lambda times
  (||d critic(x_hat)/d x_hat|| - 1)^2 at random interpolates x_hat (a double backward through
  pe.autograd.grad(create_graph=True)); the generator steps once every --n-critic critic steps;
  Adam(lr=2e-4, betas=(0.0, 0.9)).

After every epoch the generator's images of one fixed noise batch become a row of
OUT/gan_<model>_epochs.png; OUT/gan_<model>_samples.png is a grid of final samples. The quality
figure: a classifier built by the CNN example (pyengine-cnn's model, trained here for
--classifier-epochs on the real training set, or loaded from --classifier when that file exists)
labels --eval-samples generated images. Printed per model and for the real test set as the
reference: the class histogram (also OUT/gan_class_histogram.png), the mean classifier confidence
(largest class probability) and an Inception-score-style figure exp(E_x[KL(p(y|x) || p(y))]),
which is 10 at best (confident and all ten classes equally often) and 1 at worst.

Measured (defaults, seed 0, 1 CPU thread of a release build; 340 s of CPU time, about 6 min on an
idle core): the classifier (1 epoch) has test accuracy 0.879 and scores 7.11 on the real test
images (confidence 0.88); dcgan's samples score 3.13 (confidence 0.58), every class between 5.7%
and 14.6% of them; wgan-gp's, with a fifth as many generator steps (500), score 1.92 (confidence
0.43), trousers and sneakers rarer (2.0%, 3.6%); its Wasserstein estimate falls from 26.0 in
epoch 1 to 6.6 in epoch 8.
"""
import os
import time

import numpy as np

import pyengine as pe
from pyengine import nn

from . import cnn
from ._cli import example_parser, model_list, positive
from ._images import MEAN, STD
from ._training import add_device_argument, device_note, pyplot_or_warn, resolve_device

MODELS = ("dcgan", "wgan-gp")


class Generator(nn.Module):
    """(N, latent_dim) noise -> (N, 1, 28, 28) images in [-1, 1]."""

    def __init__(self, latent_dim=64, width=32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 2 * width * 7 * 7, bias=False), nn.Unflatten(1, (2 * width, 7, 7)),
            nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False),    # 7 -> 14
            nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1), nn.Tanh())           # 14 -> 28

    def forward(self, z):
        return self.net(z)


class Discriminator(nn.Module):
    """(N, 1, 28, 28) images -> (N, 1) logits (DCGAN) or critic scores (WGAN-GP). `norm` is the
    layer after the second convolution: "batch" (DCGAN), "layer" (WGAN-GP: a per-sample norm keeps
    the gradient penalty per sample) or "none"."""

    def __init__(self, width=32, norm="batch"):
        super().__init__()
        norms = {"batch": lambda: nn.BatchNorm2d(2 * width), "layer": lambda: nn.LayerNorm([2 * width, 7, 7]),
                 "none": nn.Identity}
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),               # 28 -> 14
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=norm == "none"),     # 14 -> 7
            norms[norm](), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * width * 7 * 7, 1))

    def forward(self, x):
        return self.net(x)


def gradient_penalty(critic, real, fake):
    """WGAN-GP: mean over the batch of (||d critic(x_hat) / d x_hat||_2 - 1)^2 at x_hat uniformly
    between each real image and a fake one; differentiable (create_graph) so that the critic's
    step follows it."""
    eps = pe.rand(real.shape[0], 1, 1, 1, device=real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    score = critic(x_hat)
    grad, = pe.autograd.grad(score, x_hat, grad_outputs=pe.ones_like(score), create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


class DCGAN:
    """The non-saturating GAN loss: the discriminator learns real -> 1, fake -> 0, the generator
    learns to make the discriminator say 1 for its images."""

    def __init__(self, args, device):
        self.G = Generator(args.latent_dim, args.width).to(device)
        self.D = Discriminator(args.width, norm="batch").to(device)
        self.opt_g = pe.optim.Adam(self.G.parameters(), lr=args.lr, betas=(0.5, 0.999))
        self.opt_d = pe.optim.Adam(self.D.parameters(), lr=args.lr, betas=(0.5, 0.999))
        self.bce = nn.BCEWithLogitsLoss()
        self.latent_dim = args.latent_dim

    def step(self, real, step):
        """One discriminator and one generator step (`step`, the count of earlier calls, is not
        needed); returns {"d_loss", "g_loss"}."""
        n = real.shape[0]
        ones, zeros = pe.ones(n, 1, device=real.device), pe.zeros(n, 1, device=real.device)
        fake = self.G(pe.randn(n, self.latent_dim, device=real.device))
        d_loss = self.bce(self.D(real), ones) + self.bce(self.D(fake.detach()), zeros)
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()
        g_loss = self.bce(self.D(fake), ones)
        self.opt_g.zero_grad()
        g_loss.backward()
        self.opt_g.step()
        return {"d_loss": float(d_loss.item()), "g_loss": float(g_loss.item())}


class WGANGP:
    """The Wasserstein loss with gradient penalty: the critic maximises critic(real) - critic(fake)
    (the Wasserstein estimate) under a soft 1-Lipschitz constraint; the generator, stepped once
    every n_critic critic steps, maximises critic(fake)."""

    def __init__(self, args, device):
        self.G = Generator(args.latent_dim, args.width).to(device)
        self.D = Discriminator(args.width, norm="layer").to(device)
        self.opt_g = pe.optim.Adam(self.G.parameters(), lr=args.lr, betas=(0.0, 0.9))
        self.opt_d = pe.optim.Adam(self.D.parameters(), lr=args.lr, betas=(0.0, 0.9))
        self.latent_dim, self.gp_lambda, self.n_critic = args.latent_dim, args.gp_lambda, args.n_critic

    def step(self, real, step):
        """One critic step, plus a generator step every n_critic-th call (the first included);
        returns {"d_loss", "wasserstein", "gp"} and "g_loss" when the generator stepped."""
        n = real.shape[0]
        with pe.no_grad():
            fake = self.G(pe.randn(n, self.latent_dim, device=real.device))
        wasserstein = self.D(real).mean() - self.D(fake).mean()
        gp = gradient_penalty(self.D, real, fake)
        d_loss = -wasserstein + self.gp_lambda * gp
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()
        figures = {"d_loss": float(d_loss.item()), "wasserstein": float(wasserstein.item()), "gp": float(gp.item())}
        if step % self.n_critic == 0:
            g_loss = -self.D(self.G(pe.randn(n, self.latent_dim, device=real.device))).mean()
            self.opt_g.zero_grad()
            g_loss.backward()
            self.opt_g.step()
            figures["g_loss"] = float(g_loss.item())
        return figures


TRAINERS = {"dcgan": DCGAN, "wgan-gp": WGANGP}


def generate(G, z, batch_size=500):
    """G's images of the noise `z` (eval mode: batch norm uses its running statistics), as a NumPy
    array in [-1, 1]."""
    G.eval()
    with pe.no_grad():
        out = [G(z[i:i + batch_size]).cpu().numpy() for i in range(0, z.shape[0], batch_size)]
    G.train()
    return np.concatenate(out)


def train_gan(name, loader, fixed_z, args, device):
    """Trains one model for args.epochs; returns the trainer, the per-epoch means of its step
    figures (each over the steps that gave it) and the fixed-noise images before training and
    after each epoch (a list of (k, 1, 28, 28) arrays)."""
    from tqdm import tqdm
    pe.manual_seed(args.seed)  # the same initial generator weights for every model
    trainer = TRAINERS[name](args, device)
    history, rows, step = [], [generate(trainer.G, fixed_z)], 0
    for epoch in range(1, args.epochs + 1):
        start, sums, counts = time.perf_counter(), {}, {}
        bar = tqdm(loader, desc=f"{name} epoch {epoch}", leave=False, unit="batch", mininterval=0.5)
        for (x,) in bar:
            figures = trainer.step(x.to(device), step)
            step += 1
            for k, v in figures.items():
                sums[k] = sums.get(k, 0.0) + v
                counts[k] = counts.get(k, 0) + 1
            bar.set_postfix(d=f"{figures['d_loss']:.3f}", refresh=False)
        means = {k: v / counts[k] for k, v in sums.items()}
        means["seconds"] = time.perf_counter() - start
        history.append(means)
        rows.append(generate(trainer.G, fixed_z))
        extra = f" | W estimate {means['wasserstein']:.3f} gp {means['gp']:.4f}" if "wasserstein" in means else ""
        print(f"  {name:8s} epoch {epoch:2d}: D loss {means['d_loss']:.4f} G loss {means['g_loss']:.4f}{extra} "
              f"| {means['seconds']:.1f} s", flush=True)
    return trainer, history, rows


# ------------------------------------------------------------------------------ the quality figure

def classifier_inputs(images):
    """Images in [-1, 1] -> the CNN example's inputs ([0, 1], then its normalisation)."""
    return ((images + 1) / 2 - MEAN) / STD


def get_classifier(args, train_images, train_labels, device):
    """The CNN example's network (cnn.build), loaded from --classifier when that file exists, else
    trained on the real training set for --classifier-epochs with Adam (and saved to --classifier
    when a path is given). Returns it in eval mode."""
    from tqdm import tqdm
    pe.manual_seed(args.seed)
    model = cnn.build(args.classifier_width, convs=args.classifier_convs).to(device)
    if args.classifier and os.path.exists(args.classifier):
        try:
            model.load_state_dict(pe.load(args.classifier))
        except (ValueError, KeyError, RuntimeError) as e:
            raise SystemExit(f"--classifier {args.classifier}: not a state dict of pyengine-cnn's model with "
                             f"--classifier-width {args.classifier_width} --classifier-convs "
                             f"{args.classifier_convs}: {e}") from None
        print(f"classifier: loaded {args.classifier}", flush=True)
        return model.eval()
    from pyengine.data import DataLoader, TensorDataset
    loader = DataLoader(TensorDataset(pe.tensor(classifier_inputs(train_images)), pe.tensor(train_labels)),
                        batch_size=128, shuffle=True, generator=args.seed + 1)
    optimizer = pe.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for epoch in range(1, args.classifier_epochs + 1):
        model.train()
        for x, y in tqdm(loader, desc=f"classifier epoch {epoch}", leave=False, unit="batch", mininterval=0.5):
            loss = loss_fn(model(x.to(device)), y.to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    print(f"classifier: pyengine-cnn's model (width {args.classifier_width}, {args.classifier_convs} conv per block) "
          f"trained {args.classifier_epochs} epoch(s) on {len(train_labels)} real images in "
          f"{time.perf_counter() - start:.1f} s", flush=True)
    if args.classifier:
        pe.save(model.state_dict(), args.classifier)
        print(f"classifier saved to {args.classifier}")
    return model.eval()


def class_probabilities(classifier, images, device, batch_size=500):
    """softmax(classifier) of images in [-1, 1], as an (N, 10) NumPy array."""
    out = []
    with pe.no_grad():
        for i in range(0, len(images), batch_size):
            x = pe.tensor(classifier_inputs(images[i:i + batch_size])).to(device)
            out.append(nn.functional.softmax(classifier(x), dim=1).cpu().numpy())
    return np.concatenate(out).astype(np.float64)


def quality(probs):
    """The class histogram (counts of the most likely class), the mean confidence (mean largest
    probability) and the Inception-score-style exp(E_x[KL(p(y|x) || p(y))]) with p(y) the mean of
    p(y|x) over the samples."""
    p_y = probs.mean(0)
    tiny = 1e-12  # 0 log 0 = 0
    kl = (probs * (np.log(probs + tiny) - np.log(p_y + tiny))).sum(1)
    return {"histogram": np.bincount(probs.argmax(1), minlength=probs.shape[1]),
            "confidence": float(probs.max(1).mean()), "score": float(np.exp(kl.mean()))}


# ------------------------------------------------------------------------------ pictures

def tile(images, cols):
    """(N, 1, 28, 28) images in [-1, 1] -> one (rows*29+1, cols*29+1) array in [0, 1], one pixel of
    white between the tiles."""
    n = len(images)
    rows = -(-n // cols)
    grid = np.ones((rows * 29 + 1, cols * 29 + 1), dtype=np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        grid[1 + r * 29:1 + r * 29 + 28, 1 + c * 29:1 + c * 29 + 28] = (image[0] + 1) / 2
    return grid


def save_epoch_rows(rows, path, title):
    """One row of fixed-noise samples per epoch (row 0: before training)."""
    plt = pyplot_or_warn(path)
    if plt is None:
        return False
    cols = rows[0].shape[0]
    fig, ax = plt.subplots(figsize=(0.45 * cols + 1.2, 0.45 * len(rows) + 0.8))
    ax.imshow(tile(np.concatenate(rows), cols), cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks(29 * np.arange(len(rows)) + 15, ["init"] + [f"epoch {e}" for e in range(1, len(rows))], fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def save_grid(images, path, title, cols=10):
    plt = pyplot_or_warn(path)
    if plt is None:
        return False
    fig, ax = plt.subplots(figsize=(0.5 * cols + 0.4, 0.5 * (-(-len(images) // cols)) + 0.7))
    ax.imshow(tile(images, cols), cmap="gray", vmin=0, vmax=1)
    ax.axis("off")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def save_histograms(figures, classes, path, title):
    """Side-by-side bars: the share of each class the classifier gives, per model and for real images."""
    plt = pyplot_or_warn(path)
    if plt is None:
        return False
    fig, ax = plt.subplots(figsize=(11, 4.2))
    width = 0.8 / len(figures)
    for i, (name, f) in enumerate(figures.items()):
        share = f["histogram"] / f["histogram"].sum()
        ax.bar(np.arange(len(classes)) + (i - (len(figures) - 1) / 2) * width, share, width,
               label=f"{name} (score {f['score']:.2f}, confidence {f['confidence']:.2f})", color=f"C{i}")
    ax.axhline(1 / len(classes), color="grey", linestyle=":", linewidth=1)
    ax.set_xticks(np.arange(len(classes)), classes, fontsize=8)
    ax.set(ylabel="share of samples", title=title)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# ------------------------------------------------------------------------------ data and main

def load_fashion_mnist():
    """((train images, labels), (test images, labels), class names): float32 (N, 1, 28, 28) in
    [-1, 1] and int64 labels."""
    from pyengine.data.datasets import FashionMNIST
    try:
        train, test = FashionMNIST(train=True), FashionMNIST(train=False)
    except FileNotFoundError as e:
        raise SystemExit(f"pyengine-gan: {e}") from None

    def arrays(ds):
        return (ds.data.astype(np.float32) / 127.5 - 1)[:, None], ds.targets.astype(np.int64)
    return arrays(train), arrays(test), list(FashionMNIST.classes)


def main(argv=None):
    p = example_parser("pyengine-gan", __doc__)
    p.add_argument("--models", type=model_list(MODELS), default=",".join(MODELS),
                   help="comma-separated models to train")
    p.add_argument("--epochs", type=positive, default=8, help="training epochs per model")
    p.add_argument("--train-size", type=positive, default=20000, help="training images the GANs see (a random "
                   "subset; the classifier trains on --classifier-train-size)")
    p.add_argument("--batch-size", type=positive, default=64, help="real images per discriminator/critic step")
    p.add_argument("--latent-dim", type=positive, default=64, help="size of the generator's noise input")
    p.add_argument("--width", type=positive, default=32, help="channels of the 14x14 layers (the 7x7 ones have twice)")
    p.add_argument("--lr", type=float, default=2e-4, help="Adam's learning rate, both networks")
    p.add_argument("--n-critic", type=positive, default=5, help="wgan-gp: critic steps per generator step")
    p.add_argument("--gp-lambda", type=float, default=10.0, help="wgan-gp: weight of the gradient penalty")
    p.add_argument("--out", default="gan_out", help="folder for the PNGs ('' for none)")
    p.add_argument("--fixed-samples", type=positive, default=12, help="fixed-noise samples per epoch row")
    p.add_argument("--eval-samples", type=positive, default=10000, help="generated images the classifier labels")
    p.add_argument("--classifier", default=None, help="safetensors state dict of pyengine-cnn's model: loaded when "
                   "the file exists, else written after training it here (default: train, keep nothing)")
    p.add_argument("--classifier-epochs", type=positive, default=1, help="epochs of classifier training on the "
                   "real training set (when not loaded)")
    p.add_argument("--classifier-train-size", type=positive, default=60000, help="real training images the "
                   "classifier trains on (when not loaded)")
    p.add_argument("--classifier-width", type=positive, default=16, help="the classifier's first-block channels")
    p.add_argument("--classifier-convs", type=positive, default=1, help="the classifier's convolutions per block")
    p.add_argument("--seed", type=int, default=0, help="seed of the subset, the weights, the noise and the shuffling")
    add_device_argument(p)
    args = p.parse_args(argv)
    device = resolve_device(args.device)

    (x_train, y_train), (x_test, y_test), classes = load_fashion_mnist()
    subset = np.sort(np.random.default_rng(args.seed).permutation(len(x_train))[:args.train_size])
    x_gan = x_train[subset]
    print(f"Fashion-MNIST: {len(x_gan)} training images in [-1, 1]; latent {args.latent_dim}-D, width "
          f"{args.width}, batch {args.batch_size}; {device_note(device)}", flush=True)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    from pyengine.data import DataLoader, TensorDataset
    loader = DataLoader(TensorDataset(pe.tensor(x_gan)), batch_size=args.batch_size, shuffle=True,
                        generator=args.seed, drop_last=True)
    pe.manual_seed(args.seed + 1)
    fixed_z = pe.randn(args.fixed_samples, args.latent_dim).to(device)
    eval_z = pe.randn(args.eval_samples, args.latent_dim).to(device)

    start = time.perf_counter()
    results = {}
    for name in args.models:
        trainer, history, rows = train_gan(name, loader, fixed_z, args, device)
        results[name] = {"history": history, "epoch_samples": rows, "samples": generate(trainer.G, eval_z)}
    gan_seconds = time.perf_counter() - start

    n = args.classifier_train_size
    classifier = get_classifier(args, x_train[:n], y_train[:n], device)
    real_probs = class_probabilities(classifier, x_test, device)
    test_acc = float((real_probs.argmax(1) == y_test).mean())
    figures = {name: quality(class_probabilities(classifier, r["samples"], device)) for name, r in results.items()}
    figures["real test set"] = quality(real_probs)

    print(f"\nFashion-MNIST GANs, {args.epochs} epochs on {len(x_gan)} images ({gan_seconds / 60:.1f} min); "
          f"classifier test accuracy {test_acc:.4f}")
    print(f"quality of {args.eval_samples} generated images (real: the {len(x_test)} test images), labelled by the "
          "classifier:")
    short = [c.split("/")[0][:7] for c in classes]
    print(f"{'':14s} {'score':>6s} {'conf.':>6s}  " + " ".join(f"{c:>7s}" for c in short))
    for name, f in figures.items():
        print(f"{name:14s} {f['score']:6.3f} {f['confidence']:6.3f}  " + " ".join(f"{c:7d}" for c in f["histogram"]))
    print("(score: exp(E[KL(p(y|x) || p(y))]), 1 to 10; conf.: mean largest class probability; then the class "
          "histogram)", flush=True)

    if args.out:
        for name, r in results.items():
            stem = os.path.join(args.out, f"gan_{name.replace('-', '_')}")
            if save_epoch_rows(r["epoch_samples"], f"{stem}_epochs.png", f"{name}: fixed noise after each epoch"):
                print(f"{name}: samples per epoch saved to {stem}_epochs.png")
            if save_grid(r["samples"][:100], f"{stem}_samples.png", f"{name}: samples after {args.epochs} epochs"):
                print(f"{name}: final samples saved to {stem}_samples.png")
        path = os.path.join(args.out, "gan_class_histogram.png")
        if save_histograms(figures, classes, path, "classes the CNN classifier gives to generated and real images"):
            print(f"class histogram saved to {path}")
    return {"models": results, "quality": figures, "classifier_test_acc": test_acc, "gan_seconds": gan_seconds}


def cli():
    """Console-script entry point: run, and exit 0 (main() returns its figures for callers)."""
    main()


if __name__ == "__main__":
    cli()
