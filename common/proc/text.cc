#include "common/proc/text.h"

namespace stasis::proc::text {

std::string quote(std::string_view s) {
    constexpr size_t kMaxShown = 64;
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "'";
    size_t shown = s.size() < kMaxShown ? s.size() : kMaxShown;
    for (size_t i = 0; i < shown; ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 0xf];
        }
    }
    out += '\'';
    if (shown < s.size()) out += "...";
    return out;
}

Error line_error(size_t line_number, std::string_view what, std::string_view text) {
    std::string msg = "line " + std::to_string(line_number) + ": ";
    msg += what;
    msg += ' ';
    msg += quote(text);
    return Error(std::move(msg), EINVAL);
}

std::string unescape_task_name(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\' || i + 1 == s.size()) {
            out += s[i];
            continue;
        }
        char c = s[++i];
        switch (c) {
            case 'n':
                out += '\n';
                break;
            case 't':
                out += '\t';
                break;
            case 'r':
                out += '\r';
                break;
            case 'f':
                out += '\f';
                break;
            case 'v':
                out += '\v';
                break;
            case '\\':
                out += '\\';
                break;
            default:
                out += '\\';
                out += c;
        }
    }
    return out;
}

}  // namespace stasis::proc::text
