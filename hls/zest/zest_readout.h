// zest HLS kernel library: the surrogate's readout.
//
// Per target: cap the member's log-cost, look exp(log)/members up in a
// 2^table_bits table indexed by the top bits of the log-cost (as hls4ml's
// softmax indexes its exp table), and add it to the layer's cost. A
// design's costs are the sums over its layers, its II the maximum.
//
// CONFIG_T: n_targets, table_bits, ii_index; typedef log_t, table_t, total_t,
// and the raw storage types log_raw_t, table_raw_t.
#ifndef ZEST_READOUT_H_
#define ZEST_READOUT_H_

#include "zest_common.h"

namespace zest {

template <typename CONFIG_T>
void exp_share(const typename CONFIG_T::log_t log[CONFIG_T::n_targets],
               const typename CONFIG_T::log_raw_t cap[CONFIG_T::n_targets],
               const typename CONFIG_T::table_raw_t table[1 << CONFIG_T::table_bits],
               typename CONFIG_T::total_t cost[CONFIG_T::n_targets]) {
#pragma HLS PIPELINE
    typedef typename CONFIG_T::log_t log_t;
    for (unsigned t = 0; t < CONFIG_T::n_targets; t++) {
#pragma HLS UNROLL
        const log_t c = from_raw<log_t>(cap[t]);
        const log_t v = log[t] > c ? c : log[t];
        const ap_uint<CONFIG_T::table_bits> idx =
            v.range(log_t::width - 1, log_t::width - CONFIG_T::table_bits);
        cost[t] = cost[t] + from_raw<typename CONFIG_T::table_t>(table[idx]);
    }
}

template <typename CONFIG_T>
void accumulate(typename CONFIG_T::total_t totals[CONFIG_T::n_targets],
                const typename CONFIG_T::total_t cost[CONFIG_T::n_targets]) {
#pragma HLS PIPELINE
    for (unsigned t = 0; t < CONFIG_T::n_targets; t++) {
#pragma HLS UNROLL
        if (t == CONFIG_T::ii_index) {
            totals[t] = cost[t] > totals[t] ? cost[t] : totals[t];
        } else {
            totals[t] = totals[t] + cost[t];
        }
    }
}

} // namespace zest

#endif
