// The model list: GET {api}/models, its parsing, the order we show it in,
// and the models.txt cache that shell completion of --model reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/credentials.h"

namespace copilot {

struct ModelInfo {
    std::string id;
    std::string name;
    std::string vendor;
    std::string type = "chat";           // capabilities.type; "chat" when not given
    std::optional<int64_t> context_window;
    std::optional<int64_t> max_output;
    std::optional<bool> picker;          // model_picker_enabled
    bool preview = false;
};

// GET {api}/models (raw body), with run_chat's refresh/retry rules.
std::string fetch_models(ApiCredentials& auth, const LogFn& log);

// Parses {"data": [...]} (or a bare array). Entries without a string id are
// skipped; mistyped optional fields are ignored. Error(protocol) if the
// answer is not such a list.
std::vector<ModelInfo> parse_models(std::string_view body);

// Chat models first, in the server's order, duplicates dropped; with `all`
// the other kinds (embeddings, ...) follow.
std::vector<ModelInfo> select_models(const std::vector<ModelInfo>& models, bool all);

// --list-models on a terminal: ID, VENDOR, CONTEXT, OUTPUT, PICKER (and
// TYPE with `with_type`) in aligned columns, the head in bold with `bold`.
std::string models_table(const std::vector<ModelInfo>& models, bool with_type, bool bold);
// Elsewhere: one id a line.
std::string model_ids_text(const std::vector<ModelInfo>& models);

// $XDG_CACHE_HOME/copilot-utils/models.txt: the chat model ids last listed,
// one per line, for shell completion.
std::string models_cache_path();
void write_models_cache(const std::vector<ModelInfo>& models);

}  // namespace copilot
