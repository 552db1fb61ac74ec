// Command-line parsing: CRIU's spellings, usage errors, help from the tables.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/cli/commands.h"
#include "common/cli/dispatch.h"
#include "common/cli/invocations.h"
#include "common/cli/option_table.h"
#include "common/cli/parse_options.h"

namespace stasis::cli {
namespace {

TEST(DumpOptions, CriuSpellingsFillEveryField) {
    auto inv = parse_dump({"-t", "42", "-D", "/imgs", "--shell-job", "--leave-running", "--track-mem",
                           "--prev-images-dir", "../pre", "--lazy-pages", "--file-validation", "filesize"},
                          false);
    ASSERT_TRUE(inv.ok()) << inv.error().message();
    const dump::DumpOptions &o = inv->options;
    EXPECT_EQ(o.pid, 42);
    EXPECT_EQ(o.images_dir, "/imgs");
    EXPECT_TRUE(o.shell_job);
    EXPECT_TRUE(o.leave_running);
    EXPECT_TRUE(o.track_mem);
    EXPECT_EQ(o.prev_images_dir, "../pre");
    EXPECT_TRUE(o.lazy_pages);
    EXPECT_EQ(o.file_validation, dump::FileValidation::size);
    EXPECT_FALSE(o.pre_dump);
    EXPECT_TRUE(o.pre_copy);
    EXPECT_FALSE(inv->help);
}

TEST(DumpOptions, NoPreCopyTurnsThePassOff) {
    auto inv = parse_dump({"-t", "42", "-D", "/imgs", "--prev-images-dir", "../pre", "--no-pre-copy"}, false);
    ASSERT_TRUE(inv.ok()) << inv.error().message();
    EXPECT_FALSE(inv->options.pre_copy);
    EXPECT_FALSE(parse_dump({"-t", "42", "-D", "/imgs", "--no-pre-copy"}, true).ok())
        << "pre-dump has no pre-copy pass to turn off";
}

TEST(DumpOptions, LongFormsWithEqualsAndDefaults) {
    auto inv = parse_dump({"--tree=7", "--images-dir=/x"}, false);
    ASSERT_TRUE(inv.ok()) << inv.error().message();
    EXPECT_EQ(inv->options.pid, 7);
    EXPECT_EQ(inv->options.images_dir, "/x");
    EXPECT_FALSE(inv->options.leave_running);
    EXPECT_FALSE(inv->options.track_mem);
    EXPECT_EQ(inv->options.file_validation, dump::FileValidation::build_id);
    EXPECT_EQ(inv->log.verbosity, kDefaultVerbosity);
    EXPECT_EQ(inv->log.log_file, "");
}

TEST(DumpOptions, PreDumpAlwaysTracksMemoryAndLeavesTheTreeRunning) {
    auto inv = parse_dump({"-t", "7", "-D", "/x"}, true);
    ASSERT_TRUE(inv.ok()) << inv.error().message();
    EXPECT_TRUE(inv->options.pre_dump);
    EXPECT_TRUE(inv->options.track_mem);
    EXPECT_TRUE(inv->options.leave_running);
}

TEST(DumpOptions, PreDumpRefusesOptionsOnlyDumpHas) {
    EXPECT_FALSE(parse_dump({"-t", "7", "-D", "/x", "--leave-running"}, true).ok());
}

struct UsageCase {
    std::vector<std::string> args;
    std::string message;  // part of the expected error
};

class DumpUsageError : public testing::TestWithParam<UsageCase> {};

TEST_P(DumpUsageError, IsRefusedWithAMessage) {
    auto inv = parse_dump(GetParam().args, false);
    ASSERT_FALSE(inv.ok());
    EXPECT_NE(inv.error().message().find(GetParam().message), std::string::npos) << inv.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    CommandLines, DumpUsageError,
    testing::Values(UsageCase{{"-D", "/x"}, "missing -t/--tree PID"},
                    UsageCase{{"-t", "1"}, "missing -D/--images-dir DIR"},
                    UsageCase{{"-t", "abc", "-D", "/x"}, "invalid PID 'abc'"},
                    UsageCase{{"-t", "12x", "-D", "/x"}, "invalid PID '12x'"},
                    UsageCase{{"-t", "0", "-D", "/x"}, "invalid PID '0'"},
                    UsageCase{{"-t", "99999999999", "-D", "/x"}, "invalid PID"},
                    UsageCase{{"-t", "1", "-D", "/x", "--bogus"}, "unrecognised option '--bogus'"},
                    UsageCase{{"-t", "1", "-D", "/x", "stray"}, "unexpected argument 'stray'"},
                    UsageCase{{"-t", "1", "-t", "2", "-D", "/x"}, "cannot be specified more than once"},
                    UsageCase{{"-t"}, "argument for option '--tree' is missing"},
                    UsageCase{{"-t", "1", "-D", "/x", "--file-validation", "md5"},
                              "invalid --file-validation"},
                    UsageCase{{"-t", "1", "-D", ""}, "empty -D/--images-dir DIR"}));

TEST(DumpOptions, HelpNeedsNoOtherOption) {
    auto inv = parse_dump({"--help"}, false);
    ASSERT_TRUE(inv.ok()) << inv.error().message();
    EXPECT_TRUE(inv->help);
    auto short_form = parse_dump({"-h"}, true);
    ASSERT_TRUE(short_form.ok());
    EXPECT_TRUE(short_form->help);
}

TEST(FileValidation, AcceptsOursAndCriusSpellings) {
    EXPECT_EQ(*parse_file_validation("size"), dump::FileValidation::size);
    EXPECT_EQ(*parse_file_validation("filesize"), dump::FileValidation::size);
    EXPECT_EQ(*parse_file_validation("build-id"), dump::FileValidation::build_id);
    EXPECT_EQ(*parse_file_validation("buildid"), dump::FileValidation::build_id);
    EXPECT_EQ(*parse_file_validation("checksum"), dump::FileValidation::checksum);
    EXPECT_FALSE(parse_file_validation("BUILDID").ok());
    EXPECT_FALSE(parse_file_validation("").ok());
}

struct VerbosityCase {
    std::vector<std::string> args;
    int level;
};

class Verbosity : public testing::TestWithParam<VerbosityCase> {};

// CRIU: level starts at 2; -v adds one, -vv (getopt: -v with argument "v")
// adds two, -vN sets N; repeats accumulate; 4 is the most.
TEST_P(Verbosity, FollowsCriusRules) {
    std::vector<std::string> args = {"-t", "1", "-D", "/x"};
    args.insert(args.end(), GetParam().args.begin(), GetParam().args.end());
    auto inv = parse_dump(args, false);
    ASSERT_TRUE(inv.ok()) << inv.error().message();
    EXPECT_EQ(inv->log.verbosity, GetParam().level);
}

INSTANTIATE_TEST_SUITE_P(CriuSpellings, Verbosity,
                         testing::Values(VerbosityCase{{}, 2}, VerbosityCase{{"-v"}, 3},
                                         VerbosityCase{{"-vv"}, 4}, VerbosityCase{{"-vvv"}, 4},
                                         VerbosityCase{{"-v0"}, 0}, VerbosityCase{{"-v1"}, 1},
                                         VerbosityCase{{"-v4"}, 4}, VerbosityCase{{"-v9"}, 4},
                                         VerbosityCase{{"-v", "-v"}, 4}, VerbosityCase{{"-v1", "-v"}, 2},
                                         VerbosityCase{{"-v", "-v0"}, 0}, VerbosityCase{{"--verbosity"}, 3},
                                         VerbosityCase{{"--verbosity=1"}, 1}));

TEST(Verbosity, NeverTakesTheNextWordAsItsLevel) {
    auto inv = parse_dump({"-t", "1", "-D", "/x", "-v", "3"}, false);
    ASSERT_FALSE(inv.ok());
    EXPECT_NE(inv.error().message().find("unexpected argument '3'"), std::string::npos)
        << inv.error().message();
}

TEST(Verbosity, RefusesALevelThatIsNotANumber) {
    EXPECT_FALSE(parse_dump({"-t", "1", "-D", "/x", "-vx"}, false).ok());
    EXPECT_FALSE(parse_dump({"-t", "1", "-D", "/x", "--verbosity=high"}, false).ok());
    EXPECT_FALSE(apply_verbosity(2, "-1").ok());
}

TEST(Verbosity, GroupsWithOtherShortFlags) {
    auto inv = parse_restore({"-dv", "-D", "/x"});
    ASSERT_TRUE(inv.ok()) << inv.error().message();
    EXPECT_TRUE(inv->options.detach);
    EXPECT_EQ(inv->log.verbosity, 3);
}

TEST(LogFile, RelativePathsLandInTheImagesDirectory) {
    EXPECT_EQ(resolve_in("/imgs", "dump.log"), "/imgs/dump.log");
    EXPECT_EQ(resolve_in("/imgs/", "dump.log"), "/imgs/dump.log");
    EXPECT_EQ(resolve_in("imgs", "logs/dump.log"), "imgs/logs/dump.log");
    EXPECT_EQ(resolve_in("/imgs", "/var/log/dump.log"), "/var/log/dump.log");
    EXPECT_EQ(resolve_in("", "dump.log"), "dump.log");
    auto inv = parse_dump({"-t", "1", "-D", "/x", "-o", "dump.log"}, false);
    ASSERT_TRUE(inv.ok());
    EXPECT_EQ(inv->log.log_file, "dump.log");  // resolved when the log is opened
}

TEST(RestoreOptions, CriuSpellingsFillEveryField) {
    auto inv = parse_restore({"-D", "/imgs", "-d", "--shell-job", "--lazy-pages",
                              "--file-validation=checksum", "--pidfile", "root.pid"});
    ASSERT_TRUE(inv.ok()) << inv.error().message();
    const restore::RestoreOptions &o = inv->options;
    EXPECT_EQ(o.images_dir, "/imgs");
    EXPECT_TRUE(o.detach);
    EXPECT_TRUE(o.shell_job);
    EXPECT_TRUE(o.lazy_pages);
    EXPECT_EQ(o.file_validation, dump::FileValidation::checksum);
    EXPECT_EQ(o.pidfile, "/imgs/root.pid");
}

TEST(RestoreOptions, NeedsAnImagesDirectoryButNoTree) {
    EXPECT_FALSE(parse_restore({}).ok());
    EXPECT_FALSE(parse_restore({"-D", "/x", "-t", "1"}).ok());
    EXPECT_TRUE(parse_restore({"--restore-detached", "--images-dir", "/x"}).ok());
}

TEST(RestoreExitCode, IsTheRootsExitCodeOr128PlusItsSignal) {
    EXPECT_EQ(exit_code_from_wait_status(0), 0);
    EXPECT_EQ(exit_code_from_wait_status(3 << 8), 3);
    EXPECT_EQ(exit_code_from_wait_status(255 << 8), 255);
    EXPECT_EQ(exit_code_from_wait_status(9), 137);         // SIGKILL
    EXPECT_EQ(exit_code_from_wait_status(15), 143);        // SIGTERM
    EXPECT_EQ(exit_code_from_wait_status(6 | 0x80), 134);  // SIGABRT with a core dump
}

TEST(CheckOptions, JsonAndFeature) {
    auto inv = parse_check({"--json", "--feature", "clone3-set-tid"});
    ASSERT_TRUE(inv.ok()) << inv.error().message();
    EXPECT_TRUE(inv->json);
    EXPECT_EQ(inv->feature, "clone3-set-tid");
    EXPECT_FALSE(parse_check({"-t", "1"}).ok());
}

TEST(ServerOptions, PageServerListensOnATcpPort) {
    auto inv = parse_server("page-server", {"-D", "/srv", "--address", "127.0.0.1", "--port", "27"});
    ASSERT_TRUE(inv.ok()) << inv.error().message();
    ASSERT_TRUE(inv->endpoint);
    EXPECT_EQ(inv->endpoint->address, "127.0.0.1");
    EXPECT_EQ(inv->endpoint->port, 27);
    auto any = parse_server("page-server", {"-D", "/srv", "--port", "27000"});
    ASSERT_TRUE(any.ok()) << any.error().message();
    EXPECT_EQ(any->endpoint->address, "");  // every address
    EXPECT_FALSE(parse_server("page-server", {"-D", "/srv"}).ok());
    EXPECT_FALSE(parse_server("page-server", {"--port", "0"}).ok());
    EXPECT_FALSE(parse_server("page-server", {"--port", "65536"}).ok());
    EXPECT_FALSE(parse_server("page-server", {"--port", "http"}).ok());
}

TEST(ServerOptions, LazyPagesFetchesFromAPageServerOnlyWithTheFlag) {
    auto local = parse_server("lazy-pages", {"-D", "/imgs"});
    ASSERT_TRUE(local.ok()) << local.error().message();
    EXPECT_FALSE(local->endpoint);
    auto remote = parse_server("lazy-pages", {"-D", "/imgs", "--page-server", "--port", "27000"});
    ASSERT_TRUE(remote.ok()) << remote.error().message();
    ASSERT_TRUE(remote->endpoint);
    EXPECT_EQ(remote->endpoint->address, "127.0.0.1");
    EXPECT_EQ(remote->endpoint->port, 27000);
    EXPECT_FALSE(parse_server("lazy-pages", {"-D", "/imgs", "--port", "27000"}).ok());
    EXPECT_FALSE(parse_server("lazy-pages", {"-D", "/imgs", "--page-server"}).ok());
}

TEST(DumpOptions, PageServerNeedsAPortAndNoParentImages) {
    auto inv = parse_dump({"-t", "1", "-D", "/d", "--page-server", "--address", "10.0.0.2", "--port", "27000"}, false);
    ASSERT_TRUE(inv.ok()) << inv.error().message();
    ASSERT_TRUE(inv->options.page_server);
    EXPECT_EQ(inv->options.page_server->text(), "10.0.0.2:27000");
    EXPECT_FALSE(parse_dump({"-t", "1", "-D", "/d", "--page-server"}, false).ok());
    EXPECT_FALSE(parse_dump({"-t", "1", "-D", "/d", "--address", "10.0.0.2", "--port", "1"}, false).ok());
    EXPECT_FALSE(parse_dump({"-t", "1", "-D", "/d", "--page-server", "--port", "1", "--prev-images-dir", "../p"},
                            false)
                     .ok());
    EXPECT_FALSE(parse_dump({"-t", "1", "-D", "/d", "--page-server", "--port", "1"}, true).ok());  // pre-dump
}

TEST(RestoreOptions, PageServerIsOptional) {
    auto inv = parse_restore({"-D", "/d", "--lazy-pages", "--page-server", "--port", "27000"});
    ASSERT_TRUE(inv.ok()) << inv.error().message();
    ASSERT_TRUE(inv->options.page_server);
    EXPECT_FALSE(parse_restore({"-D", "/d"})->options.page_server);
}

TEST(CommandLine, OptionsBeforeTheCommandGoToIt) {
    Dispatch d = split_command_line({"-v4", "-o", "x.log", "dump", "-t", "1"});
    EXPECT_EQ(d.command, "dump");
    EXPECT_EQ(d.args, (std::vector<std::string>{"-v4", "-o", "x.log", "-t", "1"}));
    EXPECT_EQ(split_command_line({"--frob"}).command, "");
}

TEST(CommandLine, EveryCommandButImageHasAnOptionTable) {
    for (const auto &c : commands()) {
        if (std::string(c.name) == "image") continue;
        EXPECT_NE(find_command_spec(c.name), nullptr) << c.name;
    }
    EXPECT_EQ(command_specs().size(), commands().size() - 1);
}

// --help is rendered from the same table the parser uses: every option of
// every command appears in its help.
TEST(Help, ListsEveryOptionOfTheTable) {
    for (const auto &spec : command_specs()) {
        const std::string help = render_help(spec);
        EXPECT_NE(help.find(std::string("usage: stasis ") + spec.name), std::string::npos);
        for (const auto &o : spec.options)
            EXPECT_NE(help.find(std::string("--") + o.long_name), std::string::npos)
                << spec.name << " " << o.long_name;
        for (const auto &o : common_options())
            EXPECT_NE(help.find(std::string("--") + o.long_name), std::string::npos)
                << spec.name << " " << o.long_name;
    }
}

TEST(Help, EveryOptionIsParsedWithItsTableSpelling) {
    for (const auto &spec : command_specs()) {
        for (const auto &o : spec.options) {
            std::vector<std::string> args = {"--" + std::string(o.long_name)};
            if (o.value_name) args.push_back("1");
            auto parsed = parse_options(spec, args);
            ASSERT_TRUE(parsed.ok()) << spec.name << " --" << o.long_name << ": " << parsed.error().message();
            EXPECT_TRUE(parsed->flag(o.long_name) || parsed->value(o.long_name))
                << spec.name << " " << o.long_name;
        }
    }
}

}  // namespace
}  // namespace stasis::cli
