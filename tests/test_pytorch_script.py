"""A typical PyTorch training script, written as a PyTorch user writes it (data split, DataLoader,
Adam, a scheduler, checkpoint save/load, eval under no_grad), runs on pyengine with only its
import lines changed - and learns as it does under PyTorch."""
import re

import pytest

SCRIPT = '''
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset, random_split

torch.manual_seed(0)
device = torch.device("cpu")

# two noisy spirals-ish blobs in 2-D, three classes
n = 600
angles = torch.rand(n) * 6.28
labels = torch.randint(0, 3, (n,))
radius = 1.0 + labels.float()
x = torch.stack([radius * torch.cos(angles), radius * torch.sin(angles)], dim=1)
x = x + 0.1 * torch.randn(n, 2)
dataset = TensorDataset(x, labels)
train_set, val_set = random_split(dataset, [500, 100], generator=torch.Generator().manual_seed(42))
train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
val_loader = DataLoader(val_set, batch_size=100)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 64)
        self.bn = nn.BatchNorm1d(64)
        self.fc2 = nn.Linear(64, 3)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        x = F.relu(self.bn(self.fc1(x)))
        return self.fc2(self.drop(x))


model = Net().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
criterion = nn.CrossEntropyLoss()

history = []
for epoch in range(25):
    model.train()
    total, count = 0.0, 0
    for xb, yb in train_loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
        optimizer.step()
        total += loss.item() * xb.size(0)
        count += xb.size(0)
    scheduler.step()
    history.append(total / count)

torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 25}, CHECKPOINT)
restored = Net()
checkpoint = torch.load(CHECKPOINT, map_location="cpu", weights_only=True)
restored.load_state_dict(checkpoint["model"])
restored.eval()
correct = 0
with torch.no_grad():
    for xb, yb in val_loader:
        predictions = restored(xb).argmax(dim=1)
        correct += (predictions == yb).sum().item()
accuracy = correct / len(val_set)
'''


def _run(source, tmp_path):
    scope = {"CHECKPOINT": str(tmp_path / "checkpoint.pt")}
    exec(compile(source, "training_script.py", "exec"), scope)
    return scope["history"], scope["accuracy"]


def _pyengine_imports(source):
    """The script with its import lines pointed at pyengine, and nothing else changed."""
    lines = []
    for line in source.split("\n"):
        if line == "import torch":
            line = "import pyengine as torch"
        elif re.match(r"(import|from) torch\.", line) or line.startswith("from torch "):
            line = line.replace("torch", "pyengine", 1)
        lines.append(line)
    return "\n".join(lines)


def test_the_script_only_differs_in_its_import_lines():
    converted = _pyengine_imports(SCRIPT)
    changed = [(a, b) for a, b in zip(SCRIPT.split("\n"), converted.split("\n")) if a != b]
    assert [a for a, _ in changed] == ["import torch", "import torch.nn as nn", "import torch.nn.functional as F",
                                       "from torch.utils.data import DataLoader, TensorDataset, random_split"]
    assert all("pyengine" in b for _, b in changed)


def test_a_pytorch_training_script_runs_on_pyengine_with_only_the_import_changed(tmp_path):
    history, accuracy = _run(_pyengine_imports(SCRIPT), tmp_path)
    assert len(history) == 25 and history[-1] < 0.5 * history[0]
    assert accuracy > 0.9  # three rings: easily separable once learned


def test_pytorch_itself_learns_the_same_task(tmp_path):
    pytest.importorskip("torch")
    history, accuracy = _run(SCRIPT, tmp_path)
    assert history[-1] < 0.5 * history[0] and accuracy > 0.9
