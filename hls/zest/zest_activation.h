// zest HLS kernel library: activations.
#ifndef ZEST_ACTIVATION_H_
#define ZEST_ACTIVATION_H_

#include "zest_common.h"

namespace zest {

// hls4ml's ReLU: x > 0 ? (res_T)x : 0.
template <class data_T, class res_T, unsigned N>
void relu(const data_T data[N], res_T res[N]) {
#pragma HLS PIPELINE
    for (unsigned i = 0; i < N; i++) {
#pragma HLS UNROLL
        res[i] = data[i] > 0 ? (res_T)data[i] : (res_T)0;
    }
}

} // namespace zest

#endif
