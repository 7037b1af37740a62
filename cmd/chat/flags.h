// copilot-chat's flags: what the command line asked for, checked
// (cmd/options/copilot-chat.opts is the table).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/chat.h"
#include "auth/credentials.h"
#include "wire/wire.h"

namespace chat_cmd {

struct Flags {
    copilot::ApiCredentialsRequest auth;
    copilot::ChatRequest chat;
    std::vector<std::string> words;        // the prompt arguments
    std::optional<std::string> messages;  // --messages FILE|-
    std::vector<std::string> attach;      // -a, --attach FILE
    std::optional<copilot::wire::Api> api;  // --api
    bool json = false;
    bool usage = false;
    bool no_stdin = false;
    bool list_models = false;
    bool all = false;
    bool quiet = false;
    // Conversations (store/chats.h): saved unless --no-save or COPILOT_CHAT_SAVE=0.
    bool save = true;
    bool resume_latest = false;                // -c, --continue
    std::optional<std::string> conversation;  // --conversation ID
    bool history = false;
    std::optional<std::string> show, forget;
    // -i, --interactive (or no prompt and a terminal on standard input).
    bool interactive = false;
};


Flags parse_flags(int argc, char** argv);

}  // namespace chat_cmd
