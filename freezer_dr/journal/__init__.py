# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The journal: every recovery and every step of it, in a database.

The journal, not memory, says what was done (safety rule 4 of DESIGN.md):
a recovery is keyed by host and host incarnation (its boot id), so one
incarnation is recovered at most once; every step is written before it
starts and after it ends, so a restarted or newly elected engine resumes an
unfinished recovery at the step where it stopped and never repeats a step
that completed.
"""
