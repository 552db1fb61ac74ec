#include "common/util/log.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iomanip>
#include <mutex>

namespace stasis::log {
namespace {

int g_level = 2;
int g_fd = STDERR_FILENO;
std::mutex g_mutex;

double seconds_since_start() {
    static const timespec start = [] {
        timespec t{};
        clock_gettime(CLOCK_MONOTONIC, &t);
        return t;
    }();
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return double(now.tv_sec - start.tv_sec) + double(now.tv_nsec - start.tv_nsec) / 1e9;
}

const char *level_name(Level l) {
    switch (l) {
        case Level::error: return "error";
        case Level::warn: return "warn";
        case Level::info: return "info";
        case Level::debug: return "debug";
    }
    return "?";
}

void write_all(int fd, const std::string &s) {
    size_t off = 0;
    while (off < s.size()) {
        ssize_t n = ::write(fd, s.data() + off, s.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        off += size_t(n);
    }
}

}  // namespace

void set_level(int level) {
    (void)seconds_since_start();
    g_level = level < 0 ? 0 : (level > 4 ? 4 : level);
}
int level() { return g_level; }
bool enabled(Level l) { return int(l) <= g_level; }

bool set_file(const std::string &path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_fd != STDERR_FILENO) ::close(g_fd);
    g_fd = fd;
    return true;
}

bool has_file() {
    std::lock_guard<std::mutex> lock(g_mutex);
    return g_fd != STDERR_FILENO;
}

void write(Level l, std::string_view msg) {
    // -v0 keeps even errors out of the log; the CLI still prints the final
    // error line on stderr.
    if (g_level == 0) return;
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "(%09.6f) ", seconds_since_start());
    std::string line = stamp;
    line += level_name(l);
    line += ": ";
    line += msg;
    line += '\n';
    std::lock_guard<std::mutex> lock(g_mutex);
    write_all(g_fd, line);
}

std::ostream &operator<<(std::ostream &o, Hex h) {
    std::ios_base::fmtflags f(o.flags());
    o << "0x" << std::hex << h.v;
    o.flags(f);
    return o;
}

}  // namespace stasis::log
