// The C++ libprotobuf side of sluice-benchmarks' `--cpp` comparison: the same wire bytes,
// decoded into a reused message and encoded into a reused string, as C++ users do.
//
//   bench-cpp MANIFEST ROUNDS ROUND_SECONDS
//
// MANIFEST has one line per scenario: name, message type and input file, tab-separated.
// For each it prints "name encode<TAB>ns" and "name decode<TAB>ns": the best of ROUNDS rounds,
// each about ROUND_SECONDS long, as the Swift side measures.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>

#include "bench.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

// Keeps the optimizer from dropping work whose result is unused.
volatile size_t sink;

double nanosPerOp(const std::function<void()>& body, double roundSeconds) {
    // Calibrate how many calls fill a round, then time that many.
    long iterations = 1;
    while (true) {
        auto start = Clock::now();
        for (long i = 0; i < iterations; i++) body();
        double elapsed = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
        if (elapsed > 10e6 || iterations >= (1L << 24)) {
            iterations = std::max(1L, static_cast<long>(roundSeconds * 1e9 / (elapsed / iterations)));
            break;
        }
        iterations *= 4;
    }
    auto start = Clock::now();
    for (long i = 0; i < iterations; i++) body();
    return std::chrono::duration<double, std::nano>(Clock::now() - start).count() / iterations;
}

template <typename M>
bool run(const std::string& name, const std::string& input, int rounds, double roundSeconds) {
    M message;
    if (!message.ParseFromString(input)) {
        std::cerr << name << ": libprotobuf cannot parse the input\n";
        return false;
    }
    std::string output;
    message.SerializeToString(&output);
    if (output.size() != input.size()) {
        std::cerr << name << ": libprotobuf writes " << output.size() << " bytes, Sluice " << input.size() << "\n";
        return false;
    }
    double encode = 1e300, decode = 1e300;
    M reused;
    for (int round = 0; round < rounds; round++) {
        encode = std::min(encode, nanosPerOp([&] { message.SerializeToString(&output); sink = output.size(); }, roundSeconds));
        decode = std::min(decode, nanosPerOp([&] { reused.ParseFromString(input); sink = reused.ByteSizeLong(); }, roundSeconds));
    }
    std::printf("%s encode\t%.1f\n%s decode\t%.1f\n", name.c_str(), encode, name.c_str(), decode);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::cerr << "usage: bench-cpp MANIFEST ROUNDS ROUND_SECONDS\n";
        return 2;
    }
    std::ifstream manifest(argv[1]);
    int rounds = std::atoi(argv[2]);
    double roundSeconds = std::atof(argv[3]);
    std::string line;
    while (std::getline(manifest, line)) {
        std::istringstream fields(line);
        std::string name, type, path;
        std::getline(fields, name, '\t');
        std::getline(fields, type, '\t');
        std::getline(fields, path, '\t');
        std::ifstream file(path, std::ios::binary);
        std::string input((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
        bool ok;
        if (type == "bench.Job") ok = run<bench::Job>(name, input, rounds, roundSeconds);
        else if (type == "bench.Batch") ok = run<bench::Batch>(name, input, rounds, roundSeconds);
        else if (type == "bench.Nested") ok = run<bench::Nested>(name, input, rounds, roundSeconds);
        else if (type == "bench.Blob") ok = run<bench::Blob>(name, input, rounds, roundSeconds);
        else if (type == "bench.Scalars") ok = run<bench::Scalars>(name, input, rounds, roundSeconds);
        else {
            std::cerr << "unknown message type " << type << "\n";
            ok = false;
        }
        if (!ok) return 1;
    }
    return 0;
}
