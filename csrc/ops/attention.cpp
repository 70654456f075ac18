// Scaled dot-product attention, the op layer (see ops/attention.h): checks the operands once,
// broadcasts the batch dims, allocates the results and ends in one kernel slot per direction.
//
// Errors are RuntimeErrors, as PyTorch raises them, and name the shapes/dtypes/devices that came.
// Shapes the kernels do not take are finished here: an empty batch or L gives empty results,
// S == 0 gives zero rows (lse -inf) and zero gradients, and E == 0 / Ev == 0 run the kernel on a
// stand-in operand of one zero element read with zero strides (scores of 0 + mask, or values of
// 0), so every result still follows the kernel's math.
#include "ops/attention.h"

#include <cmath>
#include <limits>

#include "core/checked.h"
#include "ops/copy.h"

namespace pe::ops {
namespace {

constexpr const char* kOp = "scaled_dot_product_attention";

Shape batch_dims(const Tensor& t) { return Shape(t.shape().begin(), t.shape().end() - 2); }

// The broadcast of q's, k's and v's batch dims, with an error naming all three shapes.
Shape broadcast_batch(const Tensor& q, const Tensor& k, const Tensor& v) {
  const Tensor* ts[3] = {&q, &k, &v};
  size_t n = 0;
  for (const Tensor* t : ts) n = std::max(n, size_t(t->ndim() - 2));
  Shape out(n, 1);
  for (const Tensor* t : ts) {
    const Shape b = batch_dims(*t);
    for (size_t i = 0; i < b.size(); ++i) {
      int64_t& o = out[n - b.size() + i];
      PE_CHECK(b[i] == o || b[i] == 1 || o == 1, RuntimeError, kOp,
               ": the batch dims of query, key and value must broadcast, got query ", shape_str(q.shape()), ", key ",
               shape_str(k.shape()), " and value ", shape_str(v.shape()));
      if (o == 1) o = b[i];
    }
  }
  return out;
}

// The checked geometry of one call.
struct Geometry {
  Shape batch;
  int64_t L, S, E, Ev;
};

Geometry check_inputs(const Tensor& q, const Tensor& k, const Tensor& v, const OptTensor& mask, bool causal) {
  PE_CHECK(q.ndim() >= 2 && k.ndim() >= 2 && v.ndim() >= 2, RuntimeError, kOp,
           ": expected query, key and value to be at least 2-dimensional, got query ", shape_str(q.shape()), ", key ",
           shape_str(k.shape()), " and value ", shape_str(v.shape()));
  check_same_device(kOp, q, "query", k, "key");
  check_same_device(kOp, q, "query", v, "value");
  PE_CHECK(q.dtype() == k.dtype() && q.dtype() == v.dtype(), RuntimeError, kOp,
           ": expected query, key and value to have the same dtype, got query ", dtype_name(q.dtype()), ", key ",
           dtype_name(k.dtype()), " and value ", dtype_name(v.dtype()));
  PE_CHECK(is_floating(q.dtype()), RuntimeError, kOp, ": expected float32 or float64 query, key and value, got ",
           dtype_name(q.dtype()));
  PE_CHECK(q.size(-1) == k.size(-1), RuntimeError, kOp,
           ": query and key must have the same embedding size (last dim), got query ", shape_str(q.shape()),
           " and key ", shape_str(k.shape()));
  PE_CHECK(k.size(-2) == v.size(-2), RuntimeError, kOp,
           ": key and value must have the same sequence length (dim -2), got key ", shape_str(k.shape()),
           " and value ", shape_str(v.shape()));
  Geometry g{broadcast_batch(q, k, v), q.size(-2), k.size(-2), q.size(-1), v.size(-1)};
  if (mask) {
    PE_CHECK(!causal, RuntimeError, kOp, ": Explicit attn_mask should not be set when is_causal=True");
    check_same_device(kOp, q, "query", *mask, "attn_mask");
    PE_CHECK(mask->dtype() == DType::Bool || mask->dtype() == q.dtype(), RuntimeError, kOp,
             ": expected attn_mask dtype to be bool or to match query dtype, got attn_mask.dtype ",
             dtype_name(mask->dtype()), " and query.dtype ", dtype_name(q.dtype()));
    Shape target = g.batch;
    target.push_back(g.L);
    target.push_back(g.S);
    bool ok = mask->ndim() <= int64_t(target.size());
    for (int64_t i = 0; ok && i < mask->ndim(); ++i) {
      const int64_t m = mask->shape()[mask->ndim() - 1 - i];
      ok = m == 1 || m == target[target.size() - 1 - i];
    }
    PE_CHECK(ok, RuntimeError, kOp, ": attn_mask of shape ", shape_str(mask->shape()),
             " does not broadcast to the attention scores' shape (batch..., L, S) = ", shape_str(target));
  }
  return g;
}

// One operand as the kernel reads it: batch strides aligned to the broadcast batch shape, 0
// where the operand has no such dim or size 1 there; the last two dims are (rows, cols), and a
// size-1 row or column dim of a mask broadcasts too (stride 0).
AttentionMatrix matrix(const Tensor& t, const Shape& batch) {
  AttentionMatrix m;
  m.data = t.raw_data();
  const int64_t nd = t.ndim(), nb = int64_t(batch.size());
  m.batch_strides.assign(batch.size(), 0);
  const int64_t tb = std::max<int64_t>(nd - 2, 0);
  for (int64_t i = 0; i < tb; ++i)
    if (t.shape()[i] != 1) m.batch_strides[nb - tb + i] = t.strides()[i];
  m.row_stride = nd >= 2 && t.size(-2) != 1 ? t.stride(-2) : 0;
  m.col_stride = nd >= 1 && t.size(-1) != 1 ? t.stride(-1) : 0;
  return m;
}

// A stand-in for an operand with an empty last dim: one zero element read everywhere.
AttentionMatrix zero_matrix(const Tensor& zero, const Shape& batch) {
  AttentionMatrix m;
  m.data = zero.raw_data();
  m.batch_strides.assign(batch.size(), 0);
  m.row_stride = 0;
  m.col_stride = 0;
  return m;
}

Shape with_tail(Shape s, std::initializer_list<int64_t> tail) {
  s.insert(s.end(), tail);
  return s;
}

// Everything but the results: dtype, sizes, operands (a stand-in for q/k when E == 0 and for v
// when Ev == 0, with the size then 1), mask. `zero` keeps the stand-in alive.
AttentionArgs make_args(const Geometry& g, const Tensor& q, const Tensor& k, const Tensor& v, const OptTensor& mask,
                        bool causal, double scale, Tensor& zero) {
  AttentionArgs a;
  a.dtype = q.dtype();
  a.batch_shape = g.batch;
  a.L = g.L;
  a.S = g.S;
  a.E = std::max<int64_t>(g.E, 1);
  a.Ev = std::max<int64_t>(g.Ev, 1);
  a.scale = scale;
  a.causal = causal;
  if (g.E == 0 || g.Ev == 0) zero = full({1}, 0.0, q.dtype(), q.device());
  a.q = g.E ? matrix(q, g.batch) : zero_matrix(zero, g.batch);
  a.k = g.E ? matrix(k, g.batch) : zero_matrix(zero, g.batch);
  a.v = g.Ev ? matrix(v, g.batch) : zero_matrix(zero, g.batch);
  if (mask) {
    a.mask_kind = mask->dtype() == DType::Bool ? AttentionMaskKind::Bool : AttentionMaskKind::Additive;
    a.mask = matrix(*mask, g.batch);
  }
  return a;
}

// The kernels run when there is at least one (query, key) pair.
bool has_pairs(const Geometry& g) { return g.L > 0 && g.S > 0 && checked_numel(g.batch, kOp) > 0; }

Tensor empty_like_dtype(const Shape& s, const Tensor& like) { return Tensor::empty(s, like.dtype(), like.device()); }
Tensor zeros_like_dtype(const Shape& s, const Tensor& like) { return full(s, 0.0, like.dtype(), like.device()); }

}  // namespace

AttentionForward attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const OptTensor& mask,
                                   bool causal, double scale) {
  const Geometry g = check_inputs(q, k, v, mask, causal);
  const Shape out_shape = with_tail(g.batch, {g.L, g.Ev}), lse_shape = with_tail(g.batch, {g.L});
  if (!has_pairs(g))  // no key for any query (or no query): zero rows, lse = -inf
    return {zeros_like_dtype(out_shape, q),
            full(lse_shape, -std::numeric_limits<double>::infinity(), q.dtype(), q.device())};
  AttentionForward f{empty_like_dtype(out_shape, q), empty_like_dtype(lse_shape, q)};
  Tensor zero;
  AttentionArgs a = make_args(g, q, k, v, mask, causal, scale, zero);
  // Ev == 0: the kernel writes a (batch..., L, 1) stand-in output (of zeros) to get lse.
  Tensor out_buf = g.Ev ? f.out : empty_like_dtype(with_tail(g.batch, {g.L, 1}), q);
  a.out = out_buf.raw_data();
  a.lse = f.lse.raw_data();
  attention_forward_kernel(q.device(), a);
  return f;
}

