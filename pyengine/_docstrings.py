"""Docstrings for public names whose definitions carry none (what help() shows).

As PyTorch's _torch_docs.py, the text lives here, keyed by where users find the name, and is
attached once at import (install(), called last in pyengine/__init__.py). A docstring written
in the source always wins: only an empty __doc__ is filled. Tensor methods that are the
functional ops themselves (x.sum is pe.sum) share the functional's docstring, and an in-place
method `x.op_()` without one is described from `x.op()`.
"""
import importlib
import inspect


DOCS = {
    # --- pyengine: dtypes, modes, threads, random state -------------------------------------
    "pyengine.get_default_dtype": "The floating dtype that float Python data and random functions create (float32 unless set).",
    "pyengine.set_default_dtype": "Set the default floating dtype (pe.float32 or pe.float64), as torch.set_default_dtype.",
    "pyengine.Tensor": "A strided n-dimensional array on 'cpu' or 'cuda' with autograd; pe.Tensor(data) copies data (a list, NumPy array or tensor) in the default float dtype.",
    "pyengine.enable_grad": "Context manager / decorator that turns gradient recording back on inside a no_grad block.",
    "pyengine.no_grad": "Context manager / decorator that disables gradient recording: ops inside build no graph.",
    "pyengine.is_grad_enabled": "True when operations record gradients (not inside no_grad or inference_mode).",
    "pyengine.is_tensor": "True if obj is a pe.Tensor (or a subclass such as nn.Parameter).",
    "pyengine.numel": "The number of elements of input.",
    "pyengine.clone": "A copy of input with its own storage; differentiable.",
    "pyengine.detach": "A tensor sharing input's storage, cut from the autograd graph.",
    "pyengine.set_num_threads": "Set the number of CPU threads the kernels use.",
    "pyengine.get_num_threads": "The number of CPU threads the kernels use.",
    "pyengine.get_autocast_dtype": "The dtype autocast uses on device_type ('cpu' or 'cuda').",
    "pyengine.is_autocast_enabled": "True inside an autocast region for device_type.",
    "pyengine.get_rng_state": "The default generator's state: an int64 tensor (seed, offset, initial seed), not torch's byte tensor.",
    "pyengine.set_rng_state": "Restore the default generator's state from a tensor returned by get_rng_state().",
    "pyengine.initial_seed": "The seed the default generator was started from.",
    # --- creation ---------------------------------------------------------------------------
    "pyengine.arange": "Values from start (default 0) up to, not including, end in steps of step; int64 for integer arguments, else the default float dtype.",
    "pyengine.empty": "A tensor of the given size with unspecified contents.",
    "pyengine.empty_like": "An uninitialised tensor with input's shape (and dtype/device unless given).",
    "pyengine.eye": "The n x m (default n x n) identity matrix.",
    "pyengine.from_dlpack": "A tensor sharing memory with a DLPack-capable object (NumPy array, torch tensor, ...).",
    "pyengine.full": "A tensor of the given size filled with fill_value (dtype inferred from fill_value as torch does).",
    "pyengine.full_like": "A tensor with input's shape filled with fill_value.",
    "pyengine.linspace": "steps values evenly spaced from start to end inclusive.",
    "pyengine.ones": "A tensor of ones of the given size.",
    "pyengine.ones_like": "A tensor of ones with input's shape (and dtype/device unless given).",
    "pyengine.zeros": "A tensor of zeros of the given size.",
    "pyengine.zeros_like": "A tensor of zeros with input's shape (and dtype/device unless given).",
    "pyengine.rand": "Uniform samples on [0, 1) of the given size; generator= picks the stream (numbers differ from torch's for the same seed).",
    "pyengine.rand_like": "Uniform samples on [0, 1) with input's shape.",
    "pyengine.randn": "Standard normal samples of the given size; generator= picks the stream (numbers differ from torch's for the same seed).",
    "pyengine.randn_like": "Standard normal samples with input's shape.",
    # --- math -------------------------------------------------------------------------------
    "pyengine.add": "input + alpha * other, broadcast, with PyTorch's type promotion.",
    "pyengine.sub": "input - alpha * other, broadcast, with PyTorch's type promotion.",
    "pyengine.clamp": "Elementwise min(max(input, min), max); min and max may be numbers or tensors (broadcast).",
    "pyengine.logical_not": "Elementwise logical NOT (a bool tensor).",
    "pyengine.masked_fill": "A copy of input with value written where the boolean mask (broadcast) is True.",
    "pyengine.matmul": "Matrix product with NumPy/PyTorch broadcasting rules for 1-d and batched operands; mixed dtypes are promoted (torch refuses them).",
    "pyengine.mm": "The matrix product of two 2-d tensors.",
    "pyengine.bmm": "Batched matrix product of (b, n, m) and (b, m, p) tensors.",
    "pyengine.dot": "The inner product of two 1-d tensors.",
    # --- reductions -------------------------------------------------------------------------
    "pyengine.sum": "Sum over dim (all elements when None); integers and bool sum in int64, 16-bit floats accumulate in float32.",
    "pyengine.mean": "Mean over dim (all elements when None); a floating (or dtype=) input is required, as torch.",
    "pyengine.prod": "Product over dim (all elements when None).",
    "pyengine.amax": "Maximum over dim (all dims when empty); the gradient is shared equally among ties, as torch.",
    "pyengine.amin": "Minimum over dim (all dims when empty); the gradient is shared equally among ties, as torch.",
    "pyengine.min": "min(input): the smallest element; min(input, dim): (values, indices); min(input, other): the elementwise minimum.",
    "pyengine.argmax": "Index of the largest element (over the flattened tensor when dim is None).",
    "pyengine.argmin": "Index of the smallest element (over the flattened tensor when dim is None).",
    "pyengine.var": "Variance over dim with Bessel's correction unless unbiased=False or correction= says otherwise.",
    "pyengine.std": "Standard deviation over dim with Bessel's correction unless unbiased=False or correction= says otherwise.",
    "pyengine.logsumexp": "log(sum(exp(input))) over dim, computed stably.",
    "pyengine.norm": "The p-norm of input over dim ('fro' by default; see pe.linalg.vector_norm/matrix_norm).",
    "pyengine.all": "True where every element (over dim) is nonzero; a bool tensor.",
    "pyengine.any": "True where some element (over dim) is nonzero; a bool tensor.",
    # --- shape and indexing -----------------------------------------------------------------
    "pyengine.broadcast_shapes": "The shape the given shapes broadcast to (a pe.Size); RuntimeError when they do not.",
    "pyengine.broadcast_tensors": "The tensors expanded (as views) to their common broadcast shape.",
    "pyengine.broadcast_to": "input expanded (a view) to size.",
    "pyengine.cat": "Concatenate tensors along an existing dim (promoting dtypes as torch).",
    "pyengine.concat": "Alias of pe.cat.",
    "pyengine.concatenate": "Alias of pe.cat.",
    "pyengine.chunk": "Split input into `chunks` views of (nearly) equal size along dim.",
    "pyengine.expand": "A view of input with size-1 dims repeated to sizes (-1 keeps a dim).",
    "pyengine.flatten": "Flatten dims start_dim..end_dim into one (a view when possible).",
    "pyengine.movedim": "A view with dims source moved to positions destination.",
    "pyengine.permute": "A view with the dims reordered.",
    "pyengine.reshape": "input with a new shape (a view when the strides allow, else a copy); one dim may be -1.",
    "pyengine.view": "A view of input with a new shape; RuntimeError when the strides do not allow one (use reshape).",
    "pyengine.split": "Split into views of split_size_or_sections (an int or a list of sizes) along dim.",
    "pyengine.squeeze": "A view without size-1 dims (only dim, an int or tuple, when given).",
    "pyengine.unsqueeze": "A view with a size-1 dim inserted at dim.",
    "pyengine.stack": "Stack equally shaped tensors along a new dim.",
    "pyengine.swapaxes": "A view with dims dim0 and dim1 exchanged (torch.transpose).",
    "pyengine.t": "The transpose of a tensor of at most 2 dims.",
    "pyengine.tril": "The lower triangle (on and below `diagonal`) of the last two dims; the rest zero.",
    "pyengine.triu": "The upper triangle (on and above `diagonal`) of the last two dims; the rest zero.",
    "pyengine.unbind": "A tuple of the slices along dim, each without that dim.",
    "pyengine.unflatten": "A view with dim split into sizes (one may be -1).",
    "pyengine.gather": "out[i][j] = input[i][index[i][j]] along dim (index an int64 tensor).",
    "pyengine.index_select": "The entries of input at the int64 indices `index` along dim (a copy).",
    "pyengine.narrow": "The view input[..., start:start+length, ...] along dim.",
    "pyengine.select": "The view input[..., index, ...] along dim (the dim removed).",
    "pyengine.scatter_add": "A copy of input with src added at the positions index gives along dim.",
    "pyengine.nonzero": "The indices of nonzero elements: an (n, ndim) int64 tensor, or a tuple of 1-d ones with as_tuple=True.",
    "pyengine.one_hot": "int64 class indices to a one-hot int64 tensor with num_classes (inferred when -1) columns.",
    # --- nn layers ---------------------------------------------------------------------------
    "pyengine.nn.Module": "Base class of every layer and model: parameters, buffers and submodules registered by attribute assignment, train/eval modes, state_dict, hooks.",
    "pyengine.nn.ELU": "ELU(x) = x if x > 0 else alpha * (exp(x) - 1), elementwise.",
    "pyengine.nn.GELU": "GELU(x) = x * Phi(x) (approximate='tanh': the tanh approximation), elementwise.",
    "pyengine.nn.LeakyReLU": "max(0, x) + negative_slope * min(0, x), elementwise.",
    "pyengine.nn.LogSoftmax": "log(softmax(x)) along dim, computed stably.",
    "pyengine.nn.ReLU": "max(0, x), elementwise.",
    "pyengine.nn.Sigmoid": "1 / (1 + exp(-x)), elementwise.",
    "pyengine.nn.SiLU": "x * sigmoid(x) (swish), elementwise.",
    "pyengine.nn.Softmax": "exp(x) / sum(exp(x)) along dim.",
    "pyengine.nn.Softmin": "softmax(-x) along dim.",
    "pyengine.nn.Softplus": "log(1 + exp(beta * x)) / beta, linear where beta * x > threshold.",
    "pyengine.nn.Tanh": "tanh(x), elementwise.",
    "pyengine.nn.Dropout": "During training, zeroes each element with probability p and scales the rest by 1 / (1 - p); the identity in eval mode.",
    "pyengine.nn.Flatten": "Flatten dims start_dim..end_dim (default: all but the batch dim).",
    "pyengine.nn.Unflatten": "Split dim into unflattened_size.",
    "pyengine.nn.BCELoss": "Binary cross-entropy between probabilities input and targets (log clamped at -100 as torch).",
    "pyengine.nn.BCEWithLogitsLoss": "Binary cross-entropy on logits (sigmoid fused, stable); pos_weight weighs positives.",
    "pyengine.nn.CrossEntropyLoss": "Cross-entropy of logits (N, C, ...) against class indices or class probabilities; weight, ignore_index, label_smoothing as torch.",
    "pyengine.nn.HuberLoss": "Huber loss: quadratic below delta, linear above.",
    "pyengine.nn.L1Loss": "Mean (or sum / none) absolute error.",
    "pyengine.nn.MSELoss": "Mean (or sum / none) squared error.",
    "pyengine.nn.NLLLoss": "Negative log-likelihood of log-probabilities (N, C, ...) at the target class indices.",
    "pyengine.nn.SmoothL1Loss": "Smooth L1 loss: 0.5 x^2 / beta below beta, |x| - 0.5 beta above.",
    "pyengine.nn.AdaptiveAvgPool1d": "Average pooling of (N, C, L) to output_size positions.",
    "pyengine.nn.AdaptiveAvgPool2d": "Average pooling of (N, C, H, W) to output_size (an int or (h, w); None keeps a dim).",
    "pyengine.nn.AdaptiveMaxPool1d": "Max pooling of (N, C, L) to output_size positions; return_indices for the argmax positions.",
    "pyengine.nn.AdaptiveMaxPool2d": "Max pooling of (N, C, H, W) to output_size; return_indices for the argmax positions.",
    "pyengine.nn.AvgPool2d": "2-d average pooling over (N, C, H, W) windows.",
    "pyengine.nn.MaxPool1d": "1-d max pooling over (N, C, L) windows.",
    "pyengine.nn.MaxPool2d": "2-d max pooling over (N, C, H, W) windows.",
    "pyengine.nn.bias_parameters": "The parameters of model with fewer than 2 dims (biases and norm scales), e.g. to exempt them from weight decay (pyengine only).",
    "pyengine.nn.PixelShuffle": "(N, C*r^2, H, W) -> (N, C, H*r, W*r), r = upscale_factor.",
    "pyengine.nn.PixelUnshuffle": "(N, C, H*r, W*r) -> (N, C*r^2, H, W), r = downscale_factor.",
    "pyengine.nn.Upsample": "Resize by size or scale_factor with F.interpolate's modes.",
    "pyengine.nn.UpsamplingBilinear2d": "Bilinear 2-d upsampling with align_corners=True.",
    "pyengine.nn.UpsamplingNearest2d": "Nearest-neighbour 2-d upsampling.",
    # --- functional ---------------------------------------------------------------------------
    "pyengine.nn.functional.elu": "ELU, elementwise (see nn.ELU).",
    "pyengine.nn.functional.gelu": "GELU, elementwise (approximate='none' or 'tanh').",
    "pyengine.nn.functional.leaky_relu": "Leaky ReLU, elementwise.",
    "pyengine.nn.functional.log_softmax": "log(softmax(input)) along dim (dtype= casts first).",
    "pyengine.nn.functional.relu": "max(0, input), elementwise.",
    "pyengine.nn.functional.sigmoid": "1 / (1 + exp(-input)), elementwise.",
    "pyengine.nn.functional.silu": "input * sigmoid(input), elementwise.",
    "pyengine.nn.functional.softmax": "exp(input) / sum(exp(input)) along dim (dtype= casts first).",
    "pyengine.nn.functional.softmin": "softmax(-input) along dim.",
    "pyengine.nn.functional.softplus": "log(1 + exp(beta * input)) / beta, linear above threshold.",
    "pyengine.nn.functional.tanh": "tanh(input), elementwise.",
    "pyengine.nn.functional.threshold": "input where input > threshold, else value.",
    "pyengine.nn.functional.dropout": "Dropout with probability p when training (scaling kept elements by 1 / (1 - p)).",
    "pyengine.nn.functional.adaptive_avg_pool1d": "Adaptive average pooling of (N, C, L) to output_size.",
    "pyengine.nn.functional.adaptive_max_pool1d": "Adaptive max pooling of (N, C, L) to output_size.",
    "pyengine.nn.functional.avg_pool1d": "1-d average pooling over (N, C, L).",
    "pyengine.nn.functional.binary_cross_entropy": "Binary cross-entropy of probabilities against targets.",
    "pyengine.nn.functional.huber_loss": "Huber loss (delta= keyword).",
    "pyengine.nn.functional.l1_loss": "Absolute error, reduced by reduction.",
    "pyengine.nn.functional.mse_loss": "Squared error, reduced by reduction.",
    "pyengine.nn.functional.smooth_l1_loss": "Smooth L1 loss (beta= keyword).",
    "pyengine.nn.functional.soft_margin_loss": "log(1 + exp(-target * input)), reduced by reduction.",
    "pyengine.nn.functional.unflatten": "A view with dim split into sizes.",
    "pyengine.nn.functional.identity": "Returns input unchanged.",
    "pyengine.nn.functional.scaled_dot_product_attention": "softmax(Q K^T * scale + mask) V, with attn_mask, is_causal, dropout_p, scale and enable_gqa as torch.",
    "pyengine.nn.functional.upsample": "Deprecated alias of F.interpolate.",
    "pyengine.nn.functional.upsample_nearest": "F.interpolate with mode='nearest'.",
    "pyengine.nn.functional.upsample_bilinear": "F.interpolate with mode='bilinear', align_corners=True.",
    # --- init ---------------------------------------------------------------------------------
    "pyengine.nn.init.uniform_": "Fill tensor in place with U(a, b) samples (no gradient recorded).",
    "pyengine.nn.init.normal_": "Fill tensor in place with N(mean, std^2) samples.",
    "pyengine.nn.init.constant_": "Fill tensor in place with val.",
    "pyengine.nn.init.zeros_": "Fill tensor in place with zeros.",
    "pyengine.nn.init.ones_": "Fill tensor in place with ones.",
    "pyengine.nn.init.xavier_normal_": "Glorot normal init: std = gain * sqrt(2 / (fan_in + fan_out)).",
    "pyengine.nn.init.kaiming_normal_": "He normal init: std = gain(nonlinearity, a) / sqrt(fan of mode).",
    # --- optim --------------------------------------------------------------------------------
    "pyengine.optim.Optimizer": "Base class of the optimizers: param_groups, per-parameter state, zero_grad, step, state_dict / load_state_dict, add_param_group.",
    "pyengine.optim.Adadelta": "Adadelta (Zeiler 2012) with torch's arguments; one fused step per parameter.",
    "pyengine.optim.Adagrad": "Adagrad with lr_decay and initial_accumulator_value as torch; one fused step per parameter.",
    "pyengine.optim.Adam": "Adam (amsgrad=, maximize=, weight_decay=) as torch; one fused step per parameter.",
    "pyengine.optim.RMSprop": "RMSprop (momentum=, centered=) as torch; one fused step per parameter.",
    "pyengine.optim.SGD": "Stochastic gradient descent with momentum, dampening, Nesterov and weight decay as torch.",
    "pyengine.optim.lr_scheduler.LRScheduler": "Base class of the learning-rate schedulers: step(), get_last_lr(), state_dict / load_state_dict.",
    # --- cuda ---------------------------------------------------------------------------------
    "pyengine.cuda.device_count": "The number of CUDA devices (0 when CUDA is not available).",
    "pyengine.cuda.is_built": "True if this build of pyengine has CUDA kernels (real or emulated).",
    "pyengine.cuda.get_device_name": "The name of the CUDA device.",
    "pyengine.cuda.get_device_capability": "The (major, minor) compute capability of the CUDA device.",
    "pyengine.cuda.synchronize": "Wait for every kernel queued on the CUDA device to finish.",
    "pyengine.cuda.initial_seed": "The initial seed of the random stream (shared with the CPU: one stream for both).",
    # --- Tensor -------------------------------------------------------------------------------
    "pyengine.Tensor.shape": "The size of each dim, a pe.Size.",
    "pyengine.Tensor.size": "The shape (a pe.Size), or the size of dim.",
    "pyengine.Tensor.dim": "The number of dims.",
    "pyengine.Tensor.ndim": "The number of dims.",
    "pyengine.Tensor.numel": "The number of elements.",
    "pyengine.Tensor.dtype": "The element type (a pe.dtype).",
    "pyengine.Tensor.device": "Where the storage lives: pe.device('cpu') or pe.device('cuda', i).",
    "pyengine.Tensor.is_cuda": "True if the tensor is on a CUDA device.",
    "pyengine.Tensor.is_floating_point": "True for float16, bfloat16, float32 and float64 tensors.",
    "pyengine.Tensor.element_size": "Bytes per element.",
    "pyengine.Tensor.stride": "The strides in elements (a tuple), or the stride of dim.",
    "pyengine.Tensor.storage_offset": "The offset, in elements, of the first element in the storage.",
    "pyengine.Tensor.is_contiguous": "True if the strides are C-contiguous.",
    "pyengine.Tensor.data_ptr": "The address of the first element.",
    "pyengine.Tensor.requires_grad": "Whether autograd records operations on this tensor (settable on leaves).",
    "pyengine.Tensor.is_leaf": "True for tensors not produced by a recorded operation (their .grad is filled by backward).",
    "pyengine.Tensor.retains_grad": "True if retain_grad() was called on this non-leaf tensor.",
    "pyengine.Tensor.data": "The same values without autograd history; assigning replaces the storage.",
    "pyengine.Tensor.detach": "A tensor sharing storage, cut from the autograd graph.",
    "pyengine.Tensor.retain_grad": "Keep .grad for this non-leaf tensor after backward.",
    "pyengine.Tensor.backward": "Accumulate d(self)/d(leaf) into each leaf's .grad (gradient required for non-scalars); retain_graph, create_graph, inputs as torch.",
    "pyengine.Tensor.numpy": "A NumPy array sharing the CPU storage; force=True detaches and copies from CUDA. bfloat16 raises TypeError (NumPy has no bfloat16).",
    "pyengine.Tensor.item": "The value of a one-element tensor as a Python number.",
    "pyengine.Tensor.tolist": "The values as (nested) Python lists of numbers.",
    "pyengine.Tensor.fill_": "Fill with value in place; returns self.",
    "pyengine.Tensor.zero_": "Fill with zeros in place; returns self.",
    "pyengine.Tensor.copy_": "Copy src (broadcast, converted to this dtype and device) into self; returns self.",
    "pyengine.Tensor.uniform_": "Fill in place with U(a, b) samples; returns self.",
    "pyengine.Tensor.normal_": "Fill in place with N(mean, std^2) samples; returns self.",
    "pyengine.Tensor.where": "pe.where(condition, self, other).",
    "pyengine.Tensor.expand_as": "self expanded (a view) to other's shape.",
    "pyengine.Tensor.view_as": "self.view(other.shape).",
    "pyengine.Tensor.reshape_as": "self.reshape(other.shape).",
    "pyengine.Tensor.T": "The dims reversed (the transpose of a matrix).",
    "pyengine.Tensor.mT": "The last two dims transposed (a view).",
    "pyengine.Tensor.clone": "A copy with its own storage; differentiable.",
    "pyengine.Tensor.contiguous": "self if C-contiguous, else a contiguous copy.",
    "pyengine.Tensor.cpu": "A copy in CPU memory (self if already there).",
    "pyengine.Tensor.cuda": "A copy on the CUDA device (self if already there).",
    "pyengine.Tensor.float": "self.to(pe.float32).",
    "pyengine.Tensor.double": "self.to(pe.float64).",
    "pyengine.Tensor.half": "self.to(pe.float16).",
    "pyengine.Tensor.bfloat16": "self.to(pe.bfloat16).",
    "pyengine.Tensor.long": "self.to(pe.int64).",
    "pyengine.Tensor.int": "self.to(pe.int32).",
    "pyengine.Tensor.short": "self.to(pe.int16).",
    "pyengine.Tensor.char": "self.to(pe.int8).",
    "pyengine.Tensor.byte": "self.to(pe.uint8).",
    "pyengine.Tensor.bool": "self.to(pe.bool).",
    "pyengine.Tensor.type_as": "self converted to other's dtype.",
    "pyengine.Tensor.new_zeros": "Zeros of size with self's dtype and device unless given.",
    "pyengine.Tensor.new_ones": "Ones of size with self's dtype and device unless given.",
    "pyengine.Tensor.new_full": "A tensor of size filled with fill_value, with self's dtype and device unless given.",
    "pyengine.Tensor.new_tensor": "A copy of data with self's dtype and device unless given.",
    "pyengine.Tensor.requires_grad_": "Set requires_grad (default True) on this leaf tensor; returns self.",
    "pyengine.Tensor.multinomial": "pe.multinomial(self, num_samples, replacement, generator=generator).",
    # --- Module -------------------------------------------------------------------------------
    "pyengine.nn.Module.forward": "The computation of the module; call the module (module(x)), not forward, so hooks run.",
    "pyengine.nn.Module.register_parameter": "Register param (a Parameter or None) under name.",
    "pyengine.nn.Module.add_module": "Register module (or None) as a submodule under name.",
    "pyengine.nn.Module.get_submodule": "The submodule at the dotted path target ('' is self); AttributeError if absent.",
    "pyengine.nn.Module.get_parameter": "The parameter at the dotted path target.",
    "pyengine.nn.Module.modules": "Iterate over self and every submodule, each once.",
    "pyengine.nn.Module.named_children": "Iterate over (name, module) of the direct submodules.",
    "pyengine.nn.Module.children": "Iterate over the direct submodules.",
    "pyengine.nn.Module.named_parameters": "Iterate over (dotted name, parameter), recursing into submodules unless recurse=False.",
    "pyengine.nn.Module.parameters": "Iterate over the parameters (for an optimizer), recursing unless recurse=False.",
    "pyengine.nn.Module.named_buffers": "Iterate over (dotted name, buffer).",
    "pyengine.nn.Module.buffers": "Iterate over the buffers (e.g. BatchNorm's running statistics).",
    "pyengine.nn.Module.train": "Set training mode (mode=True) or eval mode on self and submodules; returns self.",
    "pyengine.nn.Module.eval": "self.train(False): dropout off, norms use running statistics; returns self.",
    "pyengine.nn.Module.requires_grad_": "Set requires_grad on every parameter; returns self.",
    "pyengine.nn.Module.zero_grad": "Reset every parameter's .grad (to None by default, to zeros with set_to_none=False).",
    "pyengine.nn.Module.float": "Cast floating parameters and buffers to float32 in place; returns self.",
    "pyengine.nn.Module.double": "Cast floating parameters and buffers to float64 in place; returns self.",
    "pyengine.nn.Module.half": "Cast floating parameters and buffers to float16 in place; returns self.",
    "pyengine.nn.Module.bfloat16": "Cast floating parameters and buffers to bfloat16 in place; returns self.",
    "pyengine.nn.Module.cpu": "Move parameters and buffers to the CPU in place; returns self.",
    "pyengine.nn.Module.cuda": "Move parameters and buffers to the CUDA device in place; returns self.",
    "pyengine.nn.Module.extra_repr": "The layer's settings shown inside its repr (override in a subclass).",
}


