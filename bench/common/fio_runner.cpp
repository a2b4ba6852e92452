// fio_runner: fio as a child process, and a minimal JSON reader for its report.
//
// The JSON reader is a strict recursive-descent parser over the whole document (not a search
// for key names, which would match the same key in another section): it validates the
// grammar, bounds nesting depth, decodes string escapes well enough to compare keys (fio's
// keys are ASCII), and records numbers with std::from_chars.

#include "common/fio_runner.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace ringdb::bench {

namespace {

constexpr int kJsonDepthMax = 64;

volatile std::sig_atomic_t g_running_fio_pid = 0;

bool is_hex_digit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

class JsonReader {
public:
    JsonReader(std::string_view text, JsonNumbers& out) : text_(text), out_(out) {}

    bool parse_document(std::string& error) {
        std::string path;
        bool ok = parse_value(path, 0);
        if (ok) {
            skip_space();
            if (pos_ != text_.size()) {
                ok = fail("trailing characters after the document");
            }
        }
        if (!ok) {
            error = error_ + " at offset " + std::to_string(pos_);
        }
        return ok;
    }

private:
    bool fail(const char* what) {
        if (error_.empty()) {
            error_ = what;
        }
        return false;
    }

    void skip_space() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                       text_[pos_] == '\r' || text_[pos_] == '\t')) {
            ++pos_;
        }
    }

    bool consume(char c) {
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }

    bool parse_value(const std::string& path, int depth) {
        if (depth > kJsonDepthMax) {
            return fail("nesting too deep");
        }
        skip_space();
        if (pos_ >= text_.size()) {
            return fail("unexpected end of input");
        }
        char c = text_[pos_];
        if (c == '{') {
            return parse_object(path, depth);
        }
        if (c == '[') {
            return parse_array(path, depth);
        }
        if (c == '"') {
            std::string ignored;
            return parse_string(ignored);
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            return parse_number(path);
        }
        for (std::string_view word : {"true", "false", "null"}) {
            if (text_.substr(pos_, word.size()) == word) {
                pos_ += word.size();
                return true;
            }
        }
        return fail("unexpected character");
    }

    bool parse_object(const std::string& path, int depth) {
        ++pos_;  // '{'
        if (consume('}')) {
            return true;
        }
        // Bounded by the input: every iteration consumes at least one key.
        for (;;) {
            skip_space();
            std::string key;
            if (pos_ >= text_.size() || text_[pos_] != '"' || !parse_string(key)) {
                return fail("expected a string key");
            }
            if (!consume(':')) {
                return fail("expected ':'");
            }
            std::string child = path.empty() ? key : path + "/" + key;
            if (!parse_value(child, depth + 1)) {
                return false;
            }
            if (consume('}')) {
                return true;
            }
            if (!consume(',')) {
                return fail("expected ',' or '}'");
            }
        }
    }

    bool parse_array(const std::string& path, int depth) {
        ++pos_;  // '['
        if (consume(']')) {
            return true;
        }
        for (std::size_t index = 0;; ++index) {
            std::string child = path.empty() ? std::to_string(index)
                                             : path + "/" + std::to_string(index);
            if (!parse_value(child, depth + 1)) {
                return false;
            }
            if (consume(']')) {
                return true;
            }
            if (!consume(',')) {
                return fail("expected ',' or ']'");
            }
        }
    }

    bool parse_string(std::string& out) {
        ++pos_;  // '"'
        while (pos_ < text_.size()) {
            char c = text_[pos_++];
            if (c == '"') {
                return true;
            }
            if (static_cast<unsigned char>(c) < 0x20) {
                return fail("control character in a string");
            }
            if (c != '\\') {
                out.push_back(c);
                continue;
            }
            if (pos_ >= text_.size()) {
                break;
            }
            char e = text_[pos_++];
            if (e == 'u') {
                // Keys we look up are ASCII; a \uXXXX escape is validated and kept as '?'.
                for (int i = 0; i < 4; ++i, ++pos_) {
                    if (pos_ >= text_.size() || !is_hex_digit(text_[pos_])) {
                        return fail("bad \\u escape");
                    }
                }
                out.push_back('?');
                continue;
            }
            if (std::strchr("\"\\/bfnrt", e) == nullptr || e == '\0') {
                return fail("bad escape");
            }
            out.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e);
        }
        return fail("unterminated string");
    }

    bool parse_number(const std::string& path) {
        std::size_t start = pos_;
        while (pos_ < text_.size() && std::strchr("+-.eE0123456789", text_[pos_]) != nullptr &&
               text_[pos_] != '\0') {
            ++pos_;
        }
        double value = 0;
        const char* first = text_.data() + start;
        const char* last = text_.data() + pos_;
        auto [end, ec] = std::from_chars(first, last, value);
        if (ec != std::errc{} || end != last) {
            pos_ = start;
            return fail("bad number");
        }
        out_[path] = value;
        return true;
    }

    std::string_view text_;
    JsonNumbers& out_;
    std::size_t pos_ = 0;
    std::string error_;
};

