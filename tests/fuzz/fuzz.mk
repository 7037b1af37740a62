# libFuzzer targets for every parser (see tests/fuzz/README).
# Included by the top Makefile; every name here starts with FUZZ_ / fuzz so
# that plain `make`, `make check` and `make SANITIZE=1` are not affected.
#
#   make fuzz-build                 build build/fuzz/fuzz_* (clang + libFuzzer)
#   make fuzz [FUZZ_SECONDS=20]     build, then run each target that long
#   make fuzz FUZZ_TARGETS=fuzz_sse run only some targets
#   make fuzz-deps                  install the compiler and runtimes (apt)
#
# Needs clang++ with libFuzzer: `make fuzz-deps` installs FUZZ_DEB_PACKAGES
# (libclang-rt-14-dev holds the fuzzer and sanitizer runtimes; clang only
# recommends it, so a --no-install-recommends install lacks it).

FUZZ_SECONDS ?= 20
FUZZ_DEB_PACKAGES = clang libclang-rt-14-dev
FUZZ_CXX     ?= clang++
FUZZ_OUT     ?= build/fuzz
FUZZ_SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
                -fsanitize-ignorelist=tests/fuzz/sanitizer-ignore.txt
FUZZ_CXXFLAGS = -std=c++17 -g -O1 -D_FILE_OFFSET_BITS=64 -Ilib
# Our own targets are held to warnings-as-errors; the library is compiled
# warning-clean by the main build already (with g++), so clang's extra
# opinions about it are not made fatal here.
FUZZ_WARN     = -Wall -Wextra -Werror -Wshadow -Wformat=2
FUZZ_LDLIBS   = -ldl -lpthread

# FUZZ_LIB_DIR: where the library sources come from (headers stay in lib/),
# e.g. a copy with a candidate fix, built with its own FUZZ_OUT.
FUZZ_LIB_DIR ?= lib
FUZZ_LIB_SRC  = $(sort $(wildcard $(FUZZ_LIB_DIR)/*/*.cc))
FUZZ_LIB_OBJ  = $(FUZZ_LIB_SRC:$(FUZZ_LIB_DIR)/%.cc=$(FUZZ_OUT)/lib/%.o)
FUZZ_LIB      = $(FUZZ_OUT)/libcopilot-fuzz.a
FUZZ_ALL      = $(patsubst tests/fuzz/%.cc,%,$(sort $(wildcard tests/fuzz/fuzz_*.cc)))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_BINS     = $(FUZZ_TARGETS:%=$(FUZZ_OUT)/%)

# Targets that drive a whole request through a scripted transport: their
# own copilot::http_perform replaces the library's (the linker redirects
# every call to it), so no socket is ever opened.
FUZZ_WRAP_HTTP_TARGETS = fuzz_error_envelope fuzz_chat_stream
FUZZ_WRAP_HTTP = -Wl,--wrap=_ZN7copilot12http_performERKNS_11HttpRequestE

# -max_len per target: a little above the largest real input of its kind
# (an SSE stream needs room for several events; JSON depth needs length).
FUZZ_MAX_LEN_DEFAULT          = 4096
FUZZ_MAX_LEN_fuzz_json        = 65536
FUZZ_MAX_LEN_fuzz_sse         = 16384
FUZZ_MAX_LEN_fuzz_chat_stream = 16384
FUZZ_MAX_LEN_fuzz_wire        = 16384
FUZZ_MAX_LEN_fuzz_retry_after = 256
FUZZ_MAX_LEN_fuzz_token_fields = 2048

$(FUZZ_OUT)/lib/%.o: $(FUZZ_LIB_DIR)/%.cc tests/fuzz/sanitizer-ignore.txt
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SANFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $(FUZZ_LIB_OBJ)

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.cc tests/fuzz/fuzz_common.h tests/fuzz/sanitizer-ignore.txt $(FUZZ_LIB)
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) $(FUZZ_WARN) -Itests/fuzz -fsanitize=fuzzer $(FUZZ_SANFLAGS) \
	  -MMD -MP -o $@ $< $(if $(filter $(@F),$(FUZZ_WRAP_HTTP_TARGETS)),$(FUZZ_WRAP_HTTP)) \
	  $(FUZZ_LIB) $(FUZZ_LDLIBS)

-include $(wildcard $(FUZZ_OUT)/lib/*/*.d $(FUZZ_OUT)/*.d)

fuzz-build: fuzz-toolchain $(FUZZ_BINS)

# A clear message instead of a link error when libFuzzer is missing.
fuzz-toolchain:
	@printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
	  | $(FUZZ_CXX) -x c++ -fsanitize=fuzzer,address,undefined -o /dev/null - 2>/dev/null || { \
	  echo "fuzz: $(FUZZ_CXX) cannot link -fsanitize=fuzzer,address,undefined;" \
	       "on Debian: make fuzz-deps (clang, libclang-rt-14-dev)"; exit 1; }

# Each target runs on a fresh copy of its seed corpus (the committed seeds
# are never written to); crash/leak/timeout files land in
# build/fuzz/artifacts/<target>/. Every target runs even if an earlier one
# failed; the goal fails at the end if any did.
fuzz: fuzz-build
	@fail=0; \
	$(foreach t,$(FUZZ_TARGETS),sh tests/fuzz/run-target $(FUZZ_OUT) $(t) $(FUZZ_SECONDS) $(or $(FUZZ_MAX_LEN_$(t)),$(FUZZ_MAX_LEN_DEFAULT)) || fail=1;) \
	if [ $$fail -ne 0 ]; then echo "fuzz: FAILED (logs in $(FUZZ_OUT)/logs/)"; exit 1; fi; \
	echo "fuzz: $(words $(FUZZ_TARGETS)) targets ran $(FUZZ_SECONDS) s each, no findings"

fuzz-deps:
	@missing=""; for p in $(FUZZ_DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  echo "make fuzz-deps: installing$$missing"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

.PHONY: fuzz fuzz-build fuzz-toolchain fuzz-deps
