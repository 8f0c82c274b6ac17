#!/bin/bash
# Scheduling with two workers: least-loaded placement within max_jobs
# slots, a FIFO queue placed the moment a slot frees, and the job states
# recorded for all of it.
. "$(dirname "$0")/lib.sh"
cluster_up "max_jobs: 1" "max_jobs: 1"

# Three 2-second real-time jobs at once: two run, one waits for a slot.
for i in 1 2 3; do
	"$T/bin/ffmpeg" -hide_banner -nostats -re -f lavfi \
	    -i testsrc=size=64x64:rate=10 -t 2 -f null - 2>"$T/job$i.err" &
	eval "P$i=$!"
	sleep 0.2
done
wait $P1; r1=$?; wait $P2; r2=$?; wait $P3; r3=$?
[ "$r1$r2$r3" = 000 ] || fail "exit codes $r1 $r2 $r3"

# (the coordinator records the end a moment after the client has it)
wait_for 5 eval '[ "$(q "select count(*) from jobs where state='"'completed'"'")" = 3 ]' \
    || fail "not 3 completed jobs: $(q 'select id,state,worker from jobs')"
# the first two went to different workers (least loaded first)
w1=$(q "select worker from jobs order by created limit 1")
w2=$(q "select worker from jobs order by created limit 1 offset 1")
[ "$w1" != "$w2" ] || fail "first two jobs both on $w1"
# the third waited in the queue, then was placed when a slot freed
third=$(q "select id from jobs order by created limit 1 offset 2")
q "select to_state from job_transitions where job='$third' order by id" \
    | tr '\n' ' ' | grep -q "^pending assigned running completed" \
    || fail "third job's transitions: $(q "select * from job_transitions where job='$third'")"
grep -q "job $third: submitted" "$T/coordinator.log" || fail "no submit log"
# it was assigned only after one of the others completed
t_done=$(q "select min(ts) from job_transitions where to_state='completed'")
t_assign=$(q "select ts from job_transitions where job='$third' and to_state='assigned'")
[ "$t_assign" -ge "$t_done" ] || fail "third job assigned before a slot freed"
[ $((t_assign - t_done)) -lt 500 ] || fail "third job placed $((t_assign - t_done)) ms after the slot freed"
pass
