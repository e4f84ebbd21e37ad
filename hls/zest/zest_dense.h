// zest HLS kernel library: dense layers.
//
// CONFIG_T (one per layer, generated into parameters.h):
//   static const unsigned n_in, n_out;    // shape
//   static const unsigned reuse_factor;   // multiplications per multiplier
//   typedef ... weight_t, bias_t, accum_t;
//   typedef ... weight_raw_t, bias_raw_t;  // integer storage of their raw bits
// accum_t is exact for this layer (zest-fixed's accum_type), so the order
// in which the reuse loop visits the products does not change the result.
#ifndef ZEST_DENSE_H_
#define ZEST_DENSE_H_

#include "zest_common.h"

namespace zest {

// Resource-style dense: n_in*n_out products on ceil(n_in*n_out/RF)
// multipliers, one pass of the reuse loop per cycle.
template <class data_T, class res_T, typename CONFIG_T>
void dense(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
           const typename CONFIG_T::weight_raw_t weights[CONFIG_T::n_in * CONFIG_T::n_out],
           const typename CONFIG_T::bias_raw_t biases[CONFIG_T::n_out]) {
    const unsigned n_mult = CONFIG_T::n_in * CONFIG_T::n_out;
    const unsigned block = ceil_div<n_mult, CONFIG_T::reuse_factor>::value;
    typename CONFIG_T::accum_t acc[CONFIG_T::n_out];
#pragma HLS ARRAY_PARTITION variable=acc complete
#pragma HLS ARRAY_RESHAPE variable=weights block factor=block
InitAccum:
    for (unsigned o = 0; o < CONFIG_T::n_out; o++) {
#pragma HLS UNROLL
        acc[o] = (typename CONFIG_T::accum_t)from_raw<typename CONFIG_T::bias_t>(biases[o]);
    }
ReuseLoop:
    for (unsigned r = 0; r < CONFIG_T::reuse_factor; r++) {
#pragma HLS PIPELINE II=1 rewind
    MultLoop:
        for (unsigned b = 0; b < block; b++) {
#pragma HLS UNROLL
            const unsigned k = r + b * CONFIG_T::reuse_factor;
            if (k < n_mult) {
                const unsigned i = k / CONFIG_T::n_out;
                const unsigned o = k % CONFIG_T::n_out;
                acc[o] += (typename CONFIG_T::accum_t)(data[i] * from_raw<typename CONFIG_T::weight_t>(weights[k]));
            }
        }
    }
Result:
    for (unsigned o = 0; o < CONFIG_T::n_out; o++) {
#pragma HLS UNROLL
        res[o] = (res_T)acc[o];
    }
}

// Dense over two inputs into one accumulator: the surrogate's output layer
// and its linear skip path from the token (log = h*Wo + x*Ws + b).
// CONFIG_T: n_in (first input), n_in2 (second), n_out, reuse_factor,
// weight_t (first), weight2_t (second), bias_t, accum_t, and the raw
// storage types weight_raw_t, weight2_raw_t, bias_raw_t.
template <class data_T, class data2_T, class res_T, typename CONFIG_T>
void dense2(const data_T data[CONFIG_T::n_in], const data2_T data2[CONFIG_T::n_in2],
            res_T res[CONFIG_T::n_out],
            const typename CONFIG_T::weight_raw_t weights[CONFIG_T::n_in * CONFIG_T::n_out],
            const typename CONFIG_T::weight2_raw_t weights2[CONFIG_T::n_in2 * CONFIG_T::n_out],
            const typename CONFIG_T::bias_raw_t biases[CONFIG_T::n_out]) {
    const unsigned n1 = CONFIG_T::n_in * CONFIG_T::n_out;
    const unsigned n_mult = n1 + CONFIG_T::n_in2 * CONFIG_T::n_out;
    const unsigned block = ceil_div<n_mult, CONFIG_T::reuse_factor>::value;
    typename CONFIG_T::accum_t acc[CONFIG_T::n_out];
#pragma HLS ARRAY_PARTITION variable=acc complete
InitAccum:
    for (unsigned o = 0; o < CONFIG_T::n_out; o++) {
#pragma HLS UNROLL
        acc[o] = (typename CONFIG_T::accum_t)from_raw<typename CONFIG_T::bias_t>(biases[o]);
    }
ReuseLoop:
    for (unsigned r = 0; r < CONFIG_T::reuse_factor; r++) {
#pragma HLS PIPELINE II=1 rewind
    MultLoop:
        for (unsigned b = 0; b < block; b++) {
#pragma HLS UNROLL
            const unsigned k = r + b * CONFIG_T::reuse_factor;
            if (k < n1) {
                const unsigned i = k / CONFIG_T::n_out;
                const unsigned o = k % CONFIG_T::n_out;
                acc[o] += (typename CONFIG_T::accum_t)(data[i] * from_raw<typename CONFIG_T::weight_t>(weights[k]));
            } else if (k < n_mult) {
                const unsigned k2 = k - n1;
                const unsigned i = k2 / CONFIG_T::n_out;
                const unsigned o = k2 % CONFIG_T::n_out;
                acc[o] += (typename CONFIG_T::accum_t)(data2[i] * from_raw<typename CONFIG_T::weight2_t>(weights2[k2]));
            }
        }
    }
Result:
    for (unsigned o = 0; o < CONFIG_T::n_out; o++) {
#pragma HLS UNROLL
        res[o] = (res_T)acc[o];
    }
}

} // namespace zest

#endif
