// stasis: checkpoint/restore of Linux process trees.
#include <string>
#include <vector>

#include "common/cli/dispatch.h"

int main(int argc, char **argv) {
    return stasis::cli::run_stasis(std::vector<std::string>(argv + 1, argv + argc));
}
