// lib/api/models and lib/api/catalogue: a model's entry and what it
// supports, the id check, the routing rule, the catalogue cache file.
#include <cstdlib>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "api/catalogue.h"
#include "check.h"
#include "util/files.h"

using namespace copilot;
using wire::Api;

namespace copilot {
std::ostream& operator<<(std::ostream& os, Exit e) { return os << static_cast<int>(e); }
namespace wire {
std::ostream& operator<<(std::ostream& os, Api a) { return os << api_name(a); }
}  // namespace wire
}  // namespace copilot

namespace {

std::string scratch_dir() {
    static std::string dir;
    if (dir.empty()) {
        char tmpl[] = "/tmp/test_catalogue.XXXXXX";
        const char* d = ::mkdtemp(tmpl);
        if (!d) std::abort();
        dir = d;
        std::atexit([] { std::system(("rm -rf '" + dir + "'").c_str()); });
    }
    return dir;
}

const char* kList = R"J({"object":"list","data":[
  {"id":"gpt-4.1","name":"GPT-4.1","vendor":"Azure OpenAI","model_picker_enabled":true,"preview":false,
   "capabilities":{"type":"chat","limits":{"max_context_window_tokens":128000,"max_prompt_tokens":111000,"max_output_tokens":16384},
     "supports":{"streaming":true,"tool_calls":true,"vision":true}},
   "billing":{"is_premium":false,"multiplier":0},"policy":{"state":"enabled"},
   "supported_endpoints":["/chat/completions","/responses"],"future_field":{"x":[1]}},
  {"id":"gpt-5-codex","vendor":"OpenAI","preview":true,
   "capabilities":{"type":"chat","supports":{"streaming":true,"reasoning_effort":["low","medium","high"]}},
   "billing":{"is_premium":true,"multiplier":1},"supported_endpoints":["/responses","ws:/responses"]},
  {"id":"claude-x","capabilities":{"supports":{"vision":"yes","reasoning_effort":"high"}},
   "billing":{"is_premium":true,"multiplier":0.33},"supported_endpoints":["/v1/messages","/chat/completions"]},
  {"id":"old-one","capabilities":{"limits":"odd"},"supported_endpoints":"odd","policy":"odd"},
  {"id":"only-ws","supported_endpoints":["ws:/responses"]},
  {"id":"bad$(touch /tmp/pwned)"},
  {"id":"esc\u001b[31mred"},
  {"id":"ok:tag/x@y+z_1.2-3"}]})J";

}  // namespace

TEST(catalogue_reads_every_field) {
    auto m = parse_models(kList);
    CHECK_EQ(m.size(), size_t{6});
    const ModelInfo& g = m[0];
    CHECK_EQ(g.id, "gpt-4.1");
    CHECK(g.context_window && *g.context_window == 128000);
    CHECK(g.max_prompt && *g.max_prompt == 111000);
    CHECK(g.max_output && *g.max_output == 16384);
    CHECK(g.streaming && *g.streaming);
    CHECK(g.tool_calls && *g.tool_calls);
    CHECK(g.vision && *g.vision);
    CHECK(g.premium && !*g.premium);
    CHECK_EQ(g.policy_state, "enabled");
    CHECK_EQ(g.apis.size(), size_t{2});
    CHECK(g.supports(Api::chat) && g.supports(Api::responses) && !g.supports(Api::messages));
    CHECK(g.reasoning_efforts.empty());

    const ModelInfo& c = m[1];
    CHECK(c.preview);
    CHECK_EQ(c.endpoints.size(), size_t{2});  // ws:/responses kept as written
    CHECK_EQ(c.apis.size(), size_t{1});
    CHECK(c.supports(Api::responses) && !c.supports(Api::chat));
    CHECK(c.supports_effort("high") && !c.supports_effort("max"));
    CHECK(c.multiplier && *c.multiplier == 1.0);

    const ModelInfo& a = m[2];  // mistyped optional fields are ignored
    CHECK(!a.vision);
    CHECK(a.reasoning_efforts.empty());
    CHECK(a.supports(Api::messages) && a.supports(Api::chat));

    const ModelInfo& o = m[3];  // no (usable) supported_endpoints: Chat
    CHECK_EQ(o.apis.size(), size_t{1});
    CHECK(o.supports(Api::chat));
    CHECK_EQ(o.policy_state, "");
    CHECK_EQ(m[5].id, "ok:tag/x@y+z_1.2-3");
}

TEST(model_ids_outside_the_safe_set_are_dropped_with_a_note) {
    std::string notes;
    auto m = parse_models(kList, [&](const std::string& s) { notes += s + "\n"; });
    for (const auto& x : m) CHECK(valid_model_id(x.id));
    CHECK(notes.find("bad$(touch /tmp/pwned)") != std::string::npos);
    CHECK(notes.find('\x1b') == std::string::npos);  // the note itself is printable
    CHECK(notes.find("esc?[31mred") != std::string::npos);
    CHECK(!valid_model_id(""));
    CHECK(!valid_model_id(std::string(129, 'a')));
    CHECK(valid_model_id(std::string(128, 'a')));
    CHECK(!valid_model_id("a b"));
    CHECK(!valid_model_id("`id`"));
    CHECK(!valid_model_id("a\nb"));
    CHECK(!valid_model_id("caf\xc3\xa9"));
}

