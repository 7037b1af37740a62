#include <string>

#include "check.h"
#include "util/errors.h"

using namespace copilot;

TEST(error_carries_code_and_message) {
    Error e(Exit::permission, "revoked");
    CHECK_EQ(e.status(), 77);
    CHECK_EQ(std::string(e.what()), std::string("revoked"));
}

TEST(exit_codes_match_the_design_table) {
    CHECK_EQ(static_cast<int>(Exit::usage), 64);
    CHECK_EQ(static_cast<int>(Exit::data), 65);
    CHECK_EQ(static_cast<int>(Exit::no_auth), 66);
    CHECK_EQ(static_cast<int>(Exit::unavailable), 69);
    CHECK_EQ(static_cast<int>(Exit::io), 74);
    CHECK_EQ(static_cast<int>(Exit::temp), 75);
    CHECK_EQ(static_cast<int>(Exit::protocol), 76);
    CHECK_EQ(static_cast<int>(Exit::permission), 77);
    CHECK_EQ(static_cast<int>(Exit::interrupted), 130);
}

TEST(mask_keeps_only_the_prefix) {
    CHECK_EQ(mask_secret("ghu_fake_abcdef"), std::string("ghu_****"));
    CHECK_EQ(mask_secret("tid=abc;exp=1:mac"), std::string("tid=****"));
    CHECK_EQ(mask_secret("whatever"), std::string("****"));
    CHECK_EQ(mask_secret(""), std::string(""));
}

TEST(redact_hides_every_occurrence) {
    std::string t = "ghu_fake_secret1";
    CHECK_EQ(redact("a " + t + " b " + t, t), std::string("a ghu_**** b ghu_****"));
    CHECK_EQ(redact("nothing here", t), std::string("nothing here"));
}

TEST(one_line_masks_before_cutting_and_flattens) {
    const std::string secret = "ghu_fake_secret_value";
    // The secret straddles the cut: it must still be masked, never half shown.
    std::string text = std::string(290, 'a') + secret + " tail";
    std::string out = one_line(text, secret, 300);
    CHECK(out.find("ghu_fake") == std::string::npos);
    CHECK(out.find("ghu_****") != std::string::npos);
    CHECK_EQ(one_line("two\nlines\r\n\x1b[31m  red", ""), std::string("two lines [31m red"));
    CHECK_EQ(one_line(std::string(10, 'x'), "", 4), std::string("xxxx..."));
}
