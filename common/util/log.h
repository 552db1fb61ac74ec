// Logging with CRIU's levels so users' habits carry over:
//   -v0 silent but errors, -v1 errors, -v2 warnings (default), -v3 info, -v4 debug.
// Lines carry the time since start: "(00.012345) info: ...". -o FILE sends
// the log to a file (created 0600); errors are also shown on stderr.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace stasis::log {

enum class Level { error = 1, warn = 2, info = 3, debug = 4 };

void set_level(int level);
int level();
bool enabled(Level l);
// Sends the log to FILE instead of stderr. Returns false (errno set) on failure.
bool set_file(const std::string &path);
// True once set_file() succeeded: the log no longer goes to stderr.
bool has_file();
void write(Level l, std::string_view msg);

template <typename... Args>
std::string cat(const Args &...args) {
    std::ostringstream s;
    (s << ... << args);
    return s.str();
}

template <typename... Args>
void error(const Args &...args) { write(Level::error, cat(args...)); }
template <typename... Args>
void warn(const Args &...args) {
    if (enabled(Level::warn)) write(Level::warn, cat(args...));
}
template <typename... Args>
void info(const Args &...args) {
    if (enabled(Level::info)) write(Level::info, cat(args...));
}
template <typename... Args>
void debug(const Args &...args) {
    if (enabled(Level::debug)) write(Level::debug, cat(args...));
}

// Formats v as 0x... hex.
struct Hex {
    unsigned long long v;
};
std::ostream &operator<<(std::ostream &o, Hex h);
inline Hex hex(unsigned long long v) { return Hex{v}; }

}  // namespace stasis::log
