"""Three convolutional autoencoders on Fashion-MNIST, undercomplete, sparse and denoising: the
reconstruction error on the test set per model, a PNG of originals against reconstructions, and a
scatter of the codes coloured by class.

    python -m pyengine.examples.autoencoder [--models undercomplete,sparse,denoising] [--epochs 3]
        [--train-size 10000] [--code-dim 16] [--noise gaussian|mask] [--data fashion-mnist|blobs]

Model. The encoder is two stride-2 3x3 convolutions with ReLU (28x28 -> 16x14x14 -> 32x7x7) and a
linear layer to a --code-dim code; the decoder mirrors it with a linear layer and two stride-2
ConvTranspose2d layers (7x7 -> 14x14 -> 28x28) ending in a sigmoid, since pixels are in [0, 1].
All three models share this shape and are trained with Adam on the mean squared error:
- undercomplete: the narrow code alone forces a compressed representation;
- sparse: plus --l1 times the mean absolute code value (an L1 penalty on the code);
- denoising: the input is corrupted (Gaussian noise of standard deviation --noise-level, clipped
  to [0, 1], or masking noise zeroing a --noise-level fraction of the pixels), the target is the
  clean image.

The table gives, per model, the test-set MSE reconstructing clean inputs and reconstructing the
clean image from corrupted inputs (the same fixed corruption for every model), the mean |code|,
and the seconds per epoch; the baseline row predicts the mean training image. The scatter shows
the codes of test images directly when --code-dim is 2, otherwise their first two principal
components (the title says which). --data blobs swaps Fashion-MNIST for generated images (a
Gaussian blob at one of ten places on a circle) when the data set is not installed.

Measured (defaults, seed 0, 2 CPU threads, about 1 s per epoch, 20 s in all): test MSE per pixel
0.0172 undercomplete, 0.0180 sparse (mean |code| 0.19 against 4.7), 0.0196 denoising, against
0.0867 for the mean image; from Gaussian-corrupted inputs the denoising model's 0.0192 beats the
undercomplete model's 0.0276.
"""
import time

import numpy as np

import pyengine as pe
from pyengine import nn
from pyengine.data import DataLoader, TensorDataset

from ._cli import example_parser, model_list, positive
from ._training import add_device_argument, device_note, pyplot_or_warn, resolve_device

MODELS = ("undercomplete", "sparse", "denoising")
NOISES = ("gaussian", "mask")


class ConvAutoencoder(nn.Module):
    """(N, 1, 28, 28) images in [0, 1] -> (N, code_dim) codes -> (N, 1, 28, 28) reconstructions."""

    def __init__(self, code_dim=16, width=16):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, width, 3, stride=2, padding=1), nn.ReLU(),               # 28 -> 14
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.ReLU(),       # 14 -> 7
            nn.Flatten(), nn.Linear(2 * width * 7 * 7, code_dim))
        self.decoder = nn.Sequential(
            nn.Linear(code_dim, 2 * width * 7 * 7), nn.ReLU(), nn.Unflatten(1, (2 * width, 7, 7)),
            nn.ConvTranspose2d(2 * width, width, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),  # 7 -> 14
            nn.ConvTranspose2d(width, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())      # 14 -> 28

    def forward(self, x):
        code = self.encoder(x)
        return self.decoder(code), code


def corrupt(x, kind, level):
    """Denoising input: Gaussian noise of standard deviation `level` clipped to [0, 1], or masking
    noise that zeroes each pixel with probability `level`. Uses pyengine's global generator."""
    if kind == "gaussian":
        return (x + level * pe.randn_like(x)).clamp(0.0, 1.0)
    return x * (pe.rand_like(x) >= level).to(x.dtype)


def blob_images(n, rng):
    """Generated stand-in for Fashion-MNIST: class k is a Gaussian blob (random width and
    brightness, jittered centre) at angle 2 pi k / 10 on a circle of radius 8 around the middle,
    on a grey background."""
    labels = rng.integers(0, 10, size=n)
    angle = 2 * np.pi * labels / 10
    cy = 13.5 + 8 * np.sin(angle) + rng.normal(0, 1, n)
    cx = 13.5 + 8 * np.cos(angle) + rng.normal(0, 1, n)
    sigma = rng.uniform(2, 4, n)
    grid = np.arange(28)
    blob = np.exp(-((grid[None, :, None] - cy[:, None, None]) ** 2 + (grid[None, None, :] - cx[:, None, None]) ** 2)
                  / (2 * sigma[:, None, None] ** 2))
    blob[blob < 1e-3] = 0  # no float32 denormals (exp of -90) in the far corners: they are slow to compute with
    # a grey background: on mostly-black images the sigmoid output saturates at 0 and training stalls
    images = 0.2 + blob * rng.uniform(0.5, 0.8, (n, 1, 1))
    return images[:, None].astype(np.float32), labels.astype(np.int64)


def load_images(data, train_size, test_size, seed):
    """((train images, labels), (test images, labels), class names, data name): float32
    (N, 1, 28, 28) in [0, 1] and int64 labels; a random `train_size` subset of the training set."""
    rng = np.random.default_rng(seed)
    if data == "blobs":
        return blob_images(train_size, rng), blob_images(test_size or 2000, rng), [str(k) for k in range(10)], \
            "generated blobs"
    from pyengine.data.datasets import FashionMNIST
    try:
        train, test = FashionMNIST(train=True), FashionMNIST(train=False)
    except FileNotFoundError as e:
        raise SystemExit(f"pyengine-autoencoder: {e}\n(or run on generated images: --data blobs)") from None
    idx = np.sort(rng.permutation(len(train))[:train_size])
    test_idx = np.arange(len(test)) if test_size is None else np.sort(rng.permutation(len(test))[:test_size])

    def arrays(ds, i):
        return (ds.data[i].astype(np.float32) / 255.0)[:, None], ds.targets[i]
    return arrays(train, idx), arrays(test, test_idx), list(FashionMNIST.classes), "Fashion-MNIST"


def train_model(name, model, loader, args, device):
    """Adam on the reconstruction MSE (plus the L1 code penalty for `sparse`, on corrupted inputs
    for `denoising`); returns the mean training loss of each epoch and the seconds per epoch."""
    from tqdm import tqdm
    optimizer = pe.optim.Adam(model.parameters(), lr=args.lr)
    losses, seconds = [], []
    for epoch in range(1, args.epochs + 1):
        start, total, seen = time.perf_counter(), 0.0, 0
        model.train()
        for (x,) in tqdm(loader, desc=f"{name} epoch {epoch}", leave=False, unit="batch", mininterval=0.5):
            x = x.to(device)
            inputs = corrupt(x, args.noise, args.noise_level) if name == "denoising" else x
            reconstruction, code = model(inputs)
            loss = nn.functional.mse_loss(reconstruction, x)
            if name == "sparse":
                loss = loss + args.l1 * code.abs().mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.item()) * x.shape[0]
            seen += x.shape[0]
        losses.append(total / seen)
        seconds.append(time.perf_counter() - start)
        print(f"  {name:13s} epoch {epoch:2d}: training loss {losses[-1]:.5f} | {seconds[-1]:.2f} s", flush=True)
    return losses, float(np.mean(seconds))


