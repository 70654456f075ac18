"""A sequence-to-sequence LSTM encoder-decoder on a generated task: reverse (or sort) digit strings.

    python -m pyengine.examples.seq2seq [--task reverse|sort] [--max-len 10] [--epochs 10]

Data. Strings of 3..--max-len digits, each length and digit uniform; the target is the string
reversed (or sorted). Every epoch trains on freshly drawn strings; the test set is drawn once from
its own seed (with 10^L strings of each length L, it barely overlaps the training draws).
Tokens: <pad> 0, <bos> 1, <eos> 2, digits 3..12.

Model. Encoder: nn.Embedding -> nn.LSTM over the packed input (pack_padded_sequence with
enforce_sorted=False, so each string's final (h, c) is taken at its own last digit, not after
padding). Decoder: its own nn.Embedding -> nn.LSTM initialised with the encoder's final (h, c) ->
nn.Linear to the next token's logits. Training uses teacher forcing: the decoder reads <bos> and
the true target and predicts the target followed by <eos>; padded positions are left out of the
loss (ignore_index). Testing decodes greedily: from <bos>, each step feeds back the argmax token,
until <eos> or max-len + 1 steps.

Figures on the held-out set: sequence accuracy (the decoded string, up to <eos>, equals the target
exactly) and per-token accuracy (the decoded token at each target position, <eos> included, is
right), plus the teacher-forced loss; curves in a PNG.

Measured (1 CPU thread on a shared machine): the defaults (reverse, length 3..10, 10 epochs of
200 batches of 64, 1x128) reach test sequence accuracy 0.996 and per-token accuracy 0.999 on
pyengine in 101 s (emulated-CUDA build, generic ISA); the same code on PyTorch 2.13: 0.982 and
0.995 in 29 s.
"""
import time

import numpy as np

import pyengine as pe
from pyengine import nn
from pyengine.examples._cli import example_parser, positive
from pyengine.examples._training import (add_device_argument, device_note, finish_figure, pyplot_or_warn,
                                        resolve_device)

PAD, BOS, EOS, DIGIT0 = 0, 1, 2, 3
VOCAB = DIGIT0 + 10
TASKS = {"reverse": lambda s: s[::-1], "sort": np.sort}


def generate(n, min_len, max_len, task, rng):
    """n (source, target) pairs of digit arrays (values 0..9)."""
    lengths = rng.integers(min_len, max_len + 1, size=n)
    sources = [rng.integers(0, 10, size=k) for k in lengths]
    return sources, [TASKS[task](s) for s in sources]


def encode_batch(sources, targets):
    """Padded time-major token arrays: source (S, B), lengths (B,), decoder input (T, B) =
    <bos> + target, decoder output (T, B) = target + <eos>; T = longest target + 1."""
    B = len(sources)
    lengths = np.array([len(s) for s in sources], dtype=np.int64)
    src = np.full((lengths.max(), B), PAD, dtype=np.int64)
    T = max(len(t) for t in targets) + 1
    dec_in = np.full((T, B), PAD, dtype=np.int64)
    dec_out = np.full((T, B), PAD, dtype=np.int64)
    for b, (s, t) in enumerate(zip(sources, targets)):
        src[: len(s), b] = s + DIGIT0
        dec_in[0, b] = BOS
        dec_in[1: len(t) + 1, b] = t + DIGIT0
        dec_out[: len(t), b] = t + DIGIT0
        dec_out[len(t), b] = EOS
    return src, lengths, dec_in, dec_out


