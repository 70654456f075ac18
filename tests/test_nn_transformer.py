"""nn.TransformerEncoderLayer / TransformerEncoder / TransformerDecoderLayer / TransformerDecoder /
Transformer against torch 2.13 (float64, weights moved by state_dict both ways): outputs and every
parameter and input gradient over the options (norm_first, activation relu / "gelu" / callable /
module, batch_first, bias, layer_norm_eps, unbatched) and masks (src / tgt / memory masks bool and
float, key padding masks bool and float, causal masks detected or hinted); float64 gradcheck of an
encoder and a decoder layer; generate_square_subsequent_mask; PyTorch's names and errors; the
positional encodings of pyengine.models; an encoder layer on "cuda" equal to the CPU.

torch's inference fast paths (nested tensors, _transformer_encoder_layer_fwd) are switched off so
torch runs its reference path."""
import math
import warnings

import numpy as np
import pytest

import pyengine as pe
import pyengine.nn as nn
import pyengine.nn.functional as F
from pyengine.autograd import gradcheck
from pyengine.models import LearnedPositionalEmbedding, SinusoidalPositionalEncoding

torch = pytest.importorskip("torch")

D, NH, FF, S, T, N = 8, 2, 12, 5, 4, 3


@pytest.fixture(autouse=True)
def _torch_reference_path():
    was = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="enable_nested_tensor is True")
        yield
    torch.backends.mha.set_fastpath_enabled(was)


def npy(t):
    return t.detach().cpu().numpy()


ACTIVATIONS = {
    "relu": ("relu", "relu"),
    "gelu": ("gelu", "gelu"),
    "callable": (lambda x: torch.nn.functional.silu(x) * 0.5, lambda x: F.silu(x) * 0.5),
    "gelu_tanh_module": (torch.nn.GELU(approximate="tanh"), nn.GELU(approximate="tanh")),
    "F.gelu": (torch.nn.functional.gelu, F.gelu),
}


def make_pair(cls, args, kw, activation=None, src="torch"):
    """The same float64 module in torch and pyengine (`cls` names it in both); weights copied
    from `src` to the other. LayerNorm weights and all biases are randomised first (their init is
    ones / zeros) so that every parameter takes part."""
    tkw, pkw = dict(kw), dict(kw)
    if activation is not None:
        tkw["activation"], pkw["activation"] = ACTIVATIONS[activation]
    torch.manual_seed(0)
    tm = cls_of(torch.nn, cls)(*args(torch.nn), **tkw).double()
    with torch.no_grad():
        for name, p in tm.named_parameters():
            if "bias" in name or "norm" in name:
                p.copy_(torch.randn_like(p) * 0.5 + (1.0 if name.endswith("norm1.weight") else 0.0))
    pe.manual_seed(1)
    pm = cls_of(nn, cls)(*args(nn), **pkw).double()
    if src == "torch":
        pm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    else:
        tm.load_state_dict({k: torch.tensor(npy(v)) for k, v in pm.state_dict().items()})
    return tm, pm


def cls_of(lib, name):
    return getattr(lib, name)


def seq(shape_seq_first, batch_first, batched=True, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape_seq_first)
    if not batched:
        return a[:, 0].copy()
    return a.transpose(1, 0, 2).copy() if batch_first else a


def run_both(tm, pm, arrays, masks=None, **call):
    """Call both modules with the float64 arrays (positional, requiring grad) and the masks
    (keyword, NumPy -> tensors); backward a fixed weighted sum of the output. Returns
    {name: (torch, pyengine)} for the output, every input gradient and every parameter gradient."""
    masks = masks or {}
    res = {}
    for lib, m, mod in (("torch", tm, torch), ("pe", pm, pe)):
        xs = [mod.tensor(a, requires_grad=True) for a in arrays]
        ms = {n: (None if a is None else mod.tensor(a)) for n, a in masks.items()}
        out = m(*xs, **ms, **call)
        w = np.random.default_rng(7).standard_normal(tuple(out.shape))
        (out * mod.tensor(w)).sum().backward()
        res[lib] = dict(out=out, **{f"input{i}_grad": x.grad for i, x in enumerate(xs)},
                        **{"grad_" + n: p.grad for n, p in m.named_parameters()})
    assert set(res["torch"]) == set(res["pe"])
    return {n: (res["torch"][n], res["pe"][n]) for n in res["torch"]}


