// copilot-chat -i: the interactive session (copilot-chat(1) INTERACTIVE).
// A line-editing prompt (libedit) with its history in
// $XDG_STATE_HOME/copilot-utils/chat_history (0600 in 0700; not written with
// --no-save), each line a turn of one conversation (store/chat_session.h),
// the answer streamed (rendered on a terminal); Ctrl-C ends the answer in
// flight (ApiCredentials::cancelled) and the session goes on, Ctrl-D ends
// it with 0; /model, /system, /clear, /save, /help.
#pragma once

#include "flags.h"

namespace chat_cmd {

int interactive(Flags& f);

}  // namespace chat_cmd
