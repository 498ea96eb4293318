"""Where users come from: the randomuser.me API, sample files, the seeded generator; and the
producer that sends them to Kafka.
"""