def assert_close(pairs, rtol=1e-9, atol=1e-10):
    for name, (t, p) in pairs.items():
        assert (t is None) == (p is None), name
        if t is not None:
            assert tuple(t.shape) == tuple(p.shape), (name, tuple(t.shape), tuple(p.shape))
            np.testing.assert_allclose(npy(p), npy(t), rtol=rtol, atol=atol, err_msg=name)


def key_padding(n_keys, float_mask=False, batched=True):
    kpm = np.zeros((N, n_keys), bool)
    kpm[1, -2:] = True
    kpm[2, -1] = True
    if float_mask:
        kpm = np.where(kpm, -np.inf, np.random.default_rng(3).standard_normal(kpm.shape))
    return kpm if batched else kpm[1]


def causal(n, kind="bool"):
    upper = np.triu(np.ones((n, n), bool), 1)
    return upper if kind == "bool" else np.where(upper, -np.inf, 0.0)


ENC_ARGS = lambda lib: (D, NH)  # noqa: E731
OPTIONS = {
    "default": {},
    "norm_first": dict(norm_first=True),
    "batch_first": dict(batch_first=True),
    "batch_first_norm_first": dict(batch_first=True, norm_first=True),
    "no_bias": dict(bias=False),
    "eps": dict(layer_norm_eps=1e-2),
}


def layer_kw(opt):
    return dict(dim_feedforward=FF, dropout=0.0, **OPTIONS[opt])


# ---------------------------------------------------------------- encoder layer
@pytest.mark.parametrize("opt", list(OPTIONS))
@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_encoder_layer_options_vs_torch(opt, act):
    kw = layer_kw(opt)
    tm, pm = make_pair("TransformerEncoderLayer", ENC_ARGS, kw, activation=act)
    bf = kw.get("batch_first", False)
    masks = dict(src_mask=causal(S), src_key_padding_mask=key_padding(S))
    assert_close(run_both(tm, pm, [seq((S, N, D), bf)], masks))


