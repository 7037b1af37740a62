#!/usr/bin/env bats
# The build system: install/uninstall layout, deps idempotence, binaries.

bats_require_minimum_version 1.5.0

setup() {
    REPO="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
    load '/usr/lib/bats/bats-support/load'
    load '/usr/lib/bats/bats-assert/load'
    load '/usr/lib/bats/bats-file/load'
    # Run make without the outer make's flags (e.g. -j jobserver fds).
    unset MAKEFLAGS MFLAGS MAKELEVEL
}

@test "make install puts binaries, man pages and completions under DESTDIR/PREFIX" {
    dest="$BATS_TEST_TMPDIR/dest"
    run make -s -C "$REPO" install DESTDIR="$dest" PREFIX=/usr
    assert_success
    for t in copilot-login copilot-token copilot-chat copilot-serve copilot-usage; do
        assert_file_executable "$dest/usr/bin/$t"
    done
    for m in "$REPO"/man/*.[157]; do
        name="${m##*/}"
        assert_file_exists "$dest/usr/share/man/man${name##*.}/$name"
    done
    # One completion file per shell; bash and fish find it by the command's name.
    for t in copilot-login copilot-token copilot-chat copilot-serve copilot-usage; do
        cmp "$REPO/completions/bash/copilot-utils" "$dest/usr/share/bash-completion/completions/$t"
        cmp "$REPO/completions/fish/copilot-utils.fish" "$dest/usr/share/fish/vendor_completions.d/$t.fish"
    done
    cmp "$REPO/completions/zsh/_copilot-utils" "$dest/usr/share/zsh/site-functions/_copilot-utils"
    run head -1 "$dest/usr/share/zsh/site-functions/_copilot-utils"
    assert_output "#compdef copilot-login copilot-token copilot-chat copilot-serve copilot-usage"
}

@test "make uninstall removes everything make install put there" {
    dest="$BATS_TEST_TMPDIR/dest"
    make -s -C "$REPO" install DESTDIR="$dest" PREFIX=/usr >/dev/null
    run make -s -C "$REPO" uninstall DESTDIR="$dest" PREFIX=/usr
    assert_success
    run find "$dest" -type f
    assert_output ""
}

@test "make deps does nothing when every package is present" {
    run make -s -C "$REPO" deps
    assert_success
    refute_output --partial "installing"
}

@test "every executable answers --help on stdout with status 0" {
    for t in copilot-login copilot-token copilot-chat copilot-serve copilot-usage; do
        run --separate-stderr "${COPILOT_UTILS_BIN:-$REPO/bin}/$t" --help
        assert_success
        assert_output --partial "$t"
        [ -z "$stderr" ]
    done
}

@test "every executable answers --version with its name and the version, on stdout" {
    local version
    version="$(sed -n 's/^#define COPILOT_UTILS_VERSION "\(.*\)"$/\1/p' "$REPO/lib/util/version.h")"
    [ -n "$version" ]
    for t in copilot-login copilot-token copilot-chat copilot-serve copilot-usage; do
        run --separate-stderr "${COPILOT_UTILS_BIN:-$REPO/bin}/$t" --version
        assert_success
        assert_output "$t $version"
        [ -z "$stderr" ]
    done
}

@test "the tools do not link libcurl: the network stack is loaded on demand" {
    for t in copilot-login copilot-token copilot-chat copilot-serve copilot-usage; do
        run ldd "${COPILOT_UTILS_BIN:-$REPO/bin}/$t"
        assert_success
        refute_output --partial "libcurl"
    done
}