AttentionGrads attention_backward(const Tensor& grad_out, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const OptTensor& mask, bool causal, double scale, const AttentionForward& saved) {
  const Geometry g = check_inputs(q, k, v, mask, causal);
  const Shape out_shape = with_tail(g.batch, {g.L, g.Ev}), lse_shape = with_tail(g.batch, {g.L});
  const Shape dq_shape = with_tail(g.batch, {g.L, g.E}), dk_shape = with_tail(g.batch, {g.S, g.E}),
              dv_shape = with_tail(g.batch, {g.S, g.Ev});
  const char* what[3] = {"grad_out", "out", "lse"};
  const Tensor* ts[3] = {&grad_out, &saved.out, &saved.lse};
  for (int i = 0; i < 3; ++i) {
    const Shape& want = i == 2 ? lse_shape : out_shape;
    PE_CHECK(ts[i]->shape() == want, RuntimeError, kOp, "_backward: expected ", what[i], " of shape ",
             shape_str(want), ", got ", shape_str(ts[i]->shape()));
    PE_CHECK(ts[i]->dtype() == q.dtype(), RuntimeError, kOp, "_backward: expected ", what[i], " of dtype ",
             dtype_name(q.dtype()), " (the query's), got ", dtype_name(ts[i]->dtype()));
    check_same_device(kOp, q, "query", *ts[i], what[i]);
  }
  // Ev == 0: out and grad_out are empty, D = dO . out = 0 and dP = 0, so dS = 0: dq and dk are
  // zeros (and dv is empty). No pairs: every gradient is zero.
  if (!has_pairs(g) || g.Ev == 0)
    return {zeros_like_dtype(dq_shape, q), zeros_like_dtype(dk_shape, q), zeros_like_dtype(dv_shape, q)};
  AttentionGrads r{empty_like_dtype(dq_shape, q), empty_like_dtype(dk_shape, q), empty_like_dtype(dv_shape, q)};
  Tensor zero;
  AttentionArgs a = make_args(g, q, k, v, mask, causal, scale, zero);
  const Tensor go = contiguous(grad_out), out = contiguous(saved.out), lse = contiguous(saved.lse);
  a.grad_out = go.raw_data();
  a.out = out.raw_data();
  a.lse = lse.raw_data();
  // E == 0: dq and dk are empty; the kernel writes (batch..., L, 1) / (batch..., S, 1) stand-ins.
  Tensor dq = g.E ? r.dq : empty_like_dtype(with_tail(g.batch, {g.L, 1}), q);
  Tensor dk = g.E ? r.dk : empty_like_dtype(with_tail(g.batch, {g.S, 1}), q);
  a.dq = dq.raw_data();
  a.dk = dk.raw_data();
  a.dv = r.dv.raw_data();
  attention_backward_kernel(q.device(), a);
  return r;
}

}  // namespace pe::ops