@pytest.mark.parametrize("mask", ["none", "src_bool", "src_float", "src_3d_float", "kpm_bool", "kpm_float",
                                  "both_float", "causal_hint", "causal_hint_kpm"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_masks_vs_torch(mask, batch_first, norm_first):
    kw = dict(dim_feedforward=FF, dropout=0.0, batch_first=batch_first, norm_first=norm_first)
    tm, pm = make_pair("TransformerEncoderLayer", ENC_ARGS, kw)
    rng = np.random.default_rng(4)
    masks, call = {}, {}
    if mask == "src_bool":
        masks["src_mask"] = causal(S)
    elif mask == "src_float":
        masks["src_mask"] = rng.standard_normal((S, S))
    elif mask == "src_3d_float":
        masks["src_mask"] = rng.standard_normal((N * NH, S, S))
    elif mask == "kpm_bool":
        masks["src_key_padding_mask"] = key_padding(S)
    elif mask == "kpm_float":
        masks["src_key_padding_mask"] = key_padding(S, float_mask=True)
    elif mask == "both_float":
        masks.update(src_mask=causal(S, "float"), src_key_padding_mask=key_padding(S, float_mask=True))
    elif mask.startswith("causal_hint"):
        masks["src_mask"] = causal(S, "float")
        call["is_causal"] = True
        if mask.endswith("kpm"):
            masks["src_key_padding_mask"] = key_padding(S, float_mask=True)
    assert_close(run_both(tm, pm, [seq((S, N, D), batch_first)], masks, **call))


@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_unbatched_vs_torch(batch_first):
    kw = dict(dim_feedforward=FF, dropout=0.0, batch_first=batch_first)
    tm, pm = make_pair("TransformerEncoderLayer", ENC_ARGS, kw, activation="gelu")
    masks = dict(src_mask=causal(S), src_key_padding_mask=key_padding(S, batched=False))
    assert_close(run_both(tm, pm, [seq((S, N, D), batch_first, batched=False)], masks))


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_encoder_layer_train_and_eval_vs_torch(mode):
    """eval mode with dropout 0.3: no dropout anywhere; train mode with dropout 0: the same math."""
    kw = dict(dim_feedforward=FF, dropout=0.3 if mode == "eval" else 0.0, batch_first=True)
    tm, pm = make_pair("TransformerEncoderLayer", ENC_ARGS, kw)
    tm.train(mode == "train")
    pm.train(mode == "train")
    assert_close(run_both(tm, pm, [seq((S, N, D), True)], dict(src_key_padding_mask=key_padding(S))))


def test_encoder_layer_dropout_in_training_only():
    pe.manual_seed(0)
    m = nn.TransformerEncoderLayer(D, NH, FF, dropout=0.5).double()
    x = pe.tensor(seq((S, N, D), False))
    assert not np.allclose(npy(m(x)), npy(m(x)))
    m.eval()
    np.testing.assert_array_equal(npy(m(x)), npy(m(x)))


# ---------------------------------------------------------------- decoder layer
DEC_ARGS = ENC_ARGS


@pytest.mark.parametrize("opt", list(OPTIONS))
@pytest.mark.parametrize("act", ["relu", "gelu", "callable"])
def test_decoder_layer_options_vs_torch(opt, act):
    kw = layer_kw(opt)
    tm, pm = make_pair("TransformerDecoderLayer", DEC_ARGS, kw, activation=act)
    bf = kw.get("batch_first", False)
    masks = dict(tgt_mask=causal(T), tgt_key_padding_mask=key_padding(T), memory_key_padding_mask=key_padding(S))
    assert_close(run_both(tm, pm, [seq((T, N, D), bf), seq((S, N, D), bf, seed=1)], masks))


@pytest.mark.parametrize("mask", ["none", "tgt_causal_hint", "memory_mask_bool", "memory_mask_float",
                                  "all_float", "memory_3d"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_masks_vs_torch(mask, norm_first):
    kw = dict(dim_feedforward=FF, dropout=0.0, norm_first=norm_first)
    tm, pm = make_pair("TransformerDecoderLayer", DEC_ARGS, kw)
    rng = np.random.default_rng(5)
    masks, call = {}, {}
    mem_bool = np.zeros((T, S), bool)
    mem_bool[:, 1] = True
    mem_bool[0, 2:] = True
    if mask == "tgt_causal_hint":
        masks["tgt_mask"] = causal(T, "float")
        call["tgt_is_causal"] = True
    elif mask == "memory_mask_bool":
        masks["memory_mask"] = mem_bool
    elif mask == "memory_mask_float":
        masks["memory_mask"] = rng.standard_normal((T, S))
    elif mask == "all_float":
        masks.update(tgt_mask=causal(T, "float"), memory_mask=np.where(mem_bool, -np.inf, 0.0),
                     tgt_key_padding_mask=key_padding(T, float_mask=True),
                     memory_key_padding_mask=key_padding(S, float_mask=True))
    elif mask == "memory_3d":
        masks["memory_mask"] = rng.standard_normal((N * NH, T, S))
    assert_close(run_both(tm, pm, [seq((T, N, D), False), seq((S, N, D), False, seed=1)], masks, **call))


def test_decoder_layer_unbatched_vs_torch():
    kw = dict(dim_feedforward=FF, dropout=0.0, norm_first=True)
    tm, pm = make_pair("TransformerDecoderLayer", DEC_ARGS, kw)
    masks = dict(tgt_mask=causal(T), memory_key_padding_mask=key_padding(S, batched=False))
    assert_close(run_both(tm, pm, [seq((T, N, D), False, batched=False), seq((S, N, D), False, batched=False,
                                                                             seed=1)], masks))


# ---------------------------------------------------------------- stacks and the full model
def enc_args(lib):
    return (lib.TransformerEncoderLayer(D, NH, FF, dropout=0.0, batch_first=True), 2,
            lib.LayerNorm(D))


def dec_args(lib):
    return (lib.TransformerDecoderLayer(D, NH, FF, dropout=0.0, norm_first=True), 2)


@pytest.mark.parametrize("mask", ["none", "causal_detected", "causal_bool_detected", "causal_hint", "kpm",
                                  "causal_kpm", "not_causal_float"])
def test_encoder_vs_torch(mask):
    tm, pm = make_pair("TransformerEncoder", enc_args, dict(enable_nested_tensor=True, mask_check=True))
    masks, call = {}, {}
    if mask == "causal_detected":
        masks["mask"] = causal(S, "float")
    elif mask == "causal_bool_detected":
        masks["mask"] = causal(S)
    elif mask == "causal_hint":
        masks["mask"] = causal(S, "float")
        call["is_causal"] = True
    elif mask == "kpm":
        masks["src_key_padding_mask"] = key_padding(S)
    elif mask == "causal_kpm":
        masks.update(mask=causal(S), src_key_padding_mask=key_padding(S))
    elif mask == "not_causal_float":
        masks["mask"] = np.random.default_rng(6).standard_normal((S, S))
    assert_close(run_both(tm, pm, [seq((S, N, D), True)], masks, **call))


@pytest.mark.parametrize("mask", ["none", "causal_detected", "all"])
def test_decoder_vs_torch(mask):
    tm, pm = make_pair("TransformerDecoder", dec_args, {})
    masks = {}
    if mask == "causal_detected":
        masks["tgt_mask"] = causal(T, "float")
    elif mask == "all":
        masks.update(tgt_mask=causal(T), tgt_key_padding_mask=key_padding(T), memory_key_padding_mask=key_padding(S))
    assert_close(run_both(tm, pm, [seq((T, N, D), False), seq((S, N, D), False, seed=1)], masks))


def transformer_args(lib):
    return ()


@pytest.mark.parametrize("opt", ["default", "batch_first_norm_first", "no_bias"])
@pytest.mark.parametrize("src", ["torch", "pe"])
def test_transformer_vs_torch(opt, src):
    kw = dict(d_model=D, nhead=NH, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=FF, dropout=0.0,
              **OPTIONS[opt])
    tm, pm = make_pair("Transformer", transformer_args, kw, activation="gelu", src=src)
    bf = kw.get("batch_first", False)
    masks = dict(tgt_mask=nn.Transformer.generate_square_subsequent_mask(T, dtype=pe.float64).numpy(),
                 src_key_padding_mask=key_padding(S), memory_key_padding_mask=key_padding(S),
                 tgt_key_padding_mask=key_padding(T, float_mask=True))
    assert_close(run_both(tm, pm, [seq((S, N, D), bf), seq((T, N, D), bf, seed=1)], masks))


def test_transformer_unbatched_and_custom_parts_vs_torch():
    def args(lib):
        return ()

    def kw_for(lib):
        enc = lib.TransformerEncoder(lib.TransformerEncoderLayer(D, NH, FF, dropout=0.0), 1)
        return dict(d_model=D, nhead=NH, num_decoder_layers=1, dim_feedforward=FF, dropout=0.0, custom_encoder=enc)

    torch.manual_seed(0)
    tm = torch.nn.Transformer(**kw_for(torch.nn)).double()
    pm = nn.Transformer(**kw_for(nn)).double()
    assert list(pm.state_dict()) == list(tm.state_dict())
    pm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    masks = dict(src_mask=causal(S), tgt_mask=causal(T))
    assert_close(run_both(tm, pm, [seq((S, N, D), False, batched=False), seq((T, N, D), False, batched=False,
                                                                             seed=1)], masks))


def test_generate_square_subsequent_mask_matches_torch():
    for sz in (0, 1, 5):
        t = torch.nn.Transformer.generate_square_subsequent_mask(sz)
        p = nn.Transformer.generate_square_subsequent_mask(sz)
        assert p.dtype == pe.float32 and tuple(p.shape) == (sz, sz)
        np.testing.assert_array_equal(npy(p), t.numpy())
    p64 = nn.Transformer.generate_square_subsequent_mask(3, dtype=pe.float64)
    assert p64.dtype == pe.float64
    assert isinstance(nn.Transformer.__dict__["generate_square_subsequent_mask"], staticmethod)


def test_state_dict_names_and_repr_match_torch():
    cases = [("TransformerEncoderLayer", ENC_ARGS, dict(dim_feedforward=FF)),
             ("TransformerDecoderLayer", DEC_ARGS, dict(dim_feedforward=FF, bias=False)),
             ("TransformerEncoder", enc_args, {}), ("TransformerDecoder", dec_args, {}),
             ("Transformer", transformer_args, dict(d_model=D, nhead=NH, num_encoder_layers=2,
                                                    num_decoder_layers=2, dim_feedforward=FF))]
    for name, args, kw in cases:
        tm = getattr(torch.nn, name)(*args(torch.nn), **kw)
        pm = getattr(nn, name)(*args(nn), **kw)
        assert [(k, tuple(v.shape)) for k, v in pm.state_dict().items()] == \
               [(k, tuple(v.shape)) for k, v in tm.state_dict().items()], name
        if name.endswith("Layer"):  # torch's ModuleList repr groups equal layers ("(0-1): 2 x"), ours lists them
            assert repr(pm) == repr(tm), name


def test_defaults_and_attributes_match_torch():
    t = torch.nn.TransformerEncoderLayer(D, NH)
    p = nn.TransformerEncoderLayer(D, NH)
    assert p.linear1.out_features == t.linear1.out_features == 2048
    assert p.dropout.p == t.dropout.p == 0.1 and p.norm1.eps == t.norm1.eps == 1e-5
    assert p.self_attn.batch_first is False and p.norm_first is False
    assert p.activation is F.relu and p.activation_relu_or_gelu == t.activation_relu_or_gelu == 1
    assert nn.TransformerEncoderLayer(D, NH, activation="gelu").activation_relu_or_gelu == 2
    assert nn.TransformerEncoderLayer(D, NH, activation=nn.GELU()).activation_relu_or_gelu == 2
    assert nn.TransformerEncoderLayer(D, NH, activation=F.silu).activation_relu_or_gelu == 0
    enc = nn.TransformerEncoder(p, 3, enable_nested_tensor=False, mask_check=False)
    assert len(enc.layers) == enc.num_layers == 3 and enc.norm is None and enc.mask_check is False
    assert enc.layers[0] is not p and enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    np.testing.assert_array_equal(npy(enc.layers[0].linear1.weight), npy(enc.layers[2].linear1.weight))
    tr = nn.Transformer(d_model=D, nhead=NH, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=FF)
    assert tr.d_model == D and tr.nhead == NH and tr.batch_first is False


def test_transformer_init_is_xavier_uniform():
    """Every parameter with more than one dim is redrawn with xavier_uniform_ (bound sqrt(6/(in+out)))."""
    pe.manual_seed(0)
    tr = nn.Transformer(d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=32)
    for name, p in tr.named_parameters():
        if p.ndim > 1:
            fan_out, fan_in = p.shape
            bound = math.sqrt(6.0 / (fan_in + fan_out))
            a = np.abs(npy(p))
            assert a.max() <= bound and a.max() > 0.8 * bound, name
    np.testing.assert_array_equal(npy(tr.encoder.norm.weight), 1.0)


# ---------------------------------------------------------------- gradcheck
def test_encoder_layer_gradcheck():
    pe.manual_seed(3)
    m = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, activation="gelu", norm_first=True).double()
    x = pe.tensor(np.random.default_rng(0).standard_normal((3, 2, 4)), requires_grad=True)
    kpm = pe.tensor(np.array([[0.0, 0.5, -np.inf], [0.0, 0.0, -1.0]]))
    mask = pe.tensor(np.random.default_rng(1).standard_normal((3, 3)))

    def fn(x, *params):
        return m(x, src_mask=mask, src_key_padding_mask=kpm)

    assert gradcheck(fn, [x, *m.parameters()], eps=1e-6, atol=1e-6, rtol=1e-4)


def test_decoder_layer_gradcheck():
    pe.manual_seed(4)
    m = nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, batch_first=True).double()
    rng = np.random.default_rng(2)
    tgt = pe.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    mem = pe.tensor(rng.standard_normal((2, 2, 4)), requires_grad=True)
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=pe.float64)

    def fn(tgt, mem, *params):
        return m(tgt, mem, tgt_mask=tgt_mask, tgt_is_causal=True)

    assert gradcheck(fn, [tgt, mem, *m.parameters()], eps=1e-6, atol=1e-6, rtol=1e-4)


# ---------------------------------------------------------------- errors
def test_errors():
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not swish"):
        nn.TransformerEncoderLayer(D, NH, activation="swish")
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerDecoderLayer(D, NH, activation="tanh")
    with pytest.raises(TypeError, match="activation must be 'relu', 'gelu' or a callable, got int"):
        nn.TransformerEncoderLayer(D, NH, activation=3)
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.TransformerEncoderLayer(10, 3)
    tr = nn.Transformer(d_model=D, nhead=NH, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=FF)
    with pytest.raises(RuntimeError, match=r"the batch number of src and tgt must be equal \(src shape \(5, 3, 8\), "
                                           r"tgt shape \(4, 2, 8\)"):
        tr(pe.zeros(S, N, D), pe.zeros(T, 2, D))
    with pytest.raises(RuntimeError, match=r"feature number of src and tgt must be equal to d_model=8 "
                                           r"\(src shape \(5, 3, 6\)"):
        tr(pe.zeros(S, N, 6), pe.zeros(T, N, D))
    layer = nn.TransformerEncoderLayer(D, NH, FF)
    with pytest.raises(RuntimeError, match=r"2D attn_mask is \(4, 4\), but should be \(5, 5\)"):
        layer(pe.zeros(S, N, D), src_mask=pe.zeros(4, 4))
    with pytest.raises(AssertionError, match="only bool and floating types of src_key_padding_mask"):
        layer(pe.zeros(S, N, D), src_key_padding_mask=pe.zeros(N, S, dtype=pe.int64))
    with pytest.warns(UserWarning, match="Support for mismatched src_key_padding_mask and src_mask"):
        layer(pe.zeros(S, N, D), src_mask=pe.zeros(S, S), src_key_padding_mask=pe.zeros(N, S, dtype=pe.bool))


# ---------------------------------------------------------------- positional encodings
def test_sinusoidal_positional_encoding_values():
    """P[i, 2j] = sin(i / 10000^(2j/d)), P[i, 2j+1] = cos(i / 10000^(2j/d)), added to the input."""
    for d in (6, 7):
        enc = SinusoidalPositionalEncoding(d, dropout=0.0, max_len=50)
        x = np.random.default_rng(0).standard_normal((2, 9, d)).astype(np.float32)
        got = npy(enc(pe.tensor(x))) - x
        for i in range(9):
            for c in range(d):
                angle = i / 10000 ** ((c - c % 2) / d)
                want = math.sin(angle) if c % 2 == 0 else math.cos(angle)
                assert abs(got[0, i, c] - want) < 1e-6 and abs(got[1, i, c] - want) < 1e-6
        assert list(enc.state_dict()) == []
    seq_first = SinusoidalPositionalEncoding(6, dropout=0.0, max_len=20, batch_first=False)
    table = npy(SinusoidalPositionalEncoding(6, dropout=0.0, max_len=20)(pe.zeros(1, 9, 6)))[0]
    out = npy(seq_first(pe.zeros(9, 2, 6)))
    np.testing.assert_array_equal(out[:, 0], table)
    np.testing.assert_array_equal(out[:, 1], table)
    np.testing.assert_array_equal(npy(seq_first(pe.zeros(9, 6))), table)  # unbatched
    e64 = SinusoidalPositionalEncoding(4, dropout=0.0, max_len=8).double()
    assert e64(pe.zeros(1, 3, 4, dtype=pe.float64)).dtype == pe.float64


def test_sinusoidal_dropout_and_gradient():
    pe.manual_seed(0)
    enc = SinusoidalPositionalEncoding(8, dropout=0.5, max_len=16)
    x = pe.ones(4, 16, 8, requires_grad=True)
    y = enc(x)
    assert np.any(npy(y) == 0)
    y.sum().backward()
    assert set(np.unique(npy(x.grad))) <= {0.0, 2.0}
    enc.eval()
    np.testing.assert_array_equal(npy(enc(x)), npy(enc(x)))


def test_learned_positional_embedding():
    pe.manual_seed(0)
    emb = LearnedPositionalEmbedding(10, 6)
    assert list(emb.state_dict()) == ["weight"] and tuple(emb.weight.shape) == (10, 6)
    assert 0.01 < npy(emb.weight).std() < 0.03
    x = pe.tensor(np.random.default_rng(0).standard_normal((2, 4, 6)).astype(np.float32), requires_grad=True)
    y = emb(x)
    np.testing.assert_allclose(npy(y), npy(x) + npy(emb.weight)[None, :4], rtol=1e-6)
    (y * pe.tensor(np.arange(48, dtype=np.float32).reshape(2, 4, 6))).sum().backward()
    g = np.arange(48, dtype=np.float32).reshape(2, 4, 6)
    np.testing.assert_allclose(npy(emb.weight.grad)[:4], g.sum(0))
    assert np.all(npy(emb.weight.grad)[4:] == 0)
    sf = LearnedPositionalEmbedding(10, 6, batch_first=False)
    xs = np.zeros((4, 2, 6), np.float32)
    np.testing.assert_allclose(npy(sf(pe.tensor(xs)))[:, 1], npy(sf.weight)[:4])


def test_positional_errors():
    enc = SinusoidalPositionalEncoding(6, max_len=4)
    with pytest.raises(ValueError, match=r"sequence length 5 exceeds max_len=4 \(input shape \(2, 5, 6\)\)"):
        enc(pe.zeros(2, 5, 6))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, S, 6\).*got \(2, 3, 5\)"):
        enc(pe.zeros(2, 3, 5))
    with pytest.raises(ValueError, match=r"sequence length 11 exceeds max_len=10"):
        LearnedPositionalEmbedding(10, 6)(pe.zeros(1, 11, 6))
    with pytest.raises(ValueError, match="must be positive"):
        LearnedPositionalEmbedding(0, 6)


