// stasis-docgen: renders the option tables of the stasis command line
// (common/cli/option_table.cc, the same data that drives parsing and --help)
// into the man page source and the shell completion scripts, so that none of
// them can drift from what the binary accepts.
//
// It is built for the build machine, not the target (a cross build runs it
// too), from option_table.cc alone, which depends on nothing but the C++
// standard library.
//
//   stasis-docgen TEMPLATE OUT VERSION
//
// copies TEMPLATE to OUT, replacing every @STASIS_VERSION@ with VERSION and
// every line that is exactly one of these markers with generated text:
//
//   @STASIS_MAN_COMMANDS@        Markdown: one section per subcommand with its
//                                synopsis, description and options
//   @STASIS_MAN_COMMON_OPTIONS@  Markdown: the options every subcommand takes
//   @STASIS_BASH_TABLES@         bash: functions listing commands and options
//   @STASIS_ZSH_TABLES@          zsh: _arguments specifications per command
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>

#include "common/cli/option_table.h"

namespace {

using stasis::cli::CommandSpec;
using stasis::cli::OptionSpec;
using stasis::cli::ValueKind;

// ---- Markdown (pandoc, read as markdown-smart) -------------------------------

// Escapes what pandoc's Markdown would otherwise read as markup. Backtick
// code spans are kept: the tables use them for command names.
std::string md_escape(std::string_view text) {
    std::string out;
    bool in_code = false;
    for (char c : text) {
        if (c == '`') in_code = !in_code;
        if (!in_code && std::string_view("\\*_[]<>#|~^$@").find(c) != std::string_view::npos) out += '\\';
        out += c;
    }
    return out;
}

// "-t PID -D DIR [options]": options bold, placeholders italic, brackets plain.
std::string md_synopsis(std::string_view synopsis) {
    std::string out;
    std::istringstream words{std::string(synopsis)};
    std::string word;
    while (words >> word) {
        if (!out.empty()) out += ' ';
        size_t open = word.find_first_not_of('[');
        if (open == std::string::npos) open = word.size();
        size_t close = word.find_last_not_of(']');
        close = close == std::string::npos ? open : close + 1;
        for (size_t i = 0; i < open; i++) out += "\\[";
        const std::string core = word.substr(open, close - open);
        if (!core.empty()) out += (core[0] == '-' ? "**" + core + "**" : "*" + md_escape(core) + "*");
        for (size_t i = close; i < word.size(); i++) out += "\\]";
    }
    return out;
}

std::string md_option_term(const OptionSpec &o) {
    if (o.kind == ValueKind::verbosity)
        return std::string("**-") + o.short_name + "**\\[**" + o.short_name + "**...\\], **-" + o.short_name +
               "***" + o.value_name + "*, **--" + o.long_name + "**\\[=*" + o.value_name + "*\\]";
    std::string term;
    if (o.short_name) term += std::string("**-") + o.short_name + "**, ";
    term += std::string("**--") + o.long_name + "**";
    if (o.value_name) term += std::string(" *") + o.value_name + "*";
    return term;
}

std::string md_options(std::span<const OptionSpec> options) {
    std::string out;
    for (const auto &o : options) out += md_option_term(o) + "\n:   " + md_escape(o.help) + ".\n\n";
    return out;
}

std::string man_commands() {
    std::string out;
    for (const auto &c : stasis::cli::command_specs()) {
        out += std::string("## ") + c.name + "\n\n";
        out += std::string("**stasis ") + c.name + "** " + md_synopsis(c.synopsis) + "\n\n";
        out += md_escape(c.description) + "\n\n";
        out += md_options(c.options);
    }
    return out;
}

// ---- shell completion ----------------------------------------------------------

// Option words as a shell sees them: "-t --tree".
std::string option_words(const OptionSpec &o) {
    std::string words;
    if (o.short_name) words += std::string("-") + o.short_name + " ";
    return words + "--" + o.long_name;
}

// A single-quoted shell word.
std::string sh_quote(std::string_view text) {
    std::string out = "'";
    for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string bash_tables() {
    std::string commands, options = "    case $1 in\n", values = "    case $1 in\n";
    auto add = [&](std::string_view name, std::span<const OptionSpec> own) {
        std::string words;
        for (const auto &o : own) words += option_words(o) + " ";
        for (const auto &o : stasis::cli::common_options()) words += option_words(o) + " ";
        words.pop_back();
        options += std::string("    ") + std::string(name) + ") echo " + sh_quote(words) + " ;;\n";
        for (const auto &list : {own, stasis::cli::common_options()}) {
            for (const auto &o : list) {
                // -v takes its level attached (-v4), never as the next word.
                if (o.kind != ValueKind::text) continue;
                std::string patterns = std::string(name) + ":--" + o.long_name;
                if (o.short_name) patterns += std::string("|") + std::string(name) + ":-" + o.short_name;
                values += "    " + patterns + ") echo " + o.value_name + " ;;\n";
            }
        }
    };
    for (const auto &c : stasis::cli::command_specs()) {
        commands += std::string(commands.empty() ? "" : " ") + c.name;
        add(c.name, c.options);
    }
    std::string out;
    out += "# The subcommands whose options stasis parses from its option tables.\n";
    out += "_stasis_table_commands=" + sh_quote(commands) + "\n\n";
    out += "# _stasis_table_options COMMAND: every option word of COMMAND.\n";
    out += "_stasis_table_options() {\n" + options + "    esac\n}\n\n";
    out += "# _stasis_table_value COMMAND:OPTION: the value name OPTION takes (PID, DIR, ...),\n";
    out += "# nothing for a flag.\n";
    out += "_stasis_table_value() {\n" + values + "    esac\n}\n";
    return out;
}

// Text inside an _arguments "[...]" description: the first clause of the
// help sentence, with zsh's specials escaped.
std::string zsh_description(std::string_view help) {
    help = help.substr(0, help.find(';'));
    std::string out;
    for (char c : help) {
        if (c == '[' || c == ']' || c == '\\' || c == ':') out += '\\';
        out += c;
    }
    return out;
}

std::string zsh_spec(const OptionSpec &o) {
    const std::string description = "[" + zsh_description(o.help) + "]";
    if (o.kind == ValueKind::verbosity)
        return sh_quote(std::string("*-") + o.short_name + "-" + description) + " " +
               sh_quote(std::string("*--") + o.long_name + "=-" + description + ":level:(0 1 2 3 4)");
    std::string value;
    if (o.kind == ValueKind::text)
        value = std::string(":") + o.value_name + ":_stasis_value_" + o.value_name;
    const std::string exclusive =
        o.short_name ? std::string("(-") + o.short_name + " --" + o.long_name + ")" : std::string();
    const std::string suffix_short = o.kind == ValueKind::text ? "+" : "";
    const std::string suffix_long = o.kind == ValueKind::text ? "=" : "";
    std::string spec;
    if (o.short_name)
        spec += sh_quote(exclusive + "-" + std::string(1, o.short_name) + suffix_short + description + value) + " ";
    spec += sh_quote(exclusive + "--" + o.long_name + suffix_long + description + value);
    return spec;
}

std::string zsh_tables() {
    std::string out;
    out += "# The subcommands whose options stasis parses from its option tables.\n";
    out += "_stasis_table_commands=(\n";
    for (const auto &c : stasis::cli::command_specs()) {
        std::string_view first(c.description);
        first = first.substr(0, first.find(". "));
        if (first.ends_with('.')) first.remove_suffix(1);
        std::string described = std::string(c.name) + ":";
        for (char ch : first) described += ch == ':' ? std::string("\\:") : std::string(1, ch);
        out += "    " + sh_quote(described) + "\n";
    }
    out += ")\n\n";
    out += "# _stasis_table_arguments COMMAND: the _arguments specifications of COMMAND.\n";
    out += "_stasis_table_arguments() {\n    case $1 in\n";
    for (const auto &c : stasis::cli::command_specs()) {
        out += std::string("    ") + c.name + ")\n        reply=(\n";
        for (const auto &list : {c.options, stasis::cli::common_options()})
            for (const auto &o : list) out += "            " + zsh_spec(o) + "\n";
        out += "        ) ;;\n";
    }
    out += "    *) reply=() ;;\n    esac\n}\n";
    return out;
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: stasis-docgen TEMPLATE OUT VERSION\n");
        return 2;
    }
    std::ifstream in(argv[1]);
    if (!in) {
        std::fprintf(stderr, "stasis-docgen: cannot read %s\n", argv[1]);
        return 1;
    }
    std::ostringstream out;
    std::string line;
    while (std::getline(in, line)) {
        if (line == "@STASIS_MAN_COMMANDS@")
            out << man_commands();
        else if (line == "@STASIS_MAN_COMMON_OPTIONS@")
            out << md_options(stasis::cli::common_options());
        else if (line == "@STASIS_BASH_TABLES@")
            out << bash_tables();
        else if (line == "@STASIS_ZSH_TABLES@")
            out << zsh_tables();
        else
            out << replace_all(line, "@STASIS_VERSION@", argv[3]) << "\n";
    }
    std::ofstream file(argv[2], std::ios::trunc);
    file << out.str();
    file.close();
    if (!file) {
        std::fprintf(stderr, "stasis-docgen: cannot write %s\n", argv[2]);
        return 1;
    }
    return 0;
}
