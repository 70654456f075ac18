"""The seeds' three sentiment classifiers on IMDB movie reviews (ISLP chapter 10): a bag-of-words
network, a plain RNN and an LSTM over a 10,000-word vocabulary, by test accuracy.

    python -m pyengine.examples.imdb --data PATH [--models bow,rnn,lstm] [--epochs N] [--limit N]
                                     [--plot imdb_curves.png] [--device cpu|cuda]

PATH (or $PYENGINE_IMDB) is Keras's imdb.npz or the aclImdb folder of the original release; without
it the command says where to download them and exits with status 2.

As the ISLP lab: 2,000 training reviews are held out for validation; words outside the 10,000 most
frequent become one out-of-vocabulary index.
- bow: Linear(10000, 16) - ReLU - Linear(16, 16) - ReLU - output on each review's 0/1 bag of words,
  RMSprop(lr=0.001), batches of 512, 30 epochs. Published: about 88% test accuracy.
- rnn / lstm: Embedding(10000, 32), then an RNN (tanh) / LSTM with 32 units over the last 500 words
  (shorter reviews padded in front, so the last step reads the last word), its last output to the
  output layer; RMSprop(lr=0.01), batches of 300, 20 epochs (the lab's LSTM settings; the plain RNN,
  not in the Python lab, gets the same). Published: about 76% / 87%.
The output layer gives two logits trained with cross-entropy: the same model as one logit with
binary cross-entropy (softmax over two logits is the sigmoid of their difference), so the shared
training loop of the examples (accuracy by argmax) serves all three.
"""
import sys
import time

import numpy as np

import pyengine as pe
from pyengine import nn
from pyengine.data import DataLoader, Dataset, TensorDataset
from pyengine.data.datasets import load_imdb, pad_sequences

from ._cli import example_parser, model_list, positive
from ._training import add_device_argument, device_note, fit, plot_curves, resolve_device, run_epoch

PUBLISHED = {"bow": 0.88, "rnn": 0.76, "lstm": 0.87}
# The lab's settings per model: (epochs, batch size, RMSprop learning rate).
LAB_SETTINGS = {"bow": (30, 512, 1e-3), "rnn": (20, 300, 1e-2), "lstm": (20, 300, 1e-2)}


class BagOfWords(nn.Module):
    """The lab's network on 0/1 bag-of-words rows. Its first Linear layer applied to a multi-hot row
    is the sum of the weight columns of the words present, which is what EmbeddingBag(mode='sum')
    computes from the word indices alone: no (batch, 10000) matrix is built."""

    def __init__(self, num_words, hidden):
        super().__init__()
        self.bag = nn.EmbeddingBag(num_words, hidden, mode="sum", padding_idx=0)
        self.bias = nn.Parameter(pe.zeros(hidden))
        # Linear(num_words, hidden)'s initialisation (an embedding's N(0, 1) rows summed over a
        # review's ~130 distinct words would start the ReLUs far out of range).
        bound = 1.0 / np.sqrt(num_words)
        with pe.no_grad():
            nn.init.uniform_(self.bag.weight, -bound, bound)
            nn.init.uniform_(self.bias, -bound, bound)
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2))

    def forward(self, words):
        return self.head(self.bag(words) + self.bias)


class SequenceClassifier(nn.Module):
    """Embedding, a one-layer RNN or LSTM, and a Linear layer on its output at the last step."""

    def __init__(self, kind, num_words, embedding_dim, hidden_size):
        super().__init__()
        self.embedding = nn.Embedding(num_words, embedding_dim, padding_idx=0)
        self.rnn = {"rnn": nn.RNN, "lstm": nn.LSTM}[kind](embedding_dim, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 2)

    def forward(self, words):
        out, _ = self.rnn(self.embedding(words))
        return self.head(out[:, -1])


class DistinctWords(Dataset):
    """Each review's distinct word indices; a batch is padded with index 0 (EmbeddingBag's
    padding_idx, left out of the sum) to its own longest review only."""

    def __init__(self, sequences, labels):
        self.words = [np.unique(np.asarray(s, dtype=np.int64)) for s in sequences]
        self.labels = np.asarray(labels, dtype=np.int64)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return self.__getitems__([index])

    def __getitems__(self, indices):
        rows = [self.words[i] for i in indices]
        return (pe.tensor(pad_sequences(rows, padding="post")), pe.tensor(self.labels[np.asarray(indices)]))


def build(kind, args):
    if kind == "bow":
        return BagOfWords(args.num_words, args.hidden)
    return SequenceClassifier(kind, args.num_words, args.embedding_dim, args.units)


def datasets(kind, data, args):
    """(train, validation, test) datasets for a model of `kind` from the loaded reviews."""
    make = (DistinctWords if kind == "bow" else
            lambda x, y: TensorDataset(pe.tensor(pad_sequences(x, maxlen=args.maxlen)), pe.tensor(y)))
    return tuple(make(x, y) for x, y in data)


