"""SASL helpers with kafka-python's names (``ferrokafka.sasl.oauth``)."""
