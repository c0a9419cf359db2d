"""The storm guard's rule (safety rule 2 of DESIGN.md), as pure arithmetic."""


def is_storm(failed, tracked, max_failed_hosts, max_failed_percent):
    """Whether ``failed`` hosts out of ``tracked`` make a storm.

    More than ``max_failed_hosts`` failed hosts is a storm; so is more than
    ``max_failed_percent`` of the tracked hosts, except that one failed host
    alone never is. A limit of 0 is disabled.
    """
    if max_failed_hosts and failed > max_failed_hosts:
        return True
    if max_failed_percent and failed > 1 and tracked > 0:
        return failed * 100.0 > max_failed_percent * tracked
    return False
