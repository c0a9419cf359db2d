"""The journal: every recovery and every step of it, in a database.

The journal, not memory, says what was done (safety rule 4 of DESIGN.md):
a recovery is keyed by host and host incarnation (its boot id), so one
incarnation is recovered at most once; every step is written before it
starts and after it ends, so a restarted or newly elected engine resumes an
unfinished recovery at the step where it stopped and never repeats a step
that completed.
"""