class Seq2Seq(nn.Module):
    def __init__(self, embedding_dim, hidden_size, num_layers):
        super().__init__()
        self.src_embedding = nn.Embedding(VOCAB, embedding_dim, padding_idx=PAD)
        self.encoder = nn.LSTM(embedding_dim, hidden_size, num_layers)
        self.tgt_embedding = nn.Embedding(VOCAB, embedding_dim, padding_idx=PAD)
        self.decoder = nn.LSTM(embedding_dim, hidden_size, num_layers)
        self.head = nn.Linear(hidden_size, VOCAB)

    def encode(self, src, lengths):
        """src (S, B) padded, lengths (B,) -> the encoder's final (h, c), each taken at its string's end."""
        packed = nn.utils.rnn.pack_padded_sequence(self.src_embedding(src), lengths, enforce_sorted=False)
        _, state = self.encoder(packed)
        return state

    def decode(self, tokens, state):
        """tokens (T, B) -> logits (T, B, VOCAB) and the decoder's state after them."""
        out, state = self.decoder(self.tgt_embedding(tokens), state)
        return self.head(out), state

    def forward(self, src, lengths, dec_in):
        """Teacher forcing: the logits for every target position given the true previous tokens."""
        return self.decode(dec_in, self.encode(src, lengths))[0]

    def greedy(self, src, lengths, steps):
        """(steps, B) tokens decoded greedily from <bos>, feeding back each argmax."""
        state = self.encode(src, lengths)
        token = pe.full((1, src.shape[1]), BOS, dtype=pe.int64, device=src.device)
        out = []
        for _ in range(steps):
            logits, state = self.decode(token, state)
            token = logits.argmax(-1)
            out.append(token)
        return pe.cat(out, 0)


def loss_fn(logits, dec_out):
    return nn.functional.cross_entropy(logits.reshape(-1, VOCAB), dec_out.reshape(-1), ignore_index=PAD)


def evaluate(model, test, device, batch_size=1000):
    """Teacher-forced loss, sequence accuracy and per-token accuracy on the held-out pairs."""
    model.eval()
    sources, targets = test
    loss_sum, tokens, seq_right, tok_right = 0.0, 0, 0, 0
    with pe.no_grad():
        for i in range(0, len(sources), batch_size):
            src, lengths, dec_in, dec_out = encode_batch(sources[i:i + batch_size], targets[i:i + batch_size])
            x = pe.from_numpy(src).to(device)
            n = int((dec_out != PAD).sum())
            loss = loss_fn(model(x, pe.from_numpy(lengths), pe.from_numpy(dec_in).to(device)),
                           pe.from_numpy(dec_out).to(device))
            loss_sum += float(loss.item()) * n
            tokens += n
            pred = model.greedy(x, pe.from_numpy(lengths), dec_out.shape[0]).to("cpu").numpy()
            mask = dec_out != PAD  # target digits and the <eos> after them
            right = (pred == dec_out) & mask
            tok_right += int(right.sum())
            # exact: every target position right, <eos> included, so nothing extra was emitted
            seq_right += int((right.sum(0) == mask.sum(0)).sum())
    return loss_sum / tokens, seq_right / len(sources), tok_right / tokens


def plot_curves(history, path, title):
    """Loss and greedy-decoding accuracy per epoch; returns whether the file was written."""
    plt = pyplot_or_warn(path)
    if plt is None:
        return False
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.5))
    ax_loss.plot(epochs, history["train_loss"], "o--", label="train (teacher forcing)")
    ax_loss.plot(epochs, history["test_loss"], "o-", label="test (teacher forcing)")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy per token (log scale)", title="loss", yscale="log")
    ax_acc.plot(epochs, history["test_seq_acc"], "o-", label="test sequence accuracy (greedy)")
    ax_acc.plot(epochs, history["test_tok_acc"], "o--", label="test per-token accuracy (greedy)")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="greedy decoding", ylim=(0, 1.02))
    return finish_figure(fig, (ax_loss, ax_acc), path, title)


