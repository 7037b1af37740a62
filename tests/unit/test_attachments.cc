// api/attachments: images by content, fenced blocks, the request they make.
#include <string>

#include "api/attachments.h"
#include "check.h"

using namespace copilot;

TEST(image_types_by_magic_bytes) {
    CHECK_EQ(image_type(std::string("\x89PNG\r\n\x1a\nxx", 10)), std::string("image/png"));
    CHECK_EQ(image_type("\xff\xd8\xff\xe1"), std::string("image/jpeg"));
    CHECK_EQ(image_type("GIF87a"), std::string("image/gif"));
    CHECK_EQ(image_type(std::string("RIFF\0\0\0\0WEBPVP8", 15)), std::string("image/webp"));
    CHECK_EQ(image_type(std::string("RIFF\0\0\0\0WAVE", 12)), std::string(""));
    CHECK_EQ(image_type("\x89PN"), std::string(""));
    CHECK_EQ(image_type("hello.png"), std::string(""));
}

TEST(fence_longer_than_any_backtick_run) {
    Attachment a;
    a.name = "x.md";
    a.data = "a ```` b";
    CHECK_EQ(fenced_block(a), std::string("`````x.md\na ```` b\n`````\n"));
    a.data = "plain\n";
    CHECK_EQ(fenced_block(a), std::string("```x.md\nplain\n```\n"));
}

TEST(images_make_a_user_message_of_parts_after_the_messages) {
    ChatRequest r;
    r.prompt = "what";
    r.messages_json = "[{\"role\":\"user\",\"content\":\"a\"}]";
    Attachment img;
    img.name = "i";
    img.mime = "image/gif";
    img.data = "GIF89a";
    attach(r, {img});
    CHECK(r.vision);
    CHECK(!r.prompt);
    CHECK_EQ(*r.messages_json,
             std::string("[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":[{\"type\":"
                         "\"text\",\"text\":\"what\"},{\"type\":\"image_url\",\"image_url\":{\"url\":"
                         "\"data:image/gif;base64,R0lGODlh\"}}]}]"));
    CHECK(has_image(*r.messages_json));
    CHECK(!has_image("[{\"role\":\"user\",\"content\":\"image_url\"}]"));
    CHECK(!has_image("not json"));
}

TEST(vision_refused_only_when_the_catalogue_says_no) {
    check_vision(nullptr, "m");
    ModelInfo m;
    check_vision(&m, "m");
    m.vision = true;
    check_vision(&m, "m");
    m.vision = false;
    CHECK_THROWS_MSG(check_vision(&m, "m"), Exit::usage, "does not take images");
}
