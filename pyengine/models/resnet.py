"""Residual networks (He et al., 2016) built from pyengine.nn layers, sized for small images.

A residual block learns F(x) and outputs relu(F(x) + shortcut(x)): when the best the extra layers
can do is nothing, they only have to drive F to zero, which is easy; a plain stack has to learn
the identity through its non-linearities, which is hard - so deep plain nets train *worse* than
shallower ones (the degradation problem), and deep residual nets do not. `skip=False` builds the
plain network of exactly the same layers, for that comparison.

The shortcut is the identity when the block keeps the shape, and a 1x1 convolution (with batch
norm) that matches channels and stride when it does not ("option B" of the paper).
"""
from .. import nn


def conv3x3(in_channels, out_channels, stride=1):
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_channels, out_channels, stride=1):
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


def projection(in_channels, out_channels, stride):
    """The 1x1-conv shortcut, or None where the identity fits."""
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm: relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))."""

    expansion = 1

    def __init__(self, in_channels, channels, stride=1, skip=True):
        super().__init__()
        self.conv1 = conv3x3(in_channels, channels, stride)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = conv3x3(channels, channels)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()
        self.skip = skip
        self.shortcut = projection(in_channels, channels, stride) if skip else None

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.skip:
            out = out + (x if self.shortcut is None else self.shortcut(x))
        return self.relu(out)

    def extra_repr(self):
        return f"skip={self.skip}"


class Bottleneck(nn.Module):
    """1x1 (reduce) -> 3x3 (stride) -> 1x1 (expand by 4), each with batch norm, plus the shortcut:
    the deeper nets' block, cheaper than two 3x3 convolutions at the same output width."""

    expansion = 4

    def __init__(self, in_channels, channels, stride=1, skip=True):
        super().__init__()
        out_channels = channels * self.expansion
        self.conv1 = conv1x1(in_channels, channels)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = conv3x3(channels, channels, stride)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv3 = conv1x1(channels, out_channels)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.skip = skip
        self.shortcut = projection(in_channels, out_channels, stride) if skip else None

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.skip:
            out = out + (x if self.shortcut is None else self.shortcut(x))
        return self.relu(out)

    def extra_repr(self):
        return f"skip={self.skip}"


class ResNet(nn.Module):
    """stem (3x3 conv, bn, relu) -> stages of blocks (the first block of every stage after the
    first halves the resolution) -> global average pooling -> linear classifier."""

    def __init__(self, block, blocks_per_stage, widths=(16, 32, 64), in_channels=1, num_classes=10, skip=True):
        super().__init__()
        if len(blocks_per_stage) != len(widths):
            raise ValueError(f"ResNet: {len(blocks_per_stage)} stages of blocks but {len(widths)} widths")
        self.stem = nn.Sequential(conv3x3(in_channels, widths[0]), nn.BatchNorm2d(widths[0]), nn.ReLU())
        stages, channels = [], widths[0]
        for i, (n, width) in enumerate(zip(blocks_per_stage, widths)):
            layers = []
            for j in range(n):
                stride = 2 if i > 0 and j == 0 else 1
                layers.append(block(channels, width, stride, skip=skip))
                channels = width * block.expansion
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(channels, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.fc(self.flatten(self.pool(self.stages(self.stem(x)))))


def resnet(depth=20, widths=(16, 32, 64), in_channels=1, num_classes=10, block="basic", skip=True):
    """The paper's CIFAR-style family: depth = 6n + 2 with basic blocks (20, 32, 44, 56, ...) or
    9n + 2 with bottlenecks, n blocks per stage over len(widths) stages. skip=False gives the
    plain network of the same depth."""
    block_cls = {"basic": BasicBlock, "bottleneck": Bottleneck}.get(block)
    if block_cls is None:
        raise ValueError(f"resnet: block must be 'basic' or 'bottleneck', got {block!r}")
    convs_per_block = 2 if block_cls is BasicBlock else 3
    per_stage, rest = divmod(depth - 2, convs_per_block * len(widths))
    if rest or per_stage < 1:
        raise ValueError(f"resnet: depth must be {convs_per_block * len(widths)}n + 2 (n >= 1) with {block} blocks "
                         f"and {len(widths)} stages, got {depth}")
    return ResNet(block_cls, [per_stage] * len(widths), widths, in_channels, num_classes, skip)
