# bash completion for lvsd(8): its commands, their flags, and files where a
# flag takes one. Installed as /usr/share/bash-completion/completions/lvsd.
_lvsd() {
    local cur prev cmd
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    cmd=${COMP_WORDS[1]}
    case $prev in
        -f|--use-file|--pid-file|--socket|--netns|-g|--log-file|-p|--pid|-r|--vrrp_pid|-c|--checkers_pid)
            COMPREPLY=( $(compgen -f -- "$cur") )
            return ;;
        --log-format)
            COMPREPLY=( $(compgen -W 'text json' -- "$cur") )
            return ;;
    esac
    if [ "$COMP_CWORD" -eq 1 ]; then
        if [[ $cur == -* ]]; then
            # keepalived's command line, which lvsd answers too
            COMPREPLY=( $(compgen -W '-f --use-file -P --vrrp -C --check -n --dont-fork -l --log-console -D --log-detail -g --log-file -p --pid -r --vrrp_pid -c --checkers_pid -d --dump-conf -i --config-id --strict -t --config-test --signum= -v --version -h --help' -- "$cur") )
        else
            COMPREPLY=( $(compgen -W 'run check plan convert status version help' -- "$cur") )
        fi
        return
    fi
    case $cmd in
        run)     COMPREPLY=( $(compgen -W '-f --log-format --debug --pid-file --strict' -- "$cur") ) ;;
        check)   COMPREPLY=( $(compgen -W '-f --json --strict --config-id' -- "$cur") ) ;;
        plan)    COMPREPLY=( $(compgen -W '-f --netns' -- "$cur") ) ;;
        status)  COMPREPLY=( $(compgen -W '-f --socket --json --watch --interval' -- "$cur") ) ;;
        convert) COMPREPLY=( $(compgen -f -- "$cur") ) ;;
        --signum=*|-*) ;;
    esac
    if [[ $cur == --signum=* ]]; then
        COMPREPLY=( $(compgen -W 'RELOAD DATA STATS STOP' -- "${cur#--signum=}") )
    fi
}
complete -F _lvsd lvsd
