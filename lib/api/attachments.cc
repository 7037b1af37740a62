#include "api/attachments.h"

#include <sys/stat.h>

#include "util/errors.h"
#include "util/files.h"
#include "util/json.h"
#include "util/utf8.h"

namespace copilot {

namespace {

std::string base64(std::string_view in) {
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                           (static_cast<unsigned char>(in[i + 1]) << 8) |
                           static_cast<unsigned char>(in[i + 2]);
        out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
    }
    if (i + 1 == in.size()) {
        const unsigned v = static_cast<unsigned char>(in[i]) << 16;
        out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
    } else if (i + 2 == in.size()) {
        const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                           (static_cast<unsigned char>(in[i + 1]) << 8);
        out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
    }
    return out;
}

bool starts(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string mib(size_t n) { return std::to_string(n >> 20) + " MiB"; }

}  // namespace

std::string image_type(std::string_view b) {
    if (starts(b, "\x89PNG\r\n\x1a\n")) return "image/png";
    if (starts(b, "\xff\xd8\xff")) return "image/jpeg";
    if (starts(b, "GIF87a") || starts(b, "GIF89a")) return "image/gif";
    if (b.size() >= 12 && starts(b, "RIFF") && b.substr(8, 4) == "WEBP") return "image/webp";
    return "";
}

std::vector<Attachment> read_attachments(const std::vector<std::string>& files) {
    std::vector<Attachment> out;
    size_t total = 0;
    for (const auto& name : files) {
        const std::string what = "--attach " + name;
        struct stat st;
        if (::stat(name.c_str(), &st) != 0) throw Error(Exit::usage, what + ": no such file");
        if (!S_ISREG(st.st_mode)) throw Error(Exit::usage, what + ": not a regular file");
        if (static_cast<size_t>(st.st_size) > kMaxAttachment)
            throw Error(Exit::data, what + " is larger than " + mib(kMaxAttachment) + " (the limit for one file)");
        auto data = read_file(name, kMaxAttachment);
        if (!data) throw Error(Exit::usage, what + ": no such file");
        total += data->size();
        if (total > kMaxAttachmentsTotal)
            throw Error(Exit::data, "--attach: the files come to more than " +
                                        mib(kMaxAttachmentsTotal) + " (the limit for all of them)");
        Attachment a;
        a.name = name;
        a.mime = image_type(*data);
        if (!a.image()) {
            if (data->find('\0') != std::string::npos)
                throw Error(Exit::data, what + " is neither an image (PNG, JPEG, WebP, GIF) nor text");
            check_utf8(*data, what);
        }
        a.data = std::move(*data);
        out.push_back(std::move(a));
    }
    return out;
}

std::string fenced_block(const Attachment& a) {
    size_t longest = 0, run = 0;
    for (char c : a.data) {
        run = c == '`' ? run + 1 : 0;
        if (run > longest) longest = run;
    }
    const std::string fence(longest < 3 ? 3 : longest + 1, '`');
    std::string out = fence + a.name + "\n" + a.data;
    if (!a.data.empty() && a.data.back() != '\n') out += "\n";
    return out + fence + "\n";
}

void attach(ChatRequest& req, const std::vector<Attachment>& files) {
    if (files.empty()) return;
    std::string text = req.prompt.value_or("");
    bool images = false;
    for (const auto& a : files) {
        if (a.image()) {
            images = true;
            continue;
        }
        if (!text.empty()) text += text.back() == '\n' ? "\n" : "\n\n";
        text += fenced_block(a);
    }
    if (!images) {
        req.prompt = text;
        return;
    }
    // The user message of content parts: the text first, then each image.
    std::string parts = "[";
    if (!text.empty())
        parts += JsonObjectWriter().field("type", "text").field("text", text).str();
    for (const auto& a : files) {
        if (!a.image()) continue;
        if (parts.size() > 1) parts += ",";
        const std::string url =
            JsonObjectWriter().field("url", "data:" + a.mime + ";base64," + base64(a.data)).str();
        parts += JsonObjectWriter().field("type", "image_url").raw_field("image_url", url).str();
    }
    parts += "]";
    const std::string message = JsonObjectWriter().field("role", "user").raw_field("content", parts).str();
    std::string msgs = req.messages_json.value_or("[]");
    // Appended inside the array as given (already checked to be an array by the caller's parse).
    const size_t close = msgs.find_last_of(']');
    if (close == std::string::npos) throw Error(Exit::data, req.messages_what + ": expected a JSON array of messages");
    const bool empty = msgs.find_first_not_of(" \t\r\n", msgs.find('[') + 1) == close;
    msgs = msgs.substr(0, close) + (empty ? "" : ",") + message + "]";
    req.messages_json = msgs;
    req.prompt.reset();
    req.vision = true;
}

bool has_image(std::string_view messages_json) {
    try {
        rapidjson::Document d = json_parse(messages_json, JsonSource{"messages", Exit::data}, false);
        if (!d.IsArray()) return false;
        // messages[k].content[j].type: the only place an image part goes.
        for (const auto& m : d.GetArray()) {
            if (!m.IsObject()) continue;
            auto c = m.FindMember("content");
            if (c == m.MemberEnd() || !c->value.IsArray()) continue;
            for (const auto& part : c->value.GetArray()) {
                if (!part.IsObject()) continue;
                auto type = part.FindMember("type");
                if (type == part.MemberEnd() || !type->value.IsString()) continue;
                const std::string_view t(type->value.GetString(), type->value.GetStringLength());
                if (t == "image_url" || t == "input_image") return true;
            }
        }
        return false;
    } catch (const Error&) {
        return false;
    }
}

void check_vision(const ModelInfo* model, const std::string& id) {
    if (model && model->vision && !*model->vision)
        throw Error(Exit::usage, "the model " + id + " does not take images (the model catalogue: "
                                 "supports.vision is false); choose one that does with --model");
}

}  // namespace copilot