def main(argv=None):
    p = example_parser("pyengine-seq2seq", __doc__)
    p.add_argument("--task", choices=sorted(TASKS), default="reverse", help="what the target does to the digits")
    p.add_argument("--min-len", type=positive, default=3, help="shortest digit string")
    p.add_argument("--max-len", type=positive, default=10, help="longest digit string")
    p.add_argument("--epochs", type=positive, default=10, help="training epochs")
    p.add_argument("--steps", type=positive, default=200, help="training batches per epoch (freshly drawn)")
    p.add_argument("--batch-size", type=positive, default=64, help="string pairs per step")
    p.add_argument("--test-size", type=positive, default=2000, help="held-out string pairs")
    p.add_argument("--embedding-dim", type=positive, default=32, help="size of the token vectors")
    p.add_argument("--hidden", type=positive, default=128, help="LSTM units per layer")
    p.add_argument("--layers", type=positive, default=1, help="stacked LSTM layers in the encoder and the decoder")
    p.add_argument("--lr", type=float, default=3e-3, help="Adam's learning rate")
    p.add_argument("--seed", type=int, default=0, help="seed of the data, the initial weights and the test set")
    p.add_argument("--plot", default="seq2seq_curves.png", help="PNG of the learning curves ('' for none)")
    add_device_argument(p)
    args = p.parse_args(argv)
    if not 1 <= args.min_len <= args.max_len:
        raise SystemExit(f"--min-len/--max-len: need 1 <= min-len <= max-len, got {args.min_len} and {args.max_len}")
    device = resolve_device(args.device)

    pe.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    test = generate(args.test_size, args.min_len, args.max_len, args.task, np.random.default_rng(args.seed + 10_000))
    model = Seq2Seq(args.embedding_dim, args.hidden, args.layers).to(device)
    optimizer = pe.optim.Adam(model.parameters(), lr=args.lr)
    n_params = sum(int(np.prod(q.shape)) for q in model.parameters())
    print(f"seq2seq {args.task}: digit strings of length {args.min_len}..{args.max_len}; LSTM encoder-decoder "
          f"{args.layers}x{args.hidden}, {n_params} parameters; {args.steps}x{args.batch_size} fresh pairs per "
          f"epoch, {args.test_size} test pairs; {device_note(device)}", flush=True)

    from tqdm import tqdm
    history = {"train_loss": [], "test_loss": [], "test_seq_acc": [], "test_tok_acc": [], "epoch_seconds": []}
    for epoch in range(1, args.epochs + 1):
        model.train()
        start, total = time.perf_counter(), 0.0
        for _ in tqdm(range(args.steps), desc=f"epoch {epoch}", leave=False, unit="batch", mininterval=0.5):
            src, lengths, dec_in, dec_out = encode_batch(*generate(args.batch_size, args.min_len, args.max_len,
                                                                   args.task, rng))
            logits = model(pe.from_numpy(src).to(device), pe.from_numpy(lengths), pe.from_numpy(dec_in).to(device))
            loss = loss_fn(logits, pe.from_numpy(dec_out).to(device))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            total += float(loss.item())
        seconds = time.perf_counter() - start
        test_loss, seq_acc, tok_acc = evaluate(model, test, device)
        for k, v in zip(history, (total / args.steps, test_loss, seq_acc, tok_acc, seconds)):
            history[k].append(v)
        print(f"  epoch {epoch:2d}: train loss {total / args.steps:.4f} | test loss {test_loss:.4f} | "
              f"sequence accuracy {seq_acc:.4f} | per-token accuracy {tok_acc:.4f} | {seconds:.1f} s", flush=True)

    seq_acc, tok_acc = history["test_seq_acc"][-1], history["test_tok_acc"][-1]
    print(f"seq2seq {args.task}: test sequence accuracy {seq_acc:.4f}, per-token accuracy {tok_acc:.4f} "
          f"({args.test_size} held-out strings, greedy decoding), {sum(history['epoch_seconds']):.0f} s of training",
          flush=True)
    if args.plot and plot_curves(history, args.plot, f"LSTM encoder-decoder: {args.task} digit strings "
                                                     f"of length {args.min_len}..{args.max_len}"):
        print(f"  curves written to {args.plot}")
    return {"seq_acc": seq_acc, "tok_acc": tok_acc, "history": history}


def cli():
    """Console-script entry point: run, and exit 0 (main() returns its figures for callers)."""
    main()


if __name__ == "__main__":
    cli()