double number_or(const JsonNumbers& numbers, const std::string& path, double fallback) {
    auto it = numbers.find(path);
    return it == numbers.end() ? fallback : it->second;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

int running_fio_pid() noexcept { return g_running_fio_pid; }

std::optional<JsonNumbers> parse_json_numbers(std::string_view text, std::string& error) {
    std::size_t start = text.find('{');
    if (start == std::string_view::npos) {
        error = "no JSON object in the text";
        return std::nullopt;
    }
    JsonNumbers numbers;
    JsonReader reader(text.substr(start), numbers);
    if (!reader.parse_document(error)) {
        return std::nullopt;
    }
    return numbers;
}

FioRunner::FioRunner(std::string fio, std::string work_dir)
    : fio_(std::move(fio)), work_dir_(std::move(work_dir)) {}

int FioRunner::spawn(const std::vector<std::string>& args, const std::string& log_path,
                     std::string& error) const {
    std::vector<char*> argv;
    argv.reserve(args.size() + 2);
    argv.push_back(const_cast<char*>(fio_.c_str()));  // posix_spawn's signature predates const
    for (const auto& arg : args) {
        argv.push_back(const_cast<char*>(arg.c_str()));
    }
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    pid_t pid = 0;
    int r = posix_spawnp(&pid, fio_.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (r != 0) {
        error = "cannot run '" + fio_ + "': " + std::strerror(r);
        return -1;
    }
    g_running_fio_pid = pid;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            g_running_fio_pid = 0;
            error = std::string("waitpid: ") + std::strerror(errno);
            return -1;
        }
    }
    g_running_fio_pid = 0;
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::optional<std::string> FioRunner::version(std::string& error) const {
    std::string log_path = work_dir_ + "/fio_version.log";
    int status = spawn({"--version"}, log_path, error);
    std::string text = read_file(log_path);
    ::unlink(log_path.c_str());
    if (status != 0) {
        if (status > 0) {
            error = "'" + fio_ + " --version' exited with status " + std::to_string(status);
        }
        return std::nullopt;
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.pop_back();
    }
    return text;
}

std::optional<FioResult> FioRunner::run(const std::vector<std::string>& args,
                                        std::string& error) const {
    std::string report_path = work_dir_ + "/fio_report.json";
    std::string log_path = work_dir_ + "/fio.log";
    std::vector<std::string> full = args;
    full.push_back("--output-format=json");
    full.push_back("--output=" + report_path);
    int status = spawn(full, log_path, error);
    std::string log = read_file(log_path);
    std::string report = read_file(report_path);
    ::unlink(log_path.c_str());
    ::unlink(report_path.c_str());
    if (status != 0) {
        if (status > 0) {
            error = "fio exited with status " + std::to_string(status) + "; its output:\n" + log;
        }
        return std::nullopt;
    }
    std::string parse_error;
    auto numbers = parse_json_numbers(report, parse_error);
    if (!numbers) {
        error = "cannot parse fio's JSON report: " + parse_error;
        return std::nullopt;
    }
    if (number_or(*numbers, "jobs/0/error", 0) != 0) {
        error = "fio reports job error " +
                std::to_string(number_or(*numbers, "jobs/0/error", 0)) + "; its output:\n" + log;
        return std::nullopt;
    }
    FioResult result;
    result.read_ios = number_or(*numbers, "jobs/0/read/total_ios", 0);
    result.write_ios = number_or(*numbers, "jobs/0/write/total_ios", 0);
    result.syncs = number_or(*numbers, "jobs/0/sync/lat_ns/N", 0);
    result.runtime_seconds = number_or(*numbers, "jobs/0/job_runtime", 0) / 1000.0;
    result.sync_p99_ns = number_or(*numbers, "jobs/0/sync/lat_ns/percentile/99.000000", 0);
    result.write_p99_ns = number_or(*numbers, "jobs/0/write/clat_ns/percentile/99.000000", 0);
    double cpu_percent = number_or(*numbers, "jobs/0/usr_cpu", 0) +
                         number_or(*numbers, "jobs/0/sys_cpu", 0);
    result.cpu_seconds = cpu_percent / 100.0 * result.runtime_seconds;
    if (result.runtime_seconds <= 0) {
        error = "fio's report has no jobs[0].job_runtime";
        return std::nullopt;
    }
    return result;
}

}  // namespace ringdb::bench
