# fish completion for copilot-token(1)

function __copilot_token_stored --argument-names what
    set -l dir "$HOME/.config/copilot-utils/auth"
    if string match -q '/*' -- "$XDG_CONFIG_HOME"
        set dir "$XDG_CONFIG_HOME/copilot-utils/auth"
    end
    for f in $dir/*.json
        set -l name (basename $f .json)
        if test "$what" = host
            string replace -r '@.*' '' -- $name
        else if string match -q '*@*' -- $name
            string replace -r '^[^@]*@' '' -- $name
        end
    end | sort -u
end

# The command line after "--", for --exec.
function __copilot_token_exec_command
    set -l tokens (commandline -opc) (commandline -ct)
    set -l at (contains -i -- -- $tokens)
    and complete -C (string join ' ' -- $tokens[(math $at + 1)..-1])
end

complete -c copilot-token -f
complete -c copilot-token -l auth -r -F -d 'Read the GitHub auth state from FILE (- = stdin)'
complete -c copilot-token -l host -x -a 'github.com (__copilot_token_stored host)' -d 'GitHub host'
complete -c copilot-token -l profile -x -a '(__copilot_token_stored profile)' -d 'Stored login to use'
complete -c copilot-token -l format -x -a 'token json env header' -d 'Output format'
complete -c copilot-token -l json -d 'Same as --format json; with --check, a JSON summary'
complete -c copilot-token -l min-ttl -x -a '60 300 600 900' -d 'Seconds the token must stay valid'
complete -c copilot-token -l refresh -d 'Exchange now even if the cached token is fresh'
complete -c copilot-token -l no-cache -d 'Neither read nor write the token cache'
complete -c copilot-token -l no-stdin -d 'Never read standard input'
complete -c copilot-token -l check -d 'Inspect a token without the network'
complete -c copilot-token -l watch -d 'Keep the cache fresh until SIGTERM'
complete -c copilot-token -l exec -d 'Run a command with the token in its environment'
complete -c copilot-token -s v -l verbose -d 'Say where the token came from, cache use, retries'
complete -c copilot-token -s q -l quiet -d 'No messages except errors'
complete -c copilot-token -s h -l help -d 'Show the help'
complete -c copilot-token -l version -d 'Show the version'
# After "--", complete the command that --exec runs.
complete -c copilot-token -n 'contains -- -- (commandline -opc)' -x -a '(__copilot_token_exec_command)'
