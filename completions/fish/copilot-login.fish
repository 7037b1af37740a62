# fish completion for copilot-login(1)

function __copilot_login_stored --argument-names what
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

set -l no_mode "not __fish_seen_argument -l start -l poll -l with-token -l import -l status -l logout"

complete -c copilot-login -f
complete -c copilot-login -l host -x -a 'github.com (__copilot_login_stored host)' -d 'GitHub host'
complete -c copilot-login -l profile -x -a '(__copilot_login_stored profile)' -d 'Keep this login apart from others on the host'
complete -c copilot-login -l client-id -x -a 'Iv1.b507a08c87ecfe98' -d 'OAuth client ID'
complete -c copilot-login -l scope -x -a 'read:user' -d 'OAuth scopes to ask for'
complete -c copilot-login -l output -r -F -d 'Write the auth state to FILE (- = stdout)'
complete -c copilot-login -n $no_mode -l open -d 'Open the verification page with xdg-open'
complete -c copilot-login -l no-verify -d 'Skip the Copilot token exchange that checks access'
complete -c copilot-login -n $no_mode -l start -d 'Request a device code, print the pending login'
complete -c copilot-login -n $no_mode -l poll -d 'Finish the pending login in FILE or stdin'
complete -c copilot-login -n '__fish_seen_argument -l poll' -l once -d 'Poll once; exit 75 while pending'
complete -c copilot-login -n '__fish_seen_argument -l poll' -F -d 'Pending login file'
complete -c copilot-login -n $no_mode -l with-token -d 'Read a GitHub token from standard input'
complete -c copilot-login -n $no_mode -l import -d 'Take the token of copilot.vim/copilot.lua'
complete -c copilot-login -n $no_mode -l status -d 'List stored logins'
complete -c copilot-login -n '__fish_seen_argument -l status' -l json -d 'Print JSON'
complete -c copilot-login -n $no_mode -l logout -d 'Remove the auth state and the cached token'
complete -c copilot-login -s q -l quiet -d 'Only errors, warnings and the device code'
complete -c copilot-login -s v -l verbose -d 'Say what happens: polls, retries'
complete -c copilot-login -s h -l help -d 'Show the help'
complete -c copilot-login -l version -d 'Show the version'