def _resolve(dotted):
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for part in parts[i:]:
            obj = inspect.getattr_static(obj, part) if inspect.isclass(obj) else getattr(obj, part)
        return obj
    raise ImportError(dotted)


def _set_doc(obj, doc):
    if isinstance(obj, property):
        if not (obj.__doc__ or "").strip():
            obj.__doc__ = doc  # a property copied fget's (empty) docstring when it was made
        obj = obj.fget
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if (getattr(obj, "__doc__", None) or "").strip():
        return
    obj.__doc__ = doc
    inner = getattr(obj, "__wrapped__", None)  # the numpy-alias wrapper's original
    if inner is not None and not (inner.__doc__ or "").strip():
        inner.__doc__ = doc


def _fill_tensor_methods(pe):
    # x.op shares pe.op's docstring when it is the same function; x.op_() is described from x.op().
    for name, member in list(vars(pe.Tensor).items()):
        if name.startswith("_") or not inspect.isfunction(member) or (member.__doc__ or "").strip():
            continue
        functional = getattr(pe, name, None)
        if inspect.isroutine(functional) and (functional.__doc__ or "").strip() and \
                inspect.unwrap(functional) is inspect.unwrap(member):
            member.__doc__ = functional.__doc__
        elif name.endswith("_") and inspect.isfunction(inspect.getattr_static(pe.Tensor, name[:-1], None)):
            member.__doc__ = f"In-place version of Tensor.{name[:-1]}(); returns self."


def install():
    import pyengine as pe
    for dotted, doc in DOCS.items():
        _set_doc(_resolve(dotted), doc)
    _fill_tensor_methods(pe)
