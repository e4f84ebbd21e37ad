// Golden model for zest-fixed: the same operations computed by the real
// Vivado/Vitis HLS ap_fixed types (the ap_types headers of the hls4ml 1.3.0
// wheel) and hls4ml's Latency-strategy dense/ReLU loops.
//
// Build: g++ -std=c++14 -O1 -isystem <ap_types> fixed_golden.cpp -o fixed_golden
// Input lines (stdin), raw integers meaning raw * 2^-F:
//   C <src> <dst> <raw>                          -> raw of (dst)(src value)
//   D <cfg> <n_in> <n_out> x[n_in] w[n_in*n_out] b[n_out]  -> n_out raws
//   R <cfg> <n> x[n]                             -> n raws
//   E <cfg> <n> x[n]                             -> n raws of exp by table
// The type ids and the dense/relu configurations are listed below and, in
// the same order, in fixed/tests/golden.rs, which generates golden_types.h.
#include <ap_fixed.h>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

// t0..t13, and the types of the dense (d<k>_x/_w/_b/_a/_r) and ReLU
// (r<k>_x/_r) configurations: written by fixed/tests/golden.rs from its
// own list, so the two sides cannot drift apart.
#include "golden_types.h"


template <typename T> T from_raw(long long raw) {
  // Exact: every type here has at most 53 bits.
  T v = std::ldexp((double)raw, -(T::width - T::iwidth));
  return v;
}

template <typename T> long long to_raw(const T &v) {
  return (long long)std::ldexp(v.to_double(), T::width - T::iwidth);
}

template <typename S, typename D> long long cast2(long long raw) {
  S s = from_raw<S>(raw);
  D d = s;
  return to_raw(d);
}

template <typename S> long long cast_from(int dst, long long raw) {
  switch (dst) {
  case 0: return cast2<S, t0>(raw);
  case 1: return cast2<S, t1>(raw);
  case 2: return cast2<S, t2>(raw);
  case 3: return cast2<S, t3>(raw);
  case 4: return cast2<S, t4>(raw);
  case 5: return cast2<S, t5>(raw);
  case 6: return cast2<S, t6>(raw);
  case 7: return cast2<S, t7>(raw);
  case 8: return cast2<S, t8>(raw);
  case 9: return cast2<S, t9>(raw);
  case 10: return cast2<S, t10>(raw);
  case 11: return cast2<S, t11>(raw);
  case 12: return cast2<S, t12>(raw);
  default: return cast2<S, t13>(raw);
  }
}

long long cast_any(int src, int dst, long long raw) {
  switch (src) {
  case 0: return cast_from<t0>(dst, raw);
  case 1: return cast_from<t1>(dst, raw);
  case 2: return cast_from<t2>(dst, raw);
  case 3: return cast_from<t3>(dst, raw);
  case 4: return cast_from<t4>(dst, raw);
  case 5: return cast_from<t5>(dst, raw);
  case 6: return cast_from<t6>(dst, raw);
  case 7: return cast_from<t7>(dst, raw);
  case 8: return cast_from<t8>(dst, raw);
  case 9: return cast_from<t9>(dst, raw);
  case 10: return cast_from<t10>(dst, raw);
  case 11: return cast_from<t11>(dst, raw);
  case 12: return cast_from<t12>(dst, raw);
  default: return cast_from<t13>(dst, raw);
  }
}

// hls4ml dense_latency: mult = (accum_t)(x * w); acc = (accum_t)bias;
// acc += mult in ascending input order; res = (res_t)acc.
template <typename X, typename W, typename B, typename A, typename R>
void dense(int n_in, int n_out, const std::vector<long long> &xr,
           const std::vector<long long> &wr, const std::vector<long long> &br,
           std::vector<long long> &out) {
  std::vector<X> x(n_in);
  std::vector<W> w(n_in * n_out);
  std::vector<B> b(n_out);
  for (int i = 0; i < n_in; i++) x[i] = from_raw<X>(xr[i]);
  for (int i = 0; i < n_in * n_out; i++) w[i] = from_raw<W>(wr[i]);
  for (int o = 0; o < n_out; o++) b[o] = from_raw<B>(br[o]);
  std::vector<A> mult(n_in * n_out);
  for (int i = 0; i < n_in; i++)
    for (int o = 0; o < n_out; o++) mult[i * n_out + o] = x[i] * w[i * n_out + o];
  std::vector<A> acc(n_out);
  for (int o = 0; o < n_out; o++) acc[o] = (A)b[o];
  for (int i = 0; i < n_in; i++)
    for (int o = 0; o < n_out; o++) acc[o] += mult[i * n_out + o];
  out.resize(n_out);
  for (int o = 0; o < n_out; o++) {
    R r = (R)acc[o];
    out[o] = to_raw(r);
  }
}

