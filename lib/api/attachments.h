// copilot-chat's -a/--attach: files read and recognised by their content
// (an image is PNG, JPEG, WebP or GIF by its first bytes, whatever its
// name; anything else must be UTF-8 text), then made part of the prompt:
// text files as fenced blocks named by the file, images as image_url parts
// (data: URLs) of the user message, which then needs a model with vision
// (the catalogue's supports.vision) and Copilot-Vision-Request: true.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/chat.h"

namespace copilot {

constexpr size_t kMaxAttachment = 5u << 20;          // one file
constexpr size_t kMaxAttachmentsTotal = 10u << 20;   // all of them

struct Attachment {
    std::string name;  // as given
    std::string mime;  // "image/png", ...; "" for text
    std::string data;
    bool image() const { return !mime.empty(); }
};

// "image/png", "image/jpeg", "image/webp", "image/gif" by the magic bytes; "" otherwise.
std::string image_type(std::string_view bytes);

// Reads the files: Error(usage) for one that does not exist or is not a
// regular file, Error(data) for one over kMaxAttachment, all over
// kMaxAttachmentsTotal, or neither an image nor UTF-8 text without NUL.
std::vector<Attachment> read_attachments(const std::vector<std::string>& files);

// A text file as a fenced block: a fence longer than any run of backticks
// in it, the file name after the opening fence.
std::string fenced_block(const Attachment& a);

// Puts the attachments into the request: the text ones after the prompt,
// each a fenced block; with images, the prompt and they become one user
// message of content parts appended to messages_json (prompt cleared) and
// req.vision is set. Error(usage) with no prompt at all.
void attach(ChatRequest& req, const std::vector<Attachment>& files);

// Whether a JSON array of messages holds an image part anywhere
// (a continued conversation with images needs the vision header too).
bool has_image(std::string_view messages_json);

// Error(usage) when the model is known not to take images.
void check_vision(const ModelInfo* model, const std::string& id);

}  // namespace copilot