def evaluate(model, images, noisy, device, batch_size=1000):
    """Test-set MSE from clean and from corrupted inputs, the codes of the clean inputs (NumPy),
    and the first 10 reconstructions of each kind."""
    model.eval()
    clean_se = noisy_se = 0.0
    codes, rec_clean, rec_noisy = [], [], []
    with pe.no_grad():
        for i in range(0, len(images), batch_size):
            x = pe.tensor(images[i:i + batch_size]).to(device)
            xn = pe.tensor(noisy[i:i + batch_size]).to(device)
            out, code = model(x)
            out_noisy, _ = model(xn)
            clean_se += float(((out - x) ** 2).sum().item())
            noisy_se += float(((out_noisy - x) ** 2).sum().item())
            codes.append(code.cpu().numpy())
            if i == 0:
                rec_clean, rec_noisy = out.cpu().numpy()[:10], out_noisy.cpu().numpy()[:10]
    n = images.size
    return {"test_mse": clean_se / n, "noisy_test_mse": noisy_se / n, "codes": np.concatenate(codes),
            "reconstructions": rec_clean, "noisy_reconstructions": rec_noisy}


def code_2d(codes):
    """The codes themselves when 2-D, else their projection on the first two principal components;
    and how the axes are described."""
    if codes.shape[1] == 2:
        return codes, "code (2-D)"
    centred = codes - codes.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T, f"PCA of the {codes.shape[1]}-D code"


