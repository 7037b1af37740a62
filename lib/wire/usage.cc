#include "wire/usage.h"

#include <rapidjson/reader.h>

#include <array>
#include <cstdint>
#include <string_view>
#include <optional>

namespace copilot::wire {

namespace {

// --- where each API puts its counts: written once, read by both readers --------------------

enum Slot { kIn, kOut, kCached, kReasoning, kCacheRead, kCacheCreation, kSlots };

// A count's place inside the usage object: `key`, or `key`.`sub`.
struct Field {
    const char* key;
    const char* sub;  // nullptr: the count is `key` itself
    Slot slot;
};

constexpr std::array<Field, 4> kChat{{{"prompt_tokens", nullptr, kIn},
                                      {"completion_tokens", nullptr, kOut},
                                      {"prompt_tokens_details", "cached_tokens", kCached},
                                      {"completion_tokens_details", "reasoning_tokens", kReasoning}}};
constexpr std::array<Field, 4> kResponses{{{"input_tokens", nullptr, kIn},
                                           {"output_tokens", nullptr, kOut},
                                           {"input_tokens_details", "cached_tokens", kCached},
                                           {"output_tokens_details", "reasoning_tokens", kReasoning}}};
constexpr std::array<Field, 4> kMessages{{{"input_tokens", nullptr, kIn},
                                          {"output_tokens", nullptr, kOut},
                                          {"cache_read_input_tokens", nullptr, kCacheRead},
                                          {"cache_creation_input_tokens", nullptr, kCacheCreation}}};

const std::array<Field, 4>& fields_of(Api api) {
    return api == Api::chat ? kChat : api == Api::responses ? kResponses : kMessages;
}

// The member of the answer that holds the usage when `usage` is not there:
// a Responses event's `response`, a Messages `message_start`'s `message`.
const char* holder_of(Api api) {
    return api == Api::responses ? "response" : api == Api::messages ? "message" : nullptr;
}

using Counts = std::array<std::optional<int64_t>, kSlots>;

// A count as servers send it: an integer, or a whole number written as a
// double; anything else is no count.
std::optional<int64_t> count_of_int(int64_t v) {
    return v >= 0 ? std::optional<int64_t>(v) : std::nullopt;
}
std::optional<int64_t> count_of_double(double v) {
    return v >= 0 && v < 9.0e15 ? std::optional<int64_t>(static_cast<int64_t>(v)) : std::nullopt;
}

void apply(Api api, const Counts& c, Usage* into) {
    auto take = [](const std::optional<int64_t>& v, int64_t* to) {
        if (v) *to = *v;
    };
    if (api == Api::messages) {
        // Usage::input is every input token: input_tokens leave the cache out.
        if (c[kIn]) into->input = *c[kIn] + c[kCacheRead].value_or(0) + c[kCacheCreation].value_or(0);
        take(c[kCacheRead], &into->cached);
        take(c[kOut], &into->output);
        return;
    }
    take(c[kIn], &into->input);
    take(c[kOut], &into->output);
    take(c[kCached], &into->cached);
    take(c[kReasoning], &into->reasoning);
}

// --- from a document ---------------------------------------------------------------------------

const JsonValue* object_at(const JsonValue& obj, const char* key) {
    if (!obj.IsObject()) return nullptr;
    auto it = obj.FindMember(key);
    return it != obj.MemberEnd() && it->value.IsObject() ? &it->value : nullptr;
}

std::optional<int64_t> count_at(const JsonValue* obj, const char* key) {
    if (!obj || !obj->IsObject()) return std::nullopt;
    auto it = obj->FindMember(key);
    if (it == obj->MemberEnd()) return std::nullopt;
    const JsonValue& v = it->value;
    if (v.IsInt64()) return count_of_int(v.GetInt64());
    if (v.IsDouble()) return count_of_double(v.GetDouble());
    return std::nullopt;
}

// --- from text, without a document: the handler keeps only the path that matters -------------

// Where the reader is: the frames of the objects that can hold counts (at
// most root, holder, usage, details), and how deep it is inside anything
// else. A name that repeats on that path makes the counts ambiguous: none
// are read, as json_parse refuses a document with duplicate names.
class UsageHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, UsageHandler> {
public:
    explicit UsageHandler(Api api) : fields_(fields_of(api)), holder_(holder_of(api)) {}

    // The counts of the answer's own `usage`, else of its holder's.
    const Counts* found() const {
        if (ambiguous_) return nullptr;
        if (usage_[0]) return &counts_[0];
        if (usage_[1]) return &counts_[1];
        return nullptr;
    }

