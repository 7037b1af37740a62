# copilot-utils — see README.md. Targets: all check deps demo install uninstall clean options
.POSIX:
.SUFFIXES:
.SECONDARY:

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
DATADIR  ?= $(PREFIX)/share
DESTDIR  ?=

CXX      ?= g++
CXXFLAGS ?= -O2 -g
# CXXOPTS_NO_REGEX: cxxopts would otherwise compile six std::regex at every
# start, a third of copilot-token's fresh-cache time (bench/README.md).
STDFLAGS  = -std=c++17 -Wall -Wextra -Werror -Wshadow -Wformat=2 -D_FILE_OFFSET_BITS=64 \
            -DCXXOPTS_NO_REGEX
LDLIBS    = -ldl -lpthread

# SANITIZE=1 builds everything under ASan+UBSan into a separate tree, so the
# two builds never mix objects.
SANITIZE ?=
ifeq ($(SANITIZE),1)
OUT       = build/san
# GCC 12 reports false maybe-uninitialized warnings in libstdc++'s <regex>
# (used by cxxopts) only when ASan is on.
SANFLAGS  = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
            -Wno-maybe-uninitialized
BIN       = $(OUT)/bin
LIB       = $(OUT)/libcopilot.a
else
OUT       = build/rel
SANFLAGS  =
# A static libstdc++ saves the tools the dynamic loading and relocation of
# the shared one: the fresh-cache copilot-token then runs as fast as `cat`.
# (Not under SANITIZE: ASan must intercept operator new/delete.)
TOOL_LDFLAGS = -static-libstdc++ -static-libgcc -Wl,--gc-sections
BIN       = bin
LIB       = lib/libcopilot.a
endif

ALLFLAGS = $(STDFLAGS) $(CXXFLAGS) $(SANFLAGS) -Ilib
# Only cmd/ sees tool.h: lib/ must not print. $(OUT)/gen holds the option
# tables generated from cmd/options/*.opts.
CMDFLAGS = $(ALLFLAGS) -Icmd/shared -I$(OUT)/gen

