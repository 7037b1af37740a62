// copilot-token: placeholder until its issue lands; prints its usage.
#include <cstring>

#include "tool.h"

namespace {

const char* kUsage = "usage: copilot-token [--help] [--version]\n";

int body(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "--help") == 0) {
        tool::out(kUsage);
        return 0;
    }
    tool::usage_error("not implemented yet");
}

}  // namespace

int main(int argc, char** argv) { return tool::run("copilot-token", argc, argv, body); }
