# heal: ends the partition drill's cut on this host now (isolate says how it
# was made): stops the timer and runs its heal script. Nothing to do is fine.
systemctl stop "$PARTITION_HEAL_UNIT.timer" 2>/dev/null || true
if [ -e "$PARTITION_HEAL_SCRIPT" ]; then sh "$PARTITION_HEAL_SCRIPT"; fi
systemctl reset-failed "$PARTITION_HEAL_UNIT.timer" "$PARTITION_HEAL_UNIT.service" 2>/dev/null || true
echo "healed-at $(now_ms)"
