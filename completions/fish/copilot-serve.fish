# fish completion for copilot-serve(1)

function __copilot_serve_stored --argument-names what
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

complete -c copilot-serve -f
complete -c copilot-serve -l listen -x -a '127.0.0.1:4141 127.0.0.1:0 [::1]:4141 0.0.0.0:4141' -d 'Address and port to listen on'
complete -c copilot-serve -l api-key-file -r -F -d 'Clients must send this key as a Bearer token'
complete -c copilot-serve -l max-body -x -a '1M 16M 64M' -d 'Largest request body'
complete -c copilot-serve -l max-connections -x -d 'Connections served at once'
complete -c copilot-serve -l idle-timeout -x -d 'Close a connection idle this many seconds'
complete -c copilot-serve -l grace -x -d 'On SIGTERM, seconds to wait for answers in flight'
complete -c copilot-serve -l api-url -x -d 'The upstream API base URL'
complete -c copilot-serve -l host -x -a 'github.com (__copilot_serve_stored host)' -d 'GitHub host'
complete -c copilot-serve -l profile -x -a '(__copilot_serve_stored profile)' -d 'Stored login to use'
complete -c copilot-serve -l auth -r -F -d 'GitHub auth state file'
complete -c copilot-serve -l no-login -d 'Exit 66 instead of starting the device flow'
complete -c copilot-serve -l verbose -d 'Say when the token is refreshed and why connections end'
complete -c copilot-serve -l quiet -d 'No request lines and no warnings'
complete -c copilot-serve -s h -l help -d 'Show the help'
complete -c copilot-serve -l version -d 'Show the version'
