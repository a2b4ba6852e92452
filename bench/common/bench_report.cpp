// bench_report: the helpers every benchmark's report uses (see bench_report.hpp).

#include "common/bench_report.hpp"

#include <sys/statfs.h>

#include <algorithm>
#include <cstdio>

namespace ringdb::bench {

namespace {

// statfs f_type values (linux/magic.h) of the file systems this is likely to meet.
constexpr long kTmpfsMagic = 0x01021994;
constexpr long kRamfsMagic = 0x858458f6;

struct FsName {
    long magic;
    const char* name;
};
constexpr FsName kFsNames[] = {
        {0xEF53, "ext4"},          {0x58465342, "xfs"},  {0x9123683E, "btrfs"},
        {kTmpfsMagic, "tmpfs"},    {kRamfsMagic, "ramfs"}, {0x794c7630, "overlayfs"},
        {0xF2F52010, "f2fs"},      {0x2fc12fc1, "zfs"},  {0x6969, "nfs"},
        {0x65735546, "fuse"},      {0x01021997, "9p"},   {0x5346544e, "ntfs"},
};

}  // namespace

double median(std::vector<double> values) {
    if (values.empty()) {
        return 0;
    }
    std::sort(values.begin(), values.end());
    std::size_t mid = values.size() / 2;
    return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

std::string filesystem_name(const std::string& path) {
    struct statfs fs {};
    if (::statfs(path.c_str(), &fs) != 0) {
        return "unknown";
    }
    auto magic = static_cast<long>(fs.f_type);
    for (const FsName& known : kFsNames) {
        if (known.magic == magic) {
            return known.name;
        }
    }
    char hex[32];
    std::snprintf(hex, sizeof(hex), "0x%lx", static_cast<unsigned long>(magic));
    return hex;
}

bool is_memory_filesystem(const std::string& path) {
    struct statfs fs {};
    if (::statfs(path.c_str(), &fs) != 0) {
        return false;
    }
    auto magic = static_cast<long>(fs.f_type);
    return magic == kTmpfsMagic || magic == kRamfsMagic;
}

}  // namespace ringdb::bench
