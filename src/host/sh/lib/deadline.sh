# Bounded waits: end=$(deadline_in SECONDS), then `if past "$end"; then ...`.
deadline_in() { echo $(( $(date +%s) + $1 )); }
past() { [ "$(date +%s)" -ge "$1" ]; }
now_ms() { date +%s%3N; }