def plot_reconstructions(originals, noisy, results, path, title):
    """Rows: originals, then each model's reconstructions; with the denoising model, two more rows:
    the corrupted inputs and its reconstructions of them."""
    plt = pyplot_or_warn(path)
    if plt is None:
        return False
    rows = [("original", originals)] + [(name, r["reconstructions"]) for name, r in results.items()]
    if "denoising" in results:
        rows += [("corrupted input", noisy), ("denoising from corrupted", results["denoising"]["noisy_reconstructions"])]
    cols = len(originals)
    fig, axes = plt.subplots(len(rows), cols, figsize=(1.1 * cols + 1.8, 1.2 * len(rows)), squeeze=False)
    for (label, images), ax_row in zip(rows, axes):
        for image, ax in zip(images, ax_row):
            ax.imshow(image[0], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        ax_row[0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def plot_codes(results, labels, classes, path, title, max_points=3000):
    """One scatter per model of the test codes (2-D, or their first two principal components),
    coloured by class."""
    plt = pyplot_or_warn(path)
    if plt is None:
        return False
    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results) + 1.5, 4.8), squeeze=False)
    for (name, r), ax in zip(results.items(), axes[0]):
        points, how = code_2d(r["codes"])
        points, y = points[:max_points], labels[:max_points]
        for k, cls in enumerate(classes):
            ax.scatter(*points[y == k].T, s=4, alpha=0.6, color=plt.cm.tab10(k), label=cls)
        axis = "code" if r["codes"].shape[1] == 2 else "component"
        ax.set(title=f"{name}: {how}", xlabel=f"{axis} 1", ylabel=f"{axis} 2")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=3, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def non_negative_fraction(text):
    """An argparse type: a float in [0, 1)."""
    import argparse
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def main(argv=None):
    p = example_parser("pyengine-autoencoder", __doc__)
    p.add_argument("--models", type=model_list(MODELS), default=",".join(MODELS),
                   help="comma-separated models to train")
    p.add_argument("--epochs", type=positive, default=3, help="training epochs per model")
    p.add_argument("--train-size", type=positive, default=10000, help="training images (a random subset)")
    p.add_argument("--test-size", type=positive, default=None, help="test images (default: all 10,000)")
    p.add_argument("--code-dim", type=positive, default=16, help="size of the code (2: scatter the code itself)")
    p.add_argument("--width", type=positive, default=16, help="channels of the first convolution (the second has twice)")
    p.add_argument("--batch-size", type=positive, default=64, help="training images per step")
    p.add_argument("--lr", type=float, default=2e-3, help="Adam's learning rate")
    p.add_argument("--l1", type=float, default=1e-2, help="sparse model: weight of the mean |code| penalty")
    p.add_argument("--noise", choices=NOISES, default="gaussian", help="denoising model: the corruption")
    p.add_argument("--noise-level", type=non_negative_fraction, default=0.3,
                   help="Gaussian noise standard deviation, or the fraction of pixels masked")
    p.add_argument("--data", choices=("fashion-mnist", "blobs"), default="fashion-mnist",
                   help="Fashion-MNIST, or generated blob images")
    p.add_argument("--plot", default="autoencoder_reconstructions.png",
                   help="PNG of originals against reconstructions ('' for none)")
    p.add_argument("--scatter", default="autoencoder_codes.png", help="PNG of the test codes by class ('' for none)")
    p.add_argument("--seed", type=int, default=0, help="seed of the subset, the weights, the shuffling and the noise")
    add_device_argument(p)
    args = p.parse_args(argv)
    device = resolve_device(args.device)

    (x_train, _), (x_test, y_test), classes, data_name = load_images(args.data, args.train_size, args.test_size,
                                                                     args.seed)
    pe.manual_seed(args.seed)
    # one fixed corruption of the test set, shared by every model's "from corrupted" figure
    noisy_test = corrupt(pe.tensor(x_test), args.noise, args.noise_level).numpy()
    print(f"{data_name}: {len(x_train)} training, {len(x_test)} test images; code {args.code_dim}-D; "
          f"{args.noise} noise {args.noise_level}; {device_note(device)}", flush=True)
    loader = DataLoader(TensorDataset(pe.tensor(x_train)), batch_size=args.batch_size, shuffle=True,
                        generator=args.seed)
    results = {}
    for name in args.models:
        pe.manual_seed(args.seed)  # the same initial weights for every model
        model = ConvAutoencoder(args.code_dim, args.width).to(device)
        losses, seconds = train_model(name, model, loader, args, device)
        results[name] = dict(evaluate(model, x_test, noisy_test, device), train_loss=losses, seconds_per_epoch=seconds)
        results[name]["mean_abs_code"] = float(np.abs(results[name]["codes"]).mean())

    mean_image = x_train.mean(0)
    baseline = float(((x_test - mean_image) ** 2).mean())
    print(f"\n{data_name}, {args.epochs} epochs on {len(x_train)} images: test-set reconstruction MSE per pixel")
    print(f"{'model':14s} {'clean input':>11s} {'corrupted input':>15s} {'mean |code|':>11s} {'s/epoch':>8s}")
    for name, r in results.items():
        print(f"{name:14s} {r['test_mse']:11.5f} {r['noisy_test_mse']:15.5f} {r['mean_abs_code']:11.4f} "
              f"{r['seconds_per_epoch']:8.2f}")
    print(f"{'mean image':14s} {baseline:11.5f} {baseline:15.5f}", flush=True)

    title = f"{data_name}: {args.code_dim}-D code, {args.epochs} epochs"
    if args.plot and plot_reconstructions(x_test[:10], noisy_test[:10], results, args.plot, title):
        print(f"reconstructions saved to {args.plot}")
    if args.scatter and plot_codes(results, y_test, classes, args.scatter, f"{title}: test codes by class"):
        print(f"code scatter saved to {args.scatter}")
    return {"models": results, "mean_image_mse": baseline}


def cli():
    """Console-script entry point: run, and exit 0 (main() returns its figures for callers)."""
    main()


if __name__ == "__main__":
    cli()