def load(args):
    """Training, validation and test (sequences, labels); a clean exit when there is no data."""
    try:
        (x_train, y_train), (x_test, y_test) = load_imdb(args.data, num_words=args.num_words)
    except (FileNotFoundError, ValueError) as e:
        print(f"pyengine-imdb: {e}\nthen run: pyengine-imdb --data PATH", file=sys.stderr)
        raise SystemExit(2) from None
    if args.limit:
        x_train, y_train, x_test, y_test = x_train[:args.limit], y_train[:args.limit], x_test[:args.limit], \
            y_test[:args.limit]
    if not 0 < args.val_size < len(x_train):
        raise SystemExit(f"pyengine-imdb: --val-size {args.val_size} must be between 1 and the {len(x_train)} "
                         "training reviews minus one")
    v = args.val_size  # load_imdb has shuffled the reviews already
    return (x_train[v:], y_train[v:]), (x_train[:v], y_train[:v]), (x_test, y_test)


def main(argv=None):
    p = example_parser("pyengine-imdb", __doc__)
    p.add_argument("--data", default=None, help="imdb.npz or an aclImdb folder (default: $PYENGINE_IMDB)")
    p.add_argument("--models", type=model_list(tuple(PUBLISHED)), default=",".join(PUBLISHED),
                   help=f"comma-separated models to train, of {','.join(PUBLISHED)}")
    p.add_argument("--num-words", type=positive, default=10000, help="vocabulary: indices of the most frequent words")
    p.add_argument("--maxlen", type=positive, default=500, help="the sequence models read each review's last MAXLEN "
                   "words")
    p.add_argument("--epochs", type=positive, default=None, help="for every model (default: the lab's, 30 bow / 20 "
                   "others)")
    p.add_argument("--batch-size", type=positive, default=None, help="default: the lab's, 512 bow / 300 others")
    p.add_argument("--lr", type=float, default=None, help="RMSprop's (default: the lab's, 0.001 bow / 0.01 others)")
    p.add_argument("--hidden", type=positive, default=16, help="units of the bag-of-words network's hidden layers")
    p.add_argument("--embedding-dim", type=positive, default=32, help="word vectors' size in the RNN and the LSTM")
    p.add_argument("--units", type=positive, default=32, help="hidden units of the RNN and the LSTM")
    p.add_argument("--val-size", type=positive, default=2000, help="training reviews held out for validation")
    p.add_argument("--limit", type=positive, default=None, help="use only the first N training and N test reviews "
                   "(default: all)")
    p.add_argument("--plot", default="imdb_curves.png", help="PNG of the learning curves")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the shuffling")
    add_device_argument(p)
    args = p.parse_args(argv)
    kinds = args.models
    device = resolve_device(args.device)

    data = load(args)
    print(f"IMDB: {len(data[0][0])} training, {len(data[1][0])} validation, {len(data[2][0])} test reviews, "
          f"{args.num_words}-word vocabulary; {device_note(device)}")
    loss_fn = nn.CrossEntropyLoss()
    histories, results = {}, {}
    for kind in kinds:
        epochs, batch_size, lr = (lab if given is None else given for given, lab in
                                  zip((args.epochs, args.batch_size, args.lr), LAB_SETTINGS[kind]))
        train, val, test = datasets(kind, data, args)
        pe.manual_seed(args.seed)  # each model's figures do not depend on which others ran before it
        model = build(kind, args).to(device)  # before the optimizer: it holds these parameters
        optimizer = pe.optim.RMSprop(model.parameters(), lr=lr)
        train_loader = DataLoader(train, batch_size=batch_size, shuffle=True, generator=args.seed)
        val_loader, test_loader = DataLoader(val, batch_size=1000), DataLoader(test, batch_size=1000)
        start = time.perf_counter()
        histories[kind] = fit(model, train_loader, val_loader, loss_fn, optimizer, epochs, name=kind, device=device)
        _, test_acc = run_epoch(model, test_loader, loss_fn, desc=f"{kind} test", device=device)
        results[kind] = (test_acc, (time.perf_counter() - start) / epochs)

    print("\nIMDB sentiment, test accuracy (the weights after the last epoch)")
    print(f"{'model':6s} {'':30s} {'published':>9s} {'ours':>7s} {'s/epoch':>8s}")
    description = {"bow": f"bag of words, {args.hidden}-{args.hidden} network",
                   "rnn": f"plain RNN, {args.units} units", "lstm": f"LSTM, {args.units} units"}
    for kind, (acc, seconds) in results.items():
        print(f"{kind:6s} {description[kind]:30s} {PUBLISHED[kind]:9.2f} {acc:7.4f} {seconds:8.2f}")
    if plot_curves(histories, args.plot, "IMDB: training (dashed) and validation (solid)"):
        print(f"learning curves saved to {args.plot}")
    return {kind: acc for kind, (acc, _) in results.items()}


def cli():
    """Console-script entry point: run, and exit 0 (main() returns its figures for callers)."""
    main()


if __name__ == "__main__":
    cli()