TOOLS    = $(sort $(patsubst cmd/%.cc,%,$(wildcard cmd/copilot-*.cc)))
LIB_SRC  = $(sort $(wildcard lib/*/*.cc))
LIB_OBJ  = $(LIB_SRC:lib/%.cc=$(OUT)/lib/%.o)
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.cc))
UNIT_BIN = $(UNIT_SRC:tests/unit/%.cc=$(OUT)/tests/%)
BINS     = $(TOOLS:%=$(BIN)/%)
MAN_PAGES = $(sort $(wildcard man/*.[157]))

all: $(BINS)

lib: $(LIB)

$(OUT)/lib/%.o: lib/%.cc
	@mkdir -p $(@D)
	$(CXX) $(ALLFLAGS) -MMD -MP -c -o $@ $<

$(OUT)/cmd/shared/%.o: cmd/shared/%.cc
	@mkdir -p $(@D)
	$(CXX) $(CMDFLAGS) -MMD -MP -c -o $@ $<

# Each tool includes its option table, generated from cmd/options/TOOL.opts
# at every change (the one source of --help, the man page's OPTIONS and the
# completions; `make options` writes the committed ones).
OPTS_GEN = cmd/options/gen.py
$(OUT)/gen/%.opts.h: cmd/options/%.opts $(OPTS_GEN)
	@mkdir -p $(@D)
	python3 $(OPTS_GEN) header $< $@

$(OUT)/cmd/%.o: cmd/%.cc $(OUT)/gen/%.opts.h
	@mkdir -p $(@D)
	$(CXX) $(CMDFLAGS) -MMD -MP -c -o $@ $<

options:
	python3 $(OPTS_GEN) write

$(LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

# cmd/shared/tool.cc: what every executable shares (error reporting, output).
# It lives apart from cmd/copilot-*.cc because it is not an executable.
CMD_COMMON = $(OUT)/cmd/shared/tool.o $(OUT)/cmd/shared/options.o
# copilot-serve is the only tool with a server library.
$(BIN)/copilot-serve: LDLIBS += -lmicrohttpd
# copilot-chat keeps its conversations in SQLite (store/chats); its
# interactive mode edits lines with libedit (cmd/chat/interactive). Its
# flags, output and interactive mode are cmd/chat/, apart from main's file.
$(BIN)/copilot-chat $(OUT)/tests/test_chats: LDLIBS += -lsqlite3
$(BIN)/copilot-chat: LDLIBS += -ledit
CHAT_CMD_OBJ = $(patsubst cmd/chat/%.cc,$(OUT)/cmd/chat/%.o,$(sort $(wildcard cmd/chat/*.cc)))
$(BIN)/copilot-chat: TOOL_OBJ = $(CHAT_CMD_OBJ)
$(BIN)/copilot-chat: $(CHAT_CMD_OBJ)
$(OUT)/cmd/chat/%.o: cmd/chat/%.cc $(OUT)/gen/copilot-chat.opts.h
	@mkdir -p $(@D)
	$(CXX) $(CMDFLAGS) -MMD -MP -c -o $@ $<
$(BIN)/%: $(OUT)/cmd/%.o $(CMD_COMMON) $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(ALLFLAGS) $(TOOL_LDFLAGS) -o $@ $< $(TOOL_OBJ) $(CMD_COMMON) $(LIB) $(LDLIBS)

$(OUT)/tests/%: tests/unit/%.cc tests/unit/check.h $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(ALLFLAGS) -Itests/unit -MMD -MP -o $@ $< $(LIB) $(LDLIBS)

-include $(wildcard $(OUT)/lib/*/*.d $(OUT)/cmd/*.d $(OUT)/cmd/chat/*.d $(OUT)/cmd/shared/*.d $(OUT)/tests/*.d)

# --- dependencies ---------------------------------------------------------
DEB_PACKAGES = g++ make libcurl4-openssl-dev rapidjson-dev libcxxopts-dev \
	bats bats-support bats-assert bats-file python3 curl jq groff-base man-db \
	openssl strace time \
	libmicrohttpd-dev zsh fish libsqlite3-dev libedit-dev
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
	    || missing="$$missing $$p"; done; \
	command -v npm >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  echo "make deps: installing$$missing"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The npm clients the suites run against copilot-serve (tests/package.json):
# installed from the lock file, again only when it changed.
node-deps: tests/node_modules/.package-lock.json
tests/node_modules/.package-lock.json: tests/package.json tests/package-lock.json
	npm ci --prefix tests --no-audit --no-fund

# Claude Code for tests/claude_code.bats and OpenAI's Codex CLI for
# tests/codex.bats, in their own lock file: each is a ~400 MB native binary
# (an optional dependency per platform; Claude Code's is copied into place by
# its postinstall), so they are installed apart and only when the lock
# changed; `claude --version` and `codex --version` prove the binaries, not
# stubs, are there (else the install is removed, so the next make tries again).
agents-deps: tests/agents/node_modules/.package-lock.json
tests/agents/node_modules/.package-lock.json: tests/agents/package.json tests/agents/package-lock.json
	npm ci --prefix tests/agents --no-audit --no-fund
	@tests/agents/node_modules/.bin/claude --version | grep 'Claude Code' \
	  || { echo "make agents-deps: claude is its stub (postinstall skipped?)" >&2; rm -rf tests/agents/node_modules; exit 1; }
	@tests/agents/node_modules/.bin/codex --version | grep '^codex-cli ' \
	  || { echo "make agents-deps: codex has no native binary (optional dependency skipped?)" >&2; rm -rf tests/agents/node_modules; exit 1; }

# --- tests ----------------------------------------------------------------
BATS_JOBS ?= 1
# Under SANITIZE=1, the leak checker skips OpenSSL's own per-thread state
# (tests/lsan.supp says why).
check unit: export LSAN_OPTIONS = suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0
check: deps node-deps agents-deps
	$(MAKE) all $(UNIT_BIN)
	@echo "== unit tests"
	@fail=0; for t in $(UNIT_BIN); do $$t || fail=1; done; [ $$fail -eq 0 ]
	@echo "== man pages"
	@for m in $(MAN_PAGES); do \
	  out=$$(LC_ALL=C.UTF-8 MANWIDTH=80 groff -man -ww -z -t $$m 2>&1); \
	  if [ -n "$$out" ]; then echo "$$m: $$out"; exit 1; fi; done; echo "$(words $(MAN_PAGES)) pages lint-clean"
	@echo "== bats"
	COPILOT_UTILS_BIN=$(CURDIR)/$(BIN) bats --print-output-on-failure tests/

unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do $$t || fail=1; done; [ $$fail -eq 0 ]

demo: deps all
	COPILOT_UTILS_BIN=$(CURDIR)/$(BIN) ./tests/demo.sh

# --- install --------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(DATADIR)/bash-completion/completions \
	  $(DESTDIR)$(DATADIR)/zsh/site-functions $(DESTDIR)$(DATADIR)/fish/vendor_completions.d
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)/
	for m in $(MAN_PAGES); do s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	# One completion file per shell serves every tool; bash and fish
	# look a completion up by the command's name, so it goes in under each.
	for t in $(TOOLS); do \
	  install -m 644 completions/bash/copilot-utils $(DESTDIR)$(DATADIR)/bash-completion/completions/$$t && \
	  install -m 644 completions/fish/copilot-utils.fish $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/$$t.fish || exit 1; done
	install -m 644 completions/zsh/_copilot-utils $(DESTDIR)$(DATADIR)/zsh/site-functions/

uninstall:
	for t in $(TOOLS); do rm -f $(DESTDIR)$(BINDIR)/$$t; done
	for m in $(MAN_PAGES); do s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done
	for t in $(TOOLS); do rm -f $(DESTDIR)$(DATADIR)/bash-completion/completions/$$t \
	  $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/$$t.fish; done
	rm -f $(DESTDIR)$(DATADIR)/zsh/site-functions/_copilot-utils

clean:
	rm -rf build bin lib/libcopilot.a

.PHONY: all lib deps node-deps agents-deps check unit demo install uninstall clean options

# Fuzzing (clang + libFuzzer): make fuzz FUZZ_SECONDS=N — see tests/fuzz/README.
-include tests/fuzz/fuzz.mk
# Benchmarks (not part of check): make bench — see bench/README.md.
-include bench/bench.mk