    bool Key(const char* s, rapidjson::SizeType n, bool) {
        key_ = -1;
        if (other_ > 0) return true;
        Frame& f = frames_[depth_ - 1];
        const std::string_view k(s, n);
        if (f.kind == Kind::root || f.kind == Kind::holder) {
            if (k == "usage") key_ = 0;
            else if (f.kind == Kind::root && holder_ && k == holder_) key_ = 1;
        } else if (f.kind == Kind::usage) {
            for (std::size_t i = 0; i < fields_.size(); ++i)
                if (k == fields_[i].key) key_ = static_cast<int>(i);
        } else if (k == fields_[f.field].sub) {
            key_ = 0;
        }
        if (key_ < 0) return true;
        if (f.seen & (1u << key_)) ambiguous_ = true;
        f.seen |= 1u << key_;
        return true;
    }
    bool StartObject() {
        if (other_ > 0) return enter_other();
        if (depth_ == 0) return push({Kind::root, 0, 0, -1});
        const Frame& f = frames_[depth_ - 1];
        if (key_ < 0) return enter_other();
        if (f.kind == Kind::root && key_ == 1) return push({Kind::holder, 0, 1, -1});
        if ((f.kind == Kind::root || f.kind == Kind::holder) && key_ == 0) {
            usage_[f.where] = true;
            return push({Kind::usage, 0, f.where, -1});
        }
        if (f.kind == Kind::usage && fields_[key_].sub)
            return push({Kind::details, 0, f.where, key_});
        return enter_other();
    }
    bool EndObject(rapidjson::SizeType) { return leave(); }
    bool StartArray() { return enter_other(); }
    bool EndArray(rapidjson::SizeType) { return leave(); }

    bool Int(int v) { return number(count_of_int(v)); }
    bool Uint(unsigned v) { return number(count_of_int(v)); }
    bool Int64(int64_t v) { return number(count_of_int(v)); }
    bool Uint64(uint64_t v) {
        return number(v <= static_cast<uint64_t>(INT64_MAX) ? count_of_int(static_cast<int64_t>(v))
                                                            : std::nullopt);
    }
    bool Double(double v) { return number(count_of_double(v)); }
    bool Default() { return number(std::nullopt); }  // strings, booleans, null

private:
    enum class Kind { root, holder, usage, details };
    struct Frame {
        Kind kind;
        uint32_t seen;  // bit i: a member whose key_ is i was read
        int where;      // which counts_ a usage here fills: 0 the answer's, 1 its holder's
        int field;      // details: its entry in fields_
    };

    bool push(Frame f) {
        frames_[depth_++] = f;
        return true;
    }
    bool enter_other() {
        ++other_;
        return true;
    }
    bool leave() {
        if (other_ > 0) --other_;
        else --depth_;
        return true;
    }
    bool number(std::optional<int64_t> v) {
        if (other_ > 0 || depth_ == 0 || key_ < 0) return true;
        const Frame& f = frames_[depth_ - 1];
        if (f.kind == Kind::usage && !fields_[key_].sub) counts_[f.where][fields_[key_].slot] = v;
        if (f.kind == Kind::details) counts_[f.where][fields_[f.field].slot] = v;
        return true;
    }

    const std::array<Field, 4>& fields_;
    const char* holder_;
    std::array<Frame, 4> frames_{};
    int depth_ = 0;
    long other_ = 0;  // nesting inside arrays and objects that hold no counts
    int key_ = -1;    // the current member's name, as an index the frame knows; -1 none
    std::array<Counts, 2> counts_{};
    std::array<bool, 2> usage_{};
    bool ambiguous_ = false;
};

}  // namespace

bool read_usage(Api api, const JsonValue& doc, Usage* into) {
    const JsonValue* u = object_at(doc, "usage");
    if (!u)
        if (const char* holder = holder_of(api))
            if (const JsonValue* h = object_at(doc, holder)) u = object_at(*h, "usage");
    if (!u) return false;
    Counts c;
    for (const Field& f : fields_of(api))
        c[f.slot] = f.sub ? count_at(object_at(*u, f.key), f.sub) : count_at(u, f.key);
    apply(api, c, into);
    return true;
}

bool read_usage(Api api, std::string_view json, Usage* into) {
    UsageHandler h(api);
    rapidjson::MemoryStream ms(json.data(), json.size());
    rapidjson::Reader reader;
    if (reader.Parse<rapidjson::kParseIterativeFlag>(ms, h).IsError()) return false;
    const Counts* c = h.found();
    if (!c) return false;
    apply(api, *c, into);
    return true;
}

}  // namespace copilot::wire
