#include "ops/shape_ops.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/reference/reference.hpp"

namespace tessera::ops {

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  return OpRegistry::get().call("permute", {x}, Attrs().set("dims", dims))[0];
}
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end) {
  return OpRegistry::get().call("slice", {x}, Attrs().set("dim", dim).set("start", start).set("end", end))[0];
}
Tensor concat(const std::vector<Tensor>& xs, int64_t dim) {
  return OpRegistry::get().call("concat", xs, Attrs().set("dim", dim))[0];
}
Tensor contiguous(const Tensor& x) {
  TESSERA_CHECK(x.is_contiguous(), "contiguous(): strided views are not produced by any op yet");
  return x;
}

namespace {

int64_t norm_dim(const char* op, int64_t d, size_t rank) {
  int64_t r = int64_t(rank);
  int64_t n = d < 0 ? d + r : d;
  TESSERA_CHECK(n >= 0 && n < r, "op '{}': dim {} out of range for rank {}", op, d, r);
  return n;
}

double exact(DType, const std::vector<TensorDesc>&, const Attrs&) { return 0.0; }
const DType kAll[] = {DType::f32, DType::f16, DType::bf16, DType::i32, DType::i64, DType::u8};

OpRegistrar reg_perm({"permute", "reorder dimensions (attr dims), contiguous result",
                      [](const std::vector<TensorDesc>& in, const Attrs& a) -> std::vector<TensorDesc> {
                        TESSERA_CHECK(in.size() == 1, "op 'permute' takes 1 input");
                        auto dims = a.get_ints("dims");
                        auto s = in[0].shape;
                        std::vector<int64_t> sorted = dims;
                        std::sort(sorted.begin(), sorted.end());
                        bool ok = dims.size() == s.size();
                        for (size_t i = 0; ok && i < sorted.size(); ++i) ok = sorted[i] == int64_t(i);
                        TESSERA_CHECK(ok, "op 'permute': dims must be a permutation of 0..{} for {}", s.size() - 1,
                                      shape_str(s));
                        Shape o;
                        for (auto d : dims) o.push_back(s[d]);
                        return {{o, in[0].dtype}};
                      },
                      ref::permute,
                      [] {
                        std::vector<TestCase> cs;
                        for (DType t : kAll)
                          cs.push_back({std::string("3d_201/") + dtype_name(t), {{{5, 7, 9}, t}},
                                        Attrs().set("dims", std::vector<int64_t>{2, 0, 1})});
                        cs.push_back({"ncdhw_to_ndhwc/f32", {{{2, 16, 5, 6, 7}, DType::f32}},
                                      Attrs().set("dims", std::vector<int64_t>{0, 2, 3, 4, 1})});
                        cs.push_back({"identity/f16", {{{33, 65}, DType::f16}},
                                      Attrs().set("dims", std::vector<int64_t>{0, 1})});
                        return cs;
                      },
                      exact});

OpRegistrar reg_slice({"slice", "rows [start, end) of dim (attrs dim, start, end), contiguous result",
                       [](const std::vector<TensorDesc>& in, const Attrs& a) -> std::vector<TensorDesc> {
                         TESSERA_CHECK(in.size() == 1, "op 'slice' takes 1 input");
                         auto s = in[0].shape;
                         int64_t d = norm_dim("slice", a.get_int("dim", 0), s.size());
                         int64_t st = a.get_int("start", 0), en = a.get_int("end", s[d]);
                         if (st < 0) st += s[d];
                         if (en < 0) en += s[d];
                         TESSERA_CHECK(0 <= st && st <= en && en <= s[d],
                                       "op 'slice': [{}, {}) is not inside dimension {} of {}", a.get_int("start", 0),
                                       a.get_int("end", s[d]), d, shape_str(s));
                         s[d] = en - st;
                         return {{s, in[0].dtype}};
                       },
                       ref::slice,
                       [] {
                         std::vector<TestCase> cs;
                         for (DType t : kAll)
                           cs.push_back({std::string("mid/") + dtype_name(t), {{{6, 50, 3}, t}},
                                         Attrs().set("dim", 1).set("start", 7).set("end", 33)});
                         cs.push_back({"qkv_split/bf16", {{{300, 3, 12, 128}, DType::bf16}},
                                       Attrs().set("dim", 1).set("start", 2).set("end", 3)});
                         cs.push_back({"negative/f32", {{{10, 20}, DType::f32}},
                                       Attrs().set("dim", -1).set("start", -5).set("end", -1)});
                         return cs;
                       },
                       exact});

OpRegistrar reg_cat({"concat", "concatenate inputs along dim (attr dim)",
                     [](const std::vector<TensorDesc>& in, const Attrs& a) -> std::vector<TensorDesc> {
                       TESSERA_CHECK(!in.empty(), "op 'concat' needs inputs");
                       auto s = in[0].shape;
                       int64_t d = norm_dim("concat", a.get_int("dim", 0), s.size());
                       int64_t total = 0;
                       for (auto& t : in) {
                         bool ok = t.dtype == in[0].dtype && t.shape.size() == s.size();
                         for (size_t i = 0; ok && i < s.size(); ++i) ok = int64_t(i) == d || t.shape[i] == s[i];
                         TESSERA_CHECK(ok, "op 'concat': {} {} does not match {} {} outside dim {}",
                                       dtype_name(t.dtype), shape_str(t.shape), dtype_name(in[0].dtype), shape_str(s), d);
                         total += t.shape[d];
                       }
                       s[d] = total;
                       return {{s, in[0].dtype}};
                     },
                     ref::concat,
                     [] {
                       std::vector<TestCase> cs;
                       for (DType t : kAll)
                         cs.push_back({std::string("three_mid/") + dtype_name(t),
                                       {{{4, 3, 5}, t}, {{4, 1, 5}, t}, {{4, 7, 5}, t}}, Attrs().set("dim", 1)});
                       cs.push_back({"channels_last/f16", {{{1000, 32}, DType::f16}, {{1000, 32}, DType::f16}},
                                     Attrs().set("dim", -1)});
                       cs.push_back({"rows/f32", {{{3, 8}, DType::f32}, {{1, 8}, DType::f32}}, Attrs().set("dim", 0)});
                       return cs;
                     },
                     exact});

}  // namespace
}  // namespace tessera::ops