# ---------------------------------------------------------------- devices
def test_encoder_layer_on_device_equals_cpu(device):
    pe.manual_seed(0)
    m = nn.TransformerEncoderLayer(D, NH, FF, dropout=0.0, batch_first=True, activation="gelu")
    x = seq((S, N, D), True).astype(np.float32)
    kpm = np.where(key_padding(S), -np.inf, 0.0).astype(np.float32)
    results = {}
    for dev in ("cpu", device):
        md = m.to(dev)
        xt = pe.tensor(x, device=dev, requires_grad=True)
        out = md(xt, src_key_padding_mask=pe.tensor(kpm, device=dev),
                 src_mask=nn.Transformer.generate_square_subsequent_mask(S, device=dev))
        assert out.device.type == pe.device(dev).type
        out.sum().backward()
        results[dev] = [npy(out), npy(xt.grad)] + [npy(p.grad) for p in md.parameters()]
        md.zero_grad()
    for a, b in zip(results["cpu"], results[device]):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4)


def test_positional_encodings_on_device(device):
    x = np.random.default_rng(0).standard_normal((2, 5, 6)).astype(np.float32)
    outs = {}
    for dev in ("cpu", device):
        pe.manual_seed(0)
        sin = SinusoidalPositionalEncoding(6, dropout=0.0, max_len=8).to(dev)
        learned = LearnedPositionalEmbedding(8, 6).to(dev)
        xt = pe.tensor(x, device=dev, requires_grad=True)
        y = learned(sin(xt))
        assert y.device.type == pe.device(dev).type
        y.sum().backward()
        outs[dev] = [npy(y), npy(xt.grad), npy(learned.weight.grad)]
    for a, b in zip(outs["cpu"], outs[device]):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6)
