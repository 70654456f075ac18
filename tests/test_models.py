"""pyengine.models: residual blocks and the ResNet constructor."""
import numpy as np
import pytest

import pyengine as pe
from pyengine import nn
from pyengine.models import BasicBlock, Bottleneck, ResNet, resnet


def conv_params(cin, cout, k):
    return cin * cout * k * k


def bn_params(c):
    return 2 * c


def test_resnet20_has_the_papers_layer_count_and_parameters():
    model = resnet(20, (16, 32, 64))
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    # 1 stem + 18 in blocks + 2 projection shortcuts (16->32, 32->64)
    assert len(convs) == 21
    assert sum(1 for m in model.modules() if isinstance(m, BasicBlock)) == 9
    expected = conv_params(1, 16, 3) + bn_params(16)
    for cin, c, n in ((16, 16, 3), (16, 32, 3), (32, 64, 3)):
        expected += conv_params(cin, c, 3) + conv_params(c, c, 3) * (2 * n - 1) + bn_params(c) * 2 * n
        if cin != c:
            expected += conv_params(cin, c, 1) + bn_params(c)
    expected += 64 * 10 + 10
    assert sum(p.numel() for p in model.parameters()) == expected


def test_forward_shapes_and_both_networks_learn_from_the_same_start():
    pe.manual_seed(0)
    x = pe.randn(4, 1, 28, 28)
    y = pe.tensor([0, 1, 2, 3])
    for skip in (True, False):
        model = resnet(8, (4, 8, 8), skip=skip)
        out = model(x)
        assert tuple(out.shape) == (4, 10)
        loss = nn.functional.cross_entropy(out, y)
        loss.backward()
        stem_grad = model.stem[0].weight.grad
        assert stem_grad is not None and float(stem_grad.abs().sum()) > 0


def test_plain_network_has_no_shortcuts_and_same_layers():
    res, plain = resnet(14, skip=True), resnet(14, skip=False)
    res_convs = [tuple(m.weight.shape) for m in res.modules() if isinstance(m, nn.Conv2d)]
    plain_convs = [tuple(m.weight.shape) for m in plain.modules() if isinstance(m, nn.Conv2d)]
    assert len(res_convs) == len(plain_convs) + 2  # only the two projection shortcuts differ
    assert all(b.shortcut is None and not b.skip for b in plain.modules() if isinstance(b, BasicBlock))


def test_basic_block_adds_the_identity():
    pe.manual_seed(1)
    block = BasicBlock(6, 6).eval()
    x = pe.randn(2, 6, 5, 5)
    with pe.no_grad():
        got = block(x)
        residual = block.bn2(block.conv2(block.relu(block.bn1(block.conv1(x)))))
        expected = (residual + x).relu()
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_projection_shortcut_matches_stride_and_channels():
    block = Bottleneck(8, 4, stride=2)
    x = pe.randn(2, 8, 9, 9)
    assert tuple(block(x).shape) == (2, 16, 5, 5)
    assert isinstance(block.shortcut[0], nn.Conv2d) and block.shortcut[0].stride == (2, 2)
    assert tuple(resnet(11, block="bottleneck")(pe.randn(1, 1, 28, 28)).shape) == (1, 10)


def test_bad_depths_and_blocks_raise_with_the_rule():
    with pytest.raises(ValueError, match="6n \\+ 2"):
        resnet(21)
    with pytest.raises(ValueError, match="9n \\+ 2"):
        resnet(21, block="bottleneck")
    with pytest.raises(ValueError, match="'basic' or 'bottleneck'"):
        resnet(20, block="dense")
    with pytest.raises(ValueError, match="2 stages of blocks but 3 widths"):
        ResNet(BasicBlock, [1, 1], (4, 8, 16))