TEST(printable_replaces_controls_and_cuts) {
    CHECK_EQ(printable("a\x1b[2Jb\x07\x7f"), "a?[2Jb??");
    CHECK_EQ(printable("x\xc2\x9b" "31m"), "x?31m");  // C1 CSI
    CHECK_EQ(printable("caf\xc3\xa9"), "caf\xc3\xa9");
    CHECK_EQ(printable(std::string(200, 'm')), std::string(128, 'm') + "...");
}

TEST(the_filtered_document_keeps_only_valid_entries_as_written) {
    const std::string doc = filter_models_document(kList);
    CHECK(doc.find("touch") == std::string::npos);
    CHECK(doc.find("future_field") != std::string::npos);
    CHECK_EQ(parse_models(doc).size(), size_t{6});
    CHECK_THROWS(filter_models_document("[1"), Exit::protocol);
}

TEST(choose_api_routes_by_what_the_model_supports) {
    auto m = parse_models(kList);
    const ModelInfo* both = find_model(m, "gpt-4.1");
    const ModelInfo* codex = find_model(m, "gpt-5-codex");
    const ModelInfo* claude = find_model(m, "claude-x");
    const ModelInfo* ws = find_model(m, "only-ws");
    CHECK(find_model(m, "nope") == nullptr);
    CHECK_EQ(choose_api(both, Api::chat), Api::chat);
    CHECK_EQ(choose_api(both, Api::responses), Api::responses);
    CHECK_EQ(choose_api(both, Api::messages), Api::chat);  // fixed preference
    CHECK_EQ(choose_api(codex, Api::chat), Api::responses);
    CHECK_EQ(choose_api(codex, Api::messages), Api::responses);
    CHECK_EQ(choose_api(claude, Api::messages), Api::messages);
    CHECK_EQ(choose_api(claude, Api::responses), Api::chat);
    CHECK_EQ(choose_api(nullptr, Api::responses), Api::responses);  // unknown: the caller's
    CHECK_EQ(choose_api(ws, Api::chat), Api::chat);  // none of the three: the caller's
}

TEST(the_table_shows_endpoints_context_premium_preview) {
    auto m = parse_models(kList);
    const std::string t = models_table(m, false, false);
    CHECK(t.find("ENDPOINTS") != std::string::npos);
    CHECK(t.find("PREMIUM") != std::string::npos);
    CHECK(t.find("PREVIEW") != std::string::npos);
    CHECK(t.find("chat,responses") != std::string::npos);
    CHECK(t.find("0.33x") != std::string::npos);
    CHECK(t.find(" 1x") != std::string::npos);
    CHECK(t.find("messages,chat") != std::string::npos);
}

TEST(the_catalogue_cache_is_private_fresh_for_an_hour_and_per_api) {
    ::setenv("XDG_CACHE_HOME", (scratch_dir() + "/cache").c_str(), 1);
    const int64_t now = 1700000000;
    Catalogue c = catalogue_from_body(kList, now);
    write_catalogue_cache("github.com", "work", "https://api.x", c);
    const std::string path = catalogue_cache_path("github.com", "work");
    CHECK_EQ(path, scratch_dir() + "/cache/copilot-utils/catalogue/github.com@work.json");
    CHECK(file_mode(path) == std::optional<mode_t>(0600));
    CHECK(file_mode(scratch_dir() + "/cache/copilot-utils/catalogue") == std::optional<mode_t>(0700));
    auto back = read_catalogue_cache("github.com", "work", "https://api.x", now + 3599);
    CHECK(back.has_value());
    CHECK_EQ(back->models.size(), size_t{6});
    CHECK_EQ(back->fetched_at, now);
    CHECK(!read_catalogue_cache("github.com", "work", "https://api.x", now + 3600));
    CHECK(!read_catalogue_cache("github.com", "work", "https://other", now));
    CHECK(!read_catalogue_cache("github.com", "", "https://api.x", now));
    ::chmod(path.c_str(), 0644);  // not ours any more: ignored, with a note
    std::string notes;
    CHECK(!read_catalogue_cache("github.com", "work", "https://api.x", now,
                                [&](const std::string& s) { notes += s; }));
    CHECK(notes.find("too open") != std::string::npos);
}

TEST(unsupported_answers_are_recognised) {
    CHECK(says_unsupported(400, ApiError{"x", "unsupported_api_for_model"}));
    CHECK(says_unsupported(400, ApiError{"x", "model_not_supported"}));
    CHECK(!says_unsupported(404, ApiError{"x", "model_not_supported"}));
    CHECK(!says_unsupported(400, ApiError{"x", "invalid_request"}));
}

