#include "common/cli/parse_options.h"

#include <boost/program_options.hpp>

#include <algorithm>
#include <charconv>
#include <sstream>

#include "common/util/log.h"

namespace stasis::cli {
namespace po = boost::program_options;
namespace {

// CRIU parses -v with getopt's optional argument: "-v" adds one, "-vv" is
// "-v" with argument "v" and adds two, "-v4" sets 4, and options may repeat
// ("-v -v"). Boost 1.74 lets an option with an optional value swallow the
// next word ("-v 4"), which getopt never does, so verbosity words are
// recognised first by verbosity_word() and reach this value type with their
// getopt argument, marked with kAttached; it accumulates into an int.
constexpr char kAttached = '@';

std::pair<std::string, std::string> verbosity_word(const std::string &word) {
    std::string_view w = word;
    if (w.starts_with("--verbosity")) {
        w.remove_prefix(11);
        if (w.empty()) return {"verbosity", std::string(1, kAttached)};
        if (w.front() != '=') return {};
        w.remove_prefix(1);
        return {"verbosity", kAttached + std::string(w)};
    }
    if (!w.starts_with("-v")) return {};
    return {"verbosity", kAttached + std::string(w.substr(2))};
}

class VerbosityValue : public po::value_semantic_codecvt_helper<char> {
  public:
    std::string name() const override { return "[N]"; }
    unsigned min_tokens() const override { return 0; }
    unsigned max_tokens() const override { return 1; }
    bool is_composing() const override { return false; }
    bool is_required() const override { return false; }
    bool apply_default(boost::any &) const override { return false; }
    void notify(const boost::any &) const override {}

  protected:
    void xparse(boost::any &store, const std::vector<std::string> &tokens) const override {
        const int level = store.empty() ? kDefaultVerbosity : boost::any_cast<int>(store);
        std::string_view argument = tokens.empty() ? std::string_view() : std::string_view(tokens[0]);
        if (argument.starts_with(kAttached)) argument.remove_prefix(1);
        auto next = apply_verbosity(level, argument);
        if (!next.ok()) throw po::invalid_option_value(std::string(argument));
        store = *next;
    }
};

// The name Boost knows an option by: "images-dir,D".
std::string boost_name(const OptionSpec &o) {
    std::string name = o.long_name;
    if (o.short_name) name += std::string(",") + o.short_name;
    return name;
}

void add_options(po::options_description &desc, std::span<const OptionSpec> options) {
    for (const auto &o : options) {
        const std::string name = boost_name(o);
        switch (o.kind) {
            case ValueKind::flag:
                desc.add_options()(name.c_str(), po::bool_switch());
                break;
            case ValueKind::text:
                desc.add_options()(name.c_str(), po::value<std::string>()->value_name(o.value_name));
                break;
            case ValueKind::verbosity:
                desc.add_options()(name.c_str(), new VerbosityValue());
                break;
        }
    }
}

constexpr const char *kStray = "stray-argument";

ParsedOptions collect(const po::variables_map &vm, const CommandSpec &spec) {
    ParsedOptions out;
    auto take = [&](std::span<const OptionSpec> options) {
        for (const auto &o : options) {
            auto it = vm.find(o.long_name);
            if (it == vm.end() || it->second.empty()) continue;
            switch (o.kind) {
                case ValueKind::flag:
                    if (it->second.as<bool>()) out.flags.insert(o.long_name);
                    break;
                case ValueKind::text:
                    out.values[o.long_name] = it->second.as<std::string>();
                    break;
                case ValueKind::verbosity:
                    out.verbosity = it->second.as<int>();
                    break;
            }
        }
    };
    take(spec.options);
    take(common_options());
    return out;
}

// Word-wraps `text` to `width` columns, every line after the first indented.
std::string wrap(std::string_view text, size_t indent, size_t width) {
    std::string out, line;
    std::istringstream words{std::string(text)};
    std::string word;
    while (words >> word) {
        if (!line.empty() && indent + line.size() + 1 + word.size() > width) {
            out += line + "\n" + std::string(indent, ' ');
            line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
    }
    return out + line;
}

std::string option_label(const OptionSpec &o) {
    if (o.kind == ValueKind::verbosity) return "-v[v...], -vN, --verbosity[=N]";
    std::string label = o.short_name ? std::string("-") + o.short_name + ", " : std::string("    ");
    label += std::string("--") + o.long_name;
    if (o.value_name) label += std::string(" ") + o.value_name;
    return label;
}

void render_options(std::ostringstream &out, std::span<const OptionSpec> options) {
    constexpr size_t kColumn = 30, kWidth = 100;
    for (const auto &o : options) {
        std::string label = "  " + option_label(o);
        if (label.size() + 1 >= kColumn)
            label += "\n" + std::string(kColumn, ' ');
        else
            label.append(kColumn - label.size(), ' ');
        out << label << wrap(o.help, kColumn, kWidth) << "\n";
    }
}

}  // namespace

std::optional<std::string> ParsedOptions::value(std::string_view long_name) const {
    auto it = values.find(long_name);
    if (it == values.end()) return std::nullopt;
    return it->second;
}

Result<int> apply_verbosity(int level, std::string_view argument) {
    if (argument.empty()) return std::min(level + 1, kMaxVerbosity);
    if (argument.find_first_not_of('v') == std::string_view::npos)
        return std::min(level + int(argument.size()) + 1, kMaxVerbosity);
    int value = 0;
    auto [end, err] = std::from_chars(argument.data(), argument.data() + argument.size(), value);
    if (err != std::errc() || end != argument.data() + argument.size() || value < 0)
        return Error(log::cat("invalid verbosity '", argument, "' (want 0 to 4, or -v, -vv...)"));
    return std::min(value, kMaxVerbosity);
}

Result<ParsedOptions> parse_options(const CommandSpec &spec, const std::vector<std::string> &args) {
    po::options_description desc;
    add_options(desc, spec.options);
    add_options(desc, common_options());
    desc.add_options()(kStray, po::value<std::vector<std::string>>());
    po::positional_options_description positional;
    positional.add(kStray, -1);
    po::variables_map vm;
    // Boost reports problems by throwing; they stop here, as usage errors.
    try {
        po::store(po::command_line_parser(args)
                      .options(desc)
                      .positional(positional)
                      .extra_parser(verbosity_word)
                      .run(),
                  vm);
    } catch (const po::error &e) {
        return Error(e.what());
    }
    if (vm.count(kStray)) {
        const auto &stray = vm[kStray].as<std::vector<std::string>>();
        return Error(log::cat("unexpected argument '", stray.front(), "'"));
    }
    return collect(vm, spec);
}

std::string render_help(const CommandSpec &spec) {
    std::ostringstream out;
    out << "usage: stasis " << spec.name << " " << spec.synopsis << "\n\n"
        << wrap(spec.description, 0, 100) << "\n";
    if (!spec.options.empty()) {
        out << "\noptions:\n";
        render_options(out, spec.options);
    }
    out << "\ncommon options:\n";
    render_options(out, common_options());
    return out.str();
}

}  // namespace stasis::cli
