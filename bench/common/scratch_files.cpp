#include "common/scratch_files.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "common/bench_report.hpp"
#include "common/fio_runner.hpp"

namespace ringdb::bench {

namespace {

constexpr std::size_t kPathMax = 4096;
constexpr std::size_t kScratchMax = 8;
char g_scratch_paths[kScratchMax][kPathMax];  // files, then the directory last
volatile std::sig_atomic_t g_scratch_count = 0;

char g_scratch_tree[kPathMax];  // register_scratch_tree's directory
volatile std::sig_atomic_t g_scratch_tree_set = 0;

extern "C" void on_tree_signal(int signal_number) {
    if (g_scratch_tree_set != 0) {
        pid_t child = ::fork();
        if (child == 0) {
            ::execl("/bin/rm", "rm", "-rf", g_scratch_tree, static_cast<char*>(nullptr));
            ::_exit(127);
        }
        if (child > 0) {
            ::waitpid(child, nullptr, 0);
        }
    }
    ::_exit(128 + signal_number);
}

extern "C" void on_terminate_signal(int signal_number) {
    // fio writes into the scratch directory: stop it first, so the directory can be removed.
    if (pid_t child = running_fio_pid(); child > 0) {
        ::kill(child, SIGTERM);
        ::waitpid(child, nullptr, 0);
    }
    cleanup_scratch();
    ::_exit(128 + signal_number);
}

}  // namespace

void cleanup_scratch() {
    auto count = static_cast<std::size_t>(g_scratch_count);
    g_scratch_count = 0;
    for (std::size_t i = 0; i < count && i < kScratchMax; ++i) {
        if (i + 1 == count) {
            ::rmdir(g_scratch_paths[i]);
        } else {
            ::unlink(g_scratch_paths[i]);
        }
    }
}

void register_scratch(const std::vector<std::string>& files, const std::string& dir,
                      const char* program) {
    if (files.size() + 1 > kScratchMax) {
        std::fprintf(stderr, "%s: too many scratch files\n", program);
        std::abort();
    }
    std::size_t count = 0;
    for (const std::string& f : files) {
        std::snprintf(g_scratch_paths[count++], kPathMax, "%s", f.c_str());
    }
    std::snprintf(g_scratch_paths[count++], kPathMax, "%s", dir.c_str());
    g_scratch_count = static_cast<std::sig_atomic_t>(count);
    std::signal(SIGINT, on_terminate_signal);
    std::signal(SIGTERM, on_terminate_signal);
}

void register_scratch_tree(const std::string& dir, const char* program) {
    if (dir.size() + 1 > kPathMax) {
        std::fprintf(stderr, "%s: scratch path too long\n", program);
        std::abort();
    }
    std::snprintf(g_scratch_tree, kPathMax, "%s", dir.c_str());
    g_scratch_tree_set = 1;
    std::signal(SIGINT, on_tree_signal);
    std::signal(SIGTERM, on_tree_signal);
}

void cleanup_scratch_tree() {
    if (g_scratch_tree_set != 0) {
        g_scratch_tree_set = 0;
        std::error_code ignored;
        std::filesystem::remove_all(g_scratch_tree, ignored);
    }
}

std::optional<std::string> choose_base_dir(const std::string& dir, const char* program,
                                           const char* memory_reason) {
    if (!dir.empty()) {
        if (is_memory_filesystem(dir)) {
            std::fprintf(stderr,
                         "%s: %s is on %s, a memory file system: %s. Pass --dir on a real "
                         "disk.\n",
                         program, dir.c_str(), filesystem_name(dir).c_str(), memory_reason);
            return std::nullopt;
        }
        return dir;
    }
    std::vector<std::string> candidates = {"."};
    if (const char* tmp = std::getenv("TMPDIR"); tmp != nullptr && *tmp != '\0') {
        candidates.emplace_back(tmp);
    }
    candidates.emplace_back("/var/tmp");
    for (const std::string& candidate : candidates) {
        if (::access(candidate.c_str(), W_OK) == 0 && !is_memory_filesystem(candidate)) {
            return candidate;
        }
    }
    std::fprintf(stderr, "%s: no writable directory on a real disk; pass --dir\n", program);
    return std::nullopt;
}

bool create_filled_file(const std::string& path, std::uint64_t bytes, const char* program) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        std::fprintf(stderr, "%s: cannot create %s: %s\n", program, path.c_str(),
                     std::strerror(errno));
        return false;
    }
    constexpr std::size_t kChunk = std::size_t{1} << 20;
    std::vector<unsigned char> chunk(kChunk);
    std::uint64_t state = 0x243f6a8885a308d3ULL;
    for (std::size_t i = 0; i < kChunk; ++i) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        chunk[i] = static_cast<unsigned char>(state >> 56);
    }
    bool ok = true;
    for (std::uint64_t done = 0; ok && done < bytes;) {
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, bytes - done));
        chunk[0] = static_cast<unsigned char>(done >> 20);  // consecutive chunks differ
        ssize_t n = ::pwrite(fd, chunk.data(), want, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        ok = n > 0;
        done += ok ? static_cast<std::uint64_t>(n) : 0;
    }
    ok = ok && ::fsync(fd) == 0;
    if (!ok) {
        std::fprintf(stderr, "%s: writing %s failed: %s\n", program, path.c_str(),
                     std::strerror(errno));
    }
    ::close(fd);
    return ok;
}

}  // namespace ringdb::bench
