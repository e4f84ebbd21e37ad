// zest HLS kernel library: common definitions.
//
// Written for zest in the hls4ml style: every kernel is a template
// configured by a struct of static constants and typedefs, and its pragmas
// follow the configured reuse factor. Bit-exactness with the Rust model
// (zest-fixed) rests on one rule: accumulators are exact (wide enough that
// no product or sum is ever rounded or wrapped), so only the casts to the
// configured result types lose bits, in the same places on both sides.
#ifndef ZEST_COMMON_H_
#define ZEST_COMMON_H_

#include <ap_fixed.h>
#include <ap_int.h>
#include <stdint.h>

namespace zest {

// A value of type T from its raw two's-complement bits. Constants (weights,
// biases, caps, the exp table) are stored as plain integers of their raw
// bits: the ROM holds the same bits as an array of T would, and g++
// compiles the C simulation in seconds instead of minutes.
template <class T, class R> inline T from_raw(R raw) {
#pragma HLS INLINE
    T v;
    v.range(T::width - 1, 0) = raw;
    return v;
}

// Ceiling division, usable in constant expressions.
template <unsigned A, unsigned B> struct ceil_div {
    static const unsigned value = (A + B - 1) / B;
};

} // namespace zest

#endif