// hls4ml softmax's exp table: entry i = (table_t)exp(value of the input
// whose top N bits are i), looked up by the input's top N bits.
template <typename X, typename T, int N> long long exp_lookup(long long raw) {
  static T table[1 << N];
  static bool init = false;
  if (!init) {
    for (int i = 0; i < (1 << N); i++) {
      X v;
      v.range(X::width - 1, X::width - N) = i;
      v.range(X::width - N - 1, 0) = 0;
      table[i] = (T)std::exp(v.to_double());
    }
    init = true;
  }
  X x = from_raw<X>(raw);
  ap_uint<N> idx = x.range(X::width - 1, X::width - N);
  return to_raw(table[(unsigned)idx]);
}

template <typename X, typename R> long long relu1(long long raw) {
  X x = from_raw<X>(raw);
  R r = x > 0 ? (R)x : (R)0;
  return to_raw(r);
}

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    char op = 0;
    in >> op;
    if (op == 'C') {
      int s, d;
      long long raw;
      in >> s >> d >> raw;
      std::printf("%lld\n", cast_any(s, d, raw));
    } else if (op == 'D') {
      int cfg, n_in, n_out;
      in >> cfg >> n_in >> n_out;
      std::vector<long long> x(n_in), w(n_in * n_out), b(n_out), out;
      for (auto &v : x) in >> v;
      for (auto &v : w) in >> v;
      for (auto &v : b) in >> v;
      switch (cfg) {
      case 0: dense<d0_x, d0_w, d0_b, d0_a, d0_r>(n_in, n_out, x, w, b, out); break;
      case 1: dense<d1_x, d1_w, d1_b, d1_a, d1_r>(n_in, n_out, x, w, b, out); break;
      case 2: dense<d2_x, d2_w, d2_b, d2_a, d2_r>(n_in, n_out, x, w, b, out); break;
      default: dense<d3_x, d3_w, d3_b, d3_a, d3_r>(n_in, n_out, x, w, b, out); break;
      }
      for (int o = 0; o < n_out; o++) std::printf(o ? " %lld" : "%lld", out[o]);
      std::printf("\n");
    } else if (op == 'R') {
      int cfg, n;
      in >> cfg >> n;
      for (int i = 0; i < n; i++) {
        long long raw;
        in >> raw;
        long long r;
        switch (cfg) {
        case 0: r = relu1<r0_x, r0_r>(raw); break;
        case 1: r = relu1<r1_x, r1_r>(raw); break;
        default: r = relu1<r2_x, r2_r>(raw); break;
        }
        std::printf(i ? " %lld" : "%lld", r);
      }
      std::printf("\n");
    } else if (op == 'E') {
      int cfg, n;
      in >> cfg >> n;
      for (int i = 0; i < n; i++) {
        long long raw;
        in >> raw;
        long long r;
        switch (cfg) {
        case 0: r = exp_lookup<e0_x, e0_t, E0_BITS>(raw); break;
        case 1: r = exp_lookup<e1_x, e1_t, E1_BITS>(raw); break;
        default: r = exp_lookup<e2_x, e2_t, E2_BITS>(raw); break;
        }
        std::printf(i ? " %lld" : "%lld", r);
      }
      std::printf("\n");
    } else if (!line.empty()) {
      std::fprintf(stderr, "bad line: %s\n", line.c_str());
      return 2;
    }
  }
  return 0;
}
