"""A real OpenStack on this machine, for freezer-dr's functional tests, its
demo and its benchmarks: keystone, placement, glance, nova (fake virt
driver) and a neutron stand-in, with N compute hosts whose power is an
IPMI BMC simulator. See doc/source/cloud-harness.rst."""
