# fish completion for copilot-chat(1)

# Model ids cached by the last `copilot-chat --list-models` (see copilot-chat(1)
# FILES); the default model when there is no cache yet. Never the network.
function __copilot_chat_models
    set -l cache "$HOME/.cache/copilot-utils/models.txt"
    if string match -q '/*' -- "$XDG_CACHE_HOME"
        set cache "$XDG_CACHE_HOME/copilot-utils/models.txt"
    end
    if test -r $cache
        cat -- $cache
    else
        echo gpt-4.1
    end
end

function __copilot_chat_stored --argument-names what
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

complete -c copilot-chat -f
complete -c copilot-chat -s m -l model -x -a '(__copilot_chat_models)' -d 'Model'
complete -c copilot-chat -s s -l system -x -d 'A system message, sent first'
complete -c copilot-chat -l messages -r -F -d 'JSON array of messages sent before the prompt (- = stdin)'
complete -c copilot-chat -l temperature -x -a '0 0.2 0.5 0.7 1' -d 'Sampling temperature, 0 to 2'
complete -c copilot-chat -l max-tokens -x -d 'The longest answer, in tokens'
complete -c copilot-chat -l no-stream -d 'One non-streaming request'
complete -c copilot-chat -l json -d 'Print the whole completion object as JSON'
complete -c copilot-chat -l usage -d 'Print token counts on stderr at the end'
complete -c copilot-chat -l no-stdin -d 'Never read standard input'
complete -c copilot-chat -l list-models -d 'List the models'
complete -c copilot-chat -l all -n '__fish_seen_argument -l list-models' -d 'Embeddings too'
complete -c copilot-chat -l token-file -r -F -d 'The Copilot token (- = stdin)'
complete -c copilot-chat -l api-url -x -d 'The API base URL'
complete -c copilot-chat -l host -x -a 'github.com (__copilot_chat_stored host)' -d 'GitHub host'
complete -c copilot-chat -l profile -x -a '(__copilot_chat_stored profile)' -d 'Stored login to use'
complete -c copilot-chat -l verbose -d 'Say where the token came from, requests, retries'
complete -c copilot-chat -l quiet -d 'No warnings, only errors'
complete -c copilot-chat -s h -l help -d 'Show the help'
complete -c copilot-chat -l version -d 'Show the version'
