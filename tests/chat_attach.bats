#!/usr/bin/env bats
# copilot-chat -a/--attach (issue 18): images told by their content go as
# image parts with Copilot-Vision-Request: true, a model without vision is
# refused before any request, text files go as fenced blocks, the size caps.

load helpers/common

setup_file() { fake_start; }
teardown_file() { fake_stop; }

setup() {
  common_setup
  exec </dev/null
  export GITHUB_COPILOT_TOKEN=ghu_fake_valid
  export COPILOT_CHAT_SAVE=0
  cd "$BATS_TEST_TMPDIR"
}

chat_messages() { fake_last chat '["body"]' | json_get - '["messages"]'; }

@test "a text file goes as a fenced block named by the file, after the prompt" {
  printf 'int main() {}\n' >main.c
  run -0 copilot-chat -a main.c review this
  assert_equal "$(chat_messages)" \
    '[{"role":"user","content":"review this\n\n```main.c\nint main() {}\n```\n"}]'
  assert_equal "$(fake_last chat '["vision"]')" "null"
}

@test "a text file with backtick fences inside gets a longer fence; two files in order" {
  printf 'a\n```\nb' >notes.md
  printf 'x\n' >b.txt
  run -0 copilot-chat --attach notes.md -a b.txt
  assert_equal "$(chat_messages)" \
    '[{"role":"user","content":"````notes.md\na\n```\nb\n````\n\n```b.txt\nx\n```\n"}]'
}

@test "an image is told by its content, not its name: image part and the vision header" {
  printf '\x89PNG\r\n\x1a\n0000' >picture.txt
  run -0 copilot-chat -a picture.txt what is this
  assert_equal "$(chat_messages)" \
    "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"what is this\"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,$(base64 -w0 picture.txt)\"}}]}]"
  assert_equal "$(fake_last chat '["vision"]')" "true"
}

@test "jpeg, gif and webp are recognised" {
  printf '\xff\xd8\xff\xe0' >a.png
  printf 'GIF89a..' >b
  printf 'RIFF\x10\x00\x00\x00WEBPVP8 ' >c.jpg
  run -0 copilot-chat -a a.png -a b -a c.jpg look
  local m; m="$(chat_messages)"
  [[ "$m" == *'data:image/jpeg;base64,'* ]]
  [[ "$m" == *'data:image/gif;base64,'* ]]
  [[ "$m" == *'data:image/webp;base64,'* ]]
}

@test "an image for a model without vision is refused before any chat request" {
  printf '\x89PNG\r\n\x1a\n0000' >p.png
  run -64 --separate-stderr copilot-chat -m gpt-4o-mini -a p.png what
  assert_equal "$stderr" "copilot-chat: the model gpt-4o-mini does not take images (the model catalogue: supports.vision is false); choose one that does with --model"
  assert_equal "$(fake_count chat)" "0"
}

@test "a binary file that is no image, a missing file and a directory are refused" {
  printf 'ab\0cd' >blob.bin
  run -65 copilot-chat -a blob.bin hi
  assert_output "copilot-chat: --attach blob.bin is neither an image (PNG, JPEG, WebP, GIF) nor text"
  printf '\xff\xfe' >bad.txt
  run -65 copilot-chat -a bad.txt hi
  run -64 copilot-chat -a nope.txt hi
  assert_output "copilot-chat: --attach nope.txt: no such file"
  run -64 copilot-chat -a . hi
  assert_equal "$(fake_count chat)" "0"
}

@test "the caps: 5 MiB a file, 10 MiB in all" {
  head -c $((5 * 1024 * 1024 + 1)) /dev/zero | tr '\0' x >big.txt
  run -65 copilot-chat -a big.txt hi
  assert_output "copilot-chat: --attach big.txt is larger than 5 MiB (the limit for one file)"
  head -c $((4 * 1024 * 1024)) /dev/zero | tr '\0' x >f1.txt
  cp f1.txt f2.txt; cp f1.txt f3.txt
  run -65 copilot-chat -a f1.txt -a f2.txt -a f3.txt hi
  assert_output "copilot-chat: --attach: the files come to more than 10 MiB (the limit for all of them)"
  assert_equal "$(fake_count chat)" "0"
}

@test "an attached image is saved and sent again with -c, with the vision header" {
  unset COPILOT_CHAT_SAVE
  printf 'GIF89a..' >g.gif
  run -0 copilot-chat -a g.gif describe
  run -0 copilot-chat -c and now
  [[ "$(chat_messages)" == *'data:image/gif;base64,'*'"content":"and now"}]' ]]
  assert_equal "$(fake_last chat '["vision"]')" "true"
}
