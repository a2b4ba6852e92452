#pragma once
// bench_report: what the benchmarks' reports share: the median of a cell's runs and the file
// system the scratch directory is on.

#include <string>
#include <vector>

namespace ringdb::bench {

/// The median of `values` (the mean of the middle two for an even count; 0 when empty).
double median(std::vector<double> values);

/// The name of the file system holding `path` ("ext4", "tmpfs", or its magic number in hex).
std::string filesystem_name(const std::string& path);
/// True when `path` is on a file system kept in memory (tmpfs, ramfs).
bool is_memory_filesystem(const std::string& path);

}  // namespace ringdb::bench
