// Result<T>: a value or an Error that collects context as it travels up
// ("task 1234: vma 7f00..7f10: preadv: Bad address"). Errors are printed
// once, at the top (the CLI). No exceptions cross the engine: a throw inside
// the ptrace-stopped window could skip the cure.
#pragma once

#include <cerrno>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace stasis {

class Error {
public:
    Error() = default;
    explicit Error(std::string message, int err = 0) : message_(std::move(message)), errno_(err) {}

    // An error from a failed system call: "what: strerror(err)".
    static Error from_errno(std::string_view what, int err = errno);

    // Prepends one layer of context: "context: <previous message>".
    Error &context(std::string_view ctx) &;
    Error &&context(std::string_view ctx) &&;

    const std::string &message() const { return message_; }
    int sys_errno() const { return errno_; }

private:
    std::string message_;
    int errno_ = 0;
};

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T &value() & { return std::get<0>(v_); }
    const T &value() const & { return std::get<0>(v_); }
    T &&value() && { return std::get<0>(std::move(v_)); }
    T &operator*() & { return value(); }
    const T &operator*() const & { return value(); }
    T *operator->() { return &value(); }
    const T *operator->() const { return &value(); }

    Error &error() & { return std::get<1>(v_); }
    const Error &error() const & { return std::get<1>(v_); }
    Error &&error() && { return std::get<1>(std::move(v_)); }

    // Adds context to an error result; a value passes through.
    Result &&context(std::string_view ctx) && {
        if (!ok()) std::get<1>(v_).context(ctx);
        return std::move(*this);
    }

    // Drops the value: ok, or the error.
    Result<void> status() &&;

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), failed_(true) {}

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    Error &error() & { return error_; }
    const Error &error() const & { return error_; }
    Error &&error() && { return std::move(error_); }
    Result &&context(std::string_view ctx) && {
        if (failed_) error_.context(ctx);
        return std::move(*this);
    }

private:
    Error error_;
    bool failed_ = false;
};

using Status = Result<void>;

template <typename T>
Result<void> Result<T>::status() && {
    if (ok()) return {};
    return std::get<1>(std::move(v_));
}

inline Status ok() { return {}; }

}  // namespace stasis

// Propagates an error from an expression returning Result<T>/Status.
#define STASIS_TRY(expr)                                      \
    do {                                                      \
        auto stasis_try_r_ = (expr);                          \
        if (!stasis_try_r_.ok()) return std::move(stasis_try_r_).error(); \
    } while (0)

#define STASIS_CONCAT_INNER_(a, b) a##b
#define STASIS_CONCAT_(a, b) STASIS_CONCAT_INNER_(a, b)
// auto x = STASIS_TRY_VALUE(expr) is not expressible in standard C++; use:
//   STASIS_ASSIGN(auto x, expr);
#define STASIS_ASSIGN(decl, expr) STASIS_ASSIGN_IMPL_(STASIS_CONCAT_(stasis_r_, __LINE__), decl, expr)
#define STASIS_ASSIGN_IMPL_(tmp, decl, expr)            \
    auto tmp = (expr);                                  \
    if (!tmp.ok()) return std::move(tmp).error();       \
    decl = std::move(tmp).value()
