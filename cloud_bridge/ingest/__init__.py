"""Ingest: checking the stations' messages against the wire contract, storing them, solving events
(`ingestor.Ingestor`), fed from MQTT (`mqtt.MqttIngest`); `cmn` reads CMN/RMS observation files.

Nothing is imported here eagerly, so `cmn` stays usable without the database packages.
"""
