"""What the training examples share: the --device option, an epoch loop with a tqdm bar,
evaluation, early stopping, and the plots (skipped with a warning when matplotlib is missing:
the examples print their results first, so only the figure is lost)."""
import sys
import time

import numpy as np

import pyengine as pe


def add_device_argument(parser):
    parser.add_argument("--device", default="cpu",
                        help="where the model trains: cpu, cuda or cuda:N; batches are moved there")


def resolve_device(name):
    """The pe.device for --device, or a clean exit when it is unknown or CUDA is not usable here."""
    try:
        device = pe.device(name)
    except ValueError as e:
        raise SystemExit(f"--device: {e}") from None
    if device.type == "cuda" and not pe.cuda.is_available():
        raise SystemExit("--device cuda: no usable CUDA device here (pyengine built without CUDA, or no GPU/driver)")
    return device


def device_note(device):
    """How the examples' first line names where they run."""
    if device.type == "cpu":
        return f"cpu, {pe.get_num_threads()} threads"
    emulated = " (emulated on the CPU)" if pe.cuda.is_emulated() else ""
    return f"{device}: {pe.cuda.get_device_name(device.index)}{emulated}"


def run_epoch(model, loader, loss_fn, optimizer=None, penalty=None, desc="train", device=None, batch_scheduler=None):
    """One pass over `loader`; trains when an optimizer is given. Batches are moved to `device`
    (the model must already be there). A `batch_scheduler` is stepped after every optimizer step
    (warmup schedules counted in steps). Returns (mean loss, accuracy)."""
    from tqdm import tqdm
    training = optimizer is not None
    model.train(training)
    total_loss, correct, seen = 0.0, 0, 0
    context = pe.enable_grad() if training else pe.no_grad()
    with context:
        bar = tqdm(loader, desc=desc, leave=False, unit="batch", mininterval=0.5)
        for x, y in bar:
            if device is not None:
                x, y = x.to(device), y.to(device)
            out = model(x)
            loss = loss_fn(out, y)
            if training:
                objective = loss + penalty() if penalty is not None else loss
                optimizer.zero_grad()
                objective.backward()
                optimizer.step()
                if batch_scheduler is not None:
                    batch_scheduler.step()
            n = y.shape[0]
            total_loss += float(loss.item()) * n
            correct += int((out.argmax(1) == y).sum().item())
            seen += n
    return total_loss / seen, correct / seen


def fit(model, train_loader, val_loader, loss_fn, optimizer, epochs, scheduler=None, penalty=None,
        early_stopping=None, name="model", device=None, batch_scheduler=None):
    """Train for up to `epochs`, validating after each; returns the history dict. `scheduler` is
    stepped after each epoch, `batch_scheduler` after each training step. With early stopping (on
    validation accuracy) the best weights are restored at the end."""
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": [], "epoch_seconds": []}
    for epoch in range(1, epochs + 1):
        if hasattr(train_loader.sampler, "set_epoch"):  # DistributedSampler: a new order each epoch
            train_loader.sampler.set_epoch(epoch)
        start = time.perf_counter()
        tl, ta = run_epoch(model, train_loader, loss_fn, optimizer, penalty, desc=f"{name} epoch {epoch}",
                           device=device, batch_scheduler=batch_scheduler)
        seconds = time.perf_counter() - start
        vl, va = run_epoch(model, val_loader, loss_fn, desc=f"{name} validate", device=device)
        for k, v in zip(history, (tl, ta, vl, va, seconds)):
            history[k].append(v)
        print(f"  {name:12s} epoch {epoch:2d}: train loss {tl:.4f} acc {ta:.4f} | val loss {vl:.4f} "
              f"acc {va:.4f} | {seconds:.2f} s", flush=True)
        if scheduler is not None:
            scheduler.step()
        if early_stopping is not None and early_stopping.step(va, model):
            print(f"  {name}: early stop after epoch {epoch} (best val acc {early_stopping.best:.4f} "
                  f"at epoch {early_stopping.best_epoch + 1})")
            break
    if early_stopping is not None and early_stopping.best_state is not None:
        early_stopping.restore(model)
    return history


def pyplot_or_warn(path):
    """matplotlib.pyplot (drawing to files only) for the figure to be saved at `path`; None, after
    a warning on stderr, when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError as e:
        print(f"warning: no plot, {path} not written: matplotlib is not available ({e}); "
              "pip install matplotlib", file=sys.stderr, flush=True)
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_curves(histories, path, title):
    """Training/validation loss and accuracy per epoch for every model, side by side. Returns
    whether the file was written."""
    plt = pyplot_or_warn(path)
    if plt is None:
        return False
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.5))
    for i, (name, h) in enumerate(histories.items()):
        style = {"color": f"C{i}", "marker": "o", "markersize": 3}  # markers: one epoch is one point
        epochs = np.arange(1, len(h["train_loss"]) + 1)
        ax_loss.plot(epochs, h["train_loss"], linestyle="--", label=f"{name} train", **style)
        ax_loss.plot(epochs, h["val_loss"], label=f"{name} validation", **style)
        ax_acc.plot(epochs, h["train_acc"], linestyle="--", label=f"{name} train", **style)
        ax_acc.plot(epochs, h["val_acc"], label=f"{name} validation", **style)
    # log scale: one early spike (a deep plain net's first epochs) must not flatten the rest
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss (log scale)", title="loss", yscale="log")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    return finish_figure(fig, (ax_loss, ax_acc), path, title)


def finish_figure(fig, axes, path, suptitle=None):
    """The examples' common plot style (whole-epoch ticks, light grid, small legend), saved as PNG;
    returns True (the file is written), for the plot functions to pass on."""
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    for ax in axes:
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))  # whole epochs only
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
