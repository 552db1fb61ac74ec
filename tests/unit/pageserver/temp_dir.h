// A fresh empty directory for one test, removed with what it holds.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

namespace stasis::pageserver::testing {

class TempDir {
public:
    TempDir() {
        const char *tmp = std::getenv("TMPDIR");
        std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/stasis-pageserver-XXXXXX";
        path_ = ::mkdtemp(templ.data()) ? templ : "";
    }
    ~TempDir() {
        for (const auto &name : names()) ::unlink((path_ + "/" + name).c_str());
        ::rmdir(path_.c_str());
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;

    const std::string &path() const { return path_; }
    std::string file(const std::string &name) const { return path_ + "/" + name; }
    // Every entry but . and .. (temporary files included: they start with a dot).
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        // A listing that failed must not pass for an empty directory.
        DIR *d = ::opendir(path_.c_str());
        if (!d) return {"<opendir failed>"};
        for (;;) {
            errno = 0;
            dirent *e = ::readdir(d);
            if (!e) {
                if (errno != 0) out.push_back("<readdir failed>");
                break;
            }
            std::string n = e->d_name;
            if (n != "." && n != "..") out.push_back(n);
        }
        ::closedir(d);
        return out;
    }

private:
    std::string path_;
};

}  // namespace stasis::pageserver::testing
