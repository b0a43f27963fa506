"""A real Kafka 3.9 cluster in ZooKeeper mode on one machine, for the tests and the demo.

Not part of the collection: `galaxy.yml` leaves it out of the build. Run it as `python -m lab <command>`.
"""
