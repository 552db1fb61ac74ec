// Small, allocation-free helpers shared by the /proc parsers: line cursors,
// token splitting and strict number parsing with std::from_chars (no
// exceptions, no locale, the whole token must be consumed).
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include "common/util/result.h"

namespace stasis::proc::text {

// Walks a text one line at a time ('\n' separated; the last line may lack
// its newline) and remembers the 1-based number of the line it returned.
class LineCursor {
  public:
    explicit LineCursor(std::string_view text) : rest_(text) {}

    bool next(std::string_view &line) {
        if (rest_.empty()) return false;
        size_t nl = rest_.find('\n');
        if (nl == std::string_view::npos) {
            line = rest_;
            rest_ = {};
        } else {
            line = rest_.substr(0, nl);
            rest_.remove_prefix(nl + 1);
        }
        ++number_;
        return true;
    }
    size_t line_number() const { return number_; }

  private:
    std::string_view rest_;
    size_t number_ = 0;
};

inline bool is_blank(char c) { return c == ' ' || c == '\t'; }

inline std::string_view skip_blanks(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && is_blank(s[i])) ++i;
    return s.substr(i);
}

inline std::string_view trim(std::string_view s) {
    s = skip_blanks(s);
    while (!s.empty() && (is_blank(s.back()) || s.back() == '\n')) s.remove_suffix(1);
    return s;
}

// Returns the next blank-separated token of `rest` and advances past it.
inline std::string_view next_token(std::string_view &rest) {
    rest = skip_blanks(rest);
    size_t i = 0;
    while (i < rest.size() && !is_blank(rest[i])) ++i;
    std::string_view token = rest.substr(0, i);
    rest.remove_prefix(i);
    return token;
}

// Splits "Key:<blanks>value" into its key and trimmed value. False if the
// line has no ':'.
inline bool split_key_value(std::string_view line, std::string_view &key, std::string_view &value) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return false;
    key = line.substr(0, colon);
    value = trim(line.substr(colon + 1));
    return true;
}

// Parses all of `s` as an integer in `base`. Rejects empty text, signs on
// unsigned types, trailing garbage and values that do not fit.
template <typename T>
bool parse_int(std::string_view s, T &out, int base = 10) {
    static_assert(std::is_integral_v<T>);
    if (s.empty()) return false;
    if constexpr (std::is_unsigned_v<T>) {
        if (s.front() == '-' || s.front() == '+') return false;
    }
    T value{};
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
    if (ec != std::errc() || end != s.data() + s.size()) return false;
    out = value;
    return true;
}

// Like parse_int with base 16, also accepting a leading "0x".
template <typename T>
bool parse_hex(std::string_view s, T &out) {
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
    return parse_int(s, out, 16);
}

// Quotes at most 64 bytes of untrusted text for an error message, escaping
// anything unprintable so a hostile file cannot garble the log.
std::string quote(std::string_view s);

// "line N: what 'text'", the common shape of a parse error.
Error line_error(size_t line_number, std::string_view what, std::string_view text);

// Undoes the kernel's seq_escape of task names (status "Name:"): "\n" and
// "\\" (and the other C escapes, should a kernel use them).
std::string unescape_task_name(std::string_view s);

}  // namespace stasis::proc::text
