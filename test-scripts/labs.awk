# The cargo arguments that run a make goal's tests, one line per test suite,
# from test-scripts/labs.txt: `awk -v goal=2a -f labs.awk labs.txt` prints
# `-p raft --test raft_test _2a`. Goals: a lab (2), a part (2a), or
# `hardening` with or without a lab (hardening-2). Prints nothing for another.
BEGIN {
    goal = tolower(goal)
    if (goal ~ /^[0-9]+[a-z]?$/) {
        lab = goal; sub(/[a-z]$/, "", lab)
        part = substr(goal, length(lab) + 1)
    } else if (goal ~ /^hardening(-[0-9]+)?$/) {
        hardening = 1
        lab = goal; sub(/^hardening-?/, "", lab)
    } else {
        exit
    }
}
/^[ \t]*(#|$)/ { next }
{
    if (hardening) {
        if ($1 !~ /\+$/ || (lab != "" && $1 != lab "+")) next
        print "-p " $3 " --test " $4
    } else {
        if ($1 != lab || (part != "" && index(tolower($2), part) == 0)) next
        print "-p " $3 " --test " $4 " _" goal
    }
}
