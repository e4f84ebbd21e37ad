// zest C testbench (copied by `zest hls`; the same file for every model).
//
// Usage: tb_zest [vectors.txt] [results.txt]
// vectors.txt: per design a line with its layer count n, then n lines of
// TOKEN_LEN raw integers (each slot's raw input_t value).
// results.txt: per design one line of N_TARGETS raw total_t values
// (LUT FF DSP BRAM18 latency II), as unsigned integers.
// `zest hls-check` writes the vectors and compares the results with the
// Rust fixed-point model.
#include <cstdio>
#include <cstdlib>

#include "zest_top.h"

int main(int argc, char **argv) {
    const char *in_path = argc > 1 ? argv[1] : "tb_data/vectors.txt";
    const char *out_path = argc > 2 ? argv[2] : "tb_data/csim_results.txt";
    FILE *in = std::fopen(in_path, "r");
    if (!in) {
        std::fprintf(stderr, "tb_zest: cannot open %s\n", in_path);
        return 2;
    }
    FILE *out = std::fopen(out_path, "w");
    if (!out) {
        std::fprintf(stderr, "tb_zest: cannot write %s\n", out_path);
        return 2;
    }
    unsigned n_layers = 0;
    unsigned designs = 0;
    while (std::fscanf(in, "%u", &n_layers) == 1) {
        if (n_layers == 0 || n_layers > 65535) {
            std::fprintf(stderr, "tb_zest: design %u: bad layer count %u\n", designs, n_layers);
            return 3;
        }
        hls::stream<token_word_t> tokens;
        for (unsigned l = 0; l < n_layers; l++) {
            for (unsigned i = 0; i < TOKEN_LEN; i++) {
                long long raw = 0;
                if (std::fscanf(in, "%lld", &raw) != 1) {
                    std::fprintf(stderr, "tb_zest: design %u: short token %u\n", designs, l);
                    return 3;
                }
                token_word_t w = raw;
                tokens.write(w);
            }
        }
        result_word_t r[N_TARGETS];
        zest_top(tokens, n_layers, &r[0], &r[1], &r[2], &r[3], &r[4], &r[5]);
        for (unsigned t = 0; t < N_TARGETS; t++) {
            std::fprintf(out, t + 1 < N_TARGETS ? "%llu " : "%llu\n",
                         (unsigned long long)r[t].to_uint64());
        }
        designs++;
    }
    std::fclose(in);
    std::fclose(out);
    std::printf("tb_zest: %u designs\n", designs);
    return 0;
}
