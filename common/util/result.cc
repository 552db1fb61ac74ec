#include "common/util/result.h"

#include <cstring>

namespace stasis {

Error Error::from_errno(std::string_view what, int err) {
    std::string msg(what);
    msg += ": ";
    msg += std::strerror(err);
    return Error(std::move(msg), err);
}

Error &Error::context(std::string_view ctx) & {
    std::string msg(ctx);
    msg += ": ";
    msg += message_;
    message_ = std::move(msg);
    return *this;
}

Error &&Error::context(std::string_view ctx) && {
    context(ctx);
    return std::move(*this);
}

}  // namespace stasis
