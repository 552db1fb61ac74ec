// `stasis image decode FILE|DIR [--pretty]`, `stasis image encode JSON OUT`,
// `stasis image show DIR`.
#include "common/images/image_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/program_options.hpp>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <sstream>

#include "common/images/file_io.h"
#include "common/images/format.h"
#include "common/images/json.h"
#include "common/images/show.h"
#include "common/util/log.h"

namespace stasis::images {
namespace {

namespace po = boost::program_options;

// JSON input is text of at most this size.
constexpr uint64_t kMaxJsonBytes = 1ull << 30;

constexpr const char *kUsage =
    "usage: stasis image decode FILE|DIR [--pretty]   image(s) as JSON (pages/ghost files summarised)\n"
    "       stasis image encode JSON OUT              JSON of one image file back into that file\n"
    "       stasis image show DIR                     short summary of a checkpoint\n"
    "JSON may be - for standard input.\n";

int fail(const std::string &message) {
    // One line, whatever bytes the message carries.
    std::string line = message;
    for (char &c : line)
        if (c == '\n') c = ' ';
    std::fprintf(stderr, "stasis image: %s\n", line.c_str());
    return 1;
}

int usage_error(const std::string &message) {
    std::fprintf(stderr, "stasis image: %s\n%s", message.c_str(), kUsage);
    return 2;
}

// Parses "<sub> <positional>... [--pretty]". Returns -1 to go on, or the
// exit status (after --help or a usage error).
int parse(const std::vector<std::string> &args, size_t positionals, std::vector<std::string> *values,
           bool *pretty) {
    po::options_description named("options");
    named.add_options()("pretty", "indent the JSON")("help,h", "show this help");
    po::options_description all;
    all.add(named).add_options()("args", po::value<std::vector<std::string>>(values), "");
    po::positional_options_description pos;
    pos.add("args", -1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(std::vector<std::string>(args.begin() + 1, args.end()))
                      .options(all)
                      .positional(pos)
                      .run(),
                  vm);
        po::notify(vm);
    } catch (const po::error &e) {
        return usage_error(e.what());
    }
    if (vm.count("help")) {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (values->size() != positionals) return usage_error(log::cat(args[0], " takes ", positionals, " argument(s)"));
    *pretty = vm.count("pretty") > 0;
    return -1;
}

Result<std::string> read_input(const std::string &path) {
    if (path == "-") {
        std::ostringstream s;
        s << std::cin.rdbuf();
        return s.str();
    }
    return read_regular_file(AT_FDCWD, path, kMaxJsonBytes);
}

// Writes OUT via a temporary file in its directory, renamed into place.
Status write_output(const std::string &path, const std::string &bytes) {
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    STASIS_ASSIGN(Fd dirfd, open_dir(dir, false));
    STASIS_ASSIGN(TempFile file, TempFile::create(dirfd.get(), name));
    STASIS_TRY(std::move(write_all(file.fd(), bytes.data(), bytes.size())).context(path));
    return file.commit();
}

int decode(const std::vector<std::string> &args) {
    std::vector<std::string> values;
    bool pretty = false;
    if (int status = parse(args, 1, &values, &pretty); status >= 0) return status;
    struct stat st;
    if (::stat(values[0].c_str(), &st) != 0) return fail(Error::from_errno(values[0]).message());
    auto json = S_ISDIR(st.st_mode) ? image_dir_to_json(values[0], pretty) : image_file_to_json(values[0], 0, pretty);
    if (!json.ok()) return fail(json.error().message());
    std::fwrite(json->data(), 1, json->size(), stdout);
    std::fputc('\n', stdout);
    return std::fflush(stdout) == 0 ? 0 : fail("writing to standard output failed");
}

int encode(const std::vector<std::string> &args) {
    std::vector<std::string> values;
    bool pretty = false;
    if (int status = parse(args, 2, &values, &pretty); status >= 0) return status;
    auto json = read_input(values[0]);
    if (!json.ok()) return fail(json.error().message());
    auto bytes = json_to_image(*json);
    if (!bytes.ok()) return fail(log::cat(values[0], ": ", bytes.error().message()));
    auto written = write_output(values[1], *bytes);
    return written.ok() ? 0 : fail(written.error().message());
}

int show(const std::vector<std::string> &args) {
    std::vector<std::string> values;
    bool pretty = false;
    if (int status = parse(args, 1, &values, &pretty); status >= 0) return status;
    auto text = show_checkpoint(values[0]);
    if (!text.ok()) return fail(text.error().message());
    std::fputs(text->c_str(), stdout);
    return std::fflush(stdout) == 0 ? 0 : fail("writing to standard output failed");
}

}  // namespace

int image_command(const std::vector<std::string> &args) {
    route_protobuf_logging();
    if (args.empty()) return usage_error("which subcommand?");
    const std::string &sub = args[0];
    if (sub == "--help" || sub == "-h" || sub == "help") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (sub == "decode") return decode(args);
    if (sub == "encode") return encode(args);
    if (sub == "show") return show(args);
    return usage_error(log::cat("unknown subcommand '", sub, "'"));
}

}  // namespace stasis::images
