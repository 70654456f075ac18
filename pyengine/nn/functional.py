"""pyengine.nn.functional: the stateless forms of the layers, activations and losses."""
from ._attention_fns import scaled_dot_product_attention
from ._activation_fns import elu, gelu, leaky_relu, relu, sigmoid, silu, softplus, tanh, threshold
from ._activation_more_fns import (celu, celu_, glu, hardshrink, hardsigmoid, hardswish, hardtanh, hardtanh_, logsigmoid,
                                   mish, prelu, relu6, rrelu, rrelu_, selu, selu_, softshrink, softsign, tanhshrink)
from ._distance_fns import cosine_similarity, normalize, pairwise_distance
from ._embedding_fns import embedding, embedding_bag
from ._conv_fns import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from ._layer_fns import bilinear, dropout, dropout1d, dropout2d, dropout3d, linear
from ._mha_fns import multi_head_attention_forward
from ._loss_fns import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, huber_loss,
                        l1_loss, mse_loss, nll_loss, smooth_l1_loss, soft_margin_loss)
from ._loss_more_fns import (cosine_embedding_loss, gaussian_nll_loss, hinge_embedding_loss, kl_div,
                             margin_ranking_loss, multi_margin_loss, multilabel_soft_margin_loss, poisson_nll_loss,
                             triplet_margin_loss)
from ._norm_more_fns import instance_norm, local_response_norm
from ._norm_fns import batch_norm, group_norm, layer_norm, rms_norm
from ._pad_fns import pad
from ._pool_fns import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool1d, adaptive_max_pool2d,
                        avg_pool1d, avg_pool2d, max_pool1d, max_pool2d)
from ._softmax_fns import log_softmax, softmax, softmin
from ._upsample_fns import interpolate, pixel_shuffle, pixel_unshuffle, upsample, upsample_bilinear, upsample_nearest
from ..ops.index import one_hot
from ..ops.shape import flatten, unflatten


def identity(input):
    return input


__all__ = ["elu", "gelu", "leaky_relu", "log_softmax", "relu", "sigmoid", "silu", "softmax", "softmin", "softplus",
           "tanh", "threshold", "dropout", "dropout1d", "dropout2d", "dropout3d", "linear",
           "embedding", "embedding_bag", "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "pad",
           "batch_norm", "group_norm", "layer_norm", "rms_norm",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "avg_pool1d",
           "avg_pool2d", "max_pool1d", "max_pool2d",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "huber_loss", "l1_loss",
           "mse_loss", "nll_loss", "smooth_l1_loss", "soft_margin_loss", "one_hot", "flatten", "unflatten",
           "identity", "scaled_dot_product_attention", "multi_head_attention_forward",
           "interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle", "pixel_unshuffle",
           "bilinear"]
__all__ += ["celu", "glu", "hardshrink", "hardsigmoid", "hardswish", "hardtanh", "logsigmoid", "mish", "prelu", "relu6",
            "rrelu", "selu", "softshrink", "softsign", "tanhshrink", "celu_", "hardtanh_", "rrelu_", "selu_"]
__all__ += ["cosine_similarity", "normalize", "pairwise_distance", "cosine_embedding_loss", "gaussian_nll_loss",
            "hinge_embedding_loss", "kl_div", "margin_ranking_loss", "multi_margin_loss", "multilabel_soft_margin_loss",
            "poisson_nll_loss", "triplet_margin_loss"]
__all__ += ["instance_norm", "local_response_norm"]
from ._unpool_fns import max_unpool1d, max_unpool2d, max_unpool3d
__all__ += ["max_unpool1d", "max_unpool2d", "max_unpool3d"]
from ._conv3d_fns import conv3d
__all__ += ["conv3d"]
from ._pool3d_fns import avg_pool3d, max_pool3d
__all__ += ["avg_pool3d", "max_pool3d"]
