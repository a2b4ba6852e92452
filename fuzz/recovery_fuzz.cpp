// Fuzz target: recovery after crash points (docs/testing.md G5). The input chooses a workload
// seed and length, a device call to fail from (kind and index), whether the failed sync marks
// its pages clean, and how the crash image is built; the image must then open, verify, hold a
// commit between the last acknowledged durable one and the last one attempted, and accept
// writes (sim_workload.hpp). A broken promise aborts.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "fuzz_input.hpp"
#include "sim_workload.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ringdb::fuzz::FuzzInput input(data, size);
    ringdb::test::WorkloadOptions options;
    options.seed = input.u64();
    options.transactions = 1 + input.byte() % 10;
    options.ops_max = 1 + input.byte() % 24;
    auto kind = static_cast<ringdb::io::OpKind>(input.byte() % ringdb::io::kOpKindCount);
    std::uint64_t index = input.u16();
    auto mode = static_cast<ringdb::io::CrashMode>(input.byte() % ringdb::io::kCrashModeCount);
    bool marked_clean = (input.byte() & 1) != 0;
    options.keep_going = kind == ringdb::io::OpKind::read;

    auto sim = std::make_shared<ringdb::io::SimDevice>(options.seed);
    sim->set_failed_pages_marked_clean(marked_clean);
    sim->fail_at(kind, index, ringdb::io::FaultMode::persistent);
    auto result = ringdb::test::run_workload(sim, options, (options.seed & 1) != 0);
    if (!result.violation.empty()) {
        std::fprintf(stderr, "recovery fuzz: %s\n", result.violation.c_str());
        std::abort();
    }
    auto image = sim->crash_image(mode);
    auto target = std::make_shared<ringdb::io::SimDevice>(options.seed + 1, std::move(image));
    std::string failure = ringdb::test::check_recovered(target, result);
    if (!failure.empty()) {
        std::fprintf(stderr, "recovery fuzz (%s #%llu, image %s): %s\n",
                     ringdb::io::op_kind_name(kind), static_cast<unsigned long long>(index),
                     ringdb::io::crash_mode_name(mode), failure.c_str());
        std::abort();
    }
    return 0;
}
