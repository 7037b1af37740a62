# zsh -f zsh_complete.zsh FPATH_DIR LINE: what zsh's own completion system
# (compinit, _arguments, the completion functions in FPATH_DIR) offers when
# TAB is pressed after LINE in an interactive zsh on a pseudo-terminal.
# Prints the offered words, one a line (each compadd call's words).
zmodload zsh/zpty || exit 2
out=${TMPDIR:-/tmp}/zsh_complete.$$
: >$out
zpty z zsh -f -i || exit 2
zpty -w z "PS1='> '; fpath=(${(q)1} \$fpath); autoload -Uz compinit; compinit -u -D"
# Every word offered passes through compadd: record it, then offer it.
zpty -w z "compadd() { local -a h; builtin compadd -O h \"\$@\"; print -rl -- \$h >>${(q)out}; builtin compadd \"\$@\"; }"
zpty -w z "bindkey '^I' complete-word; print -r -- RE''ADY"
zpty -r z line '*READY*' || { zpty -d z; exit 2; }
zpty -w -n z "$2"$'\t'
# Wait (up to 10 s) for the first words, then a moment for the rest.
for i in {1..100}; do [[ -s $out ]] && break; sleep 0.1; done
sleep 0.5
zpty -d z
cat $out
rm -f $out
