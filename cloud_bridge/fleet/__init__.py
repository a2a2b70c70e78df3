"""Fleet basics of the bridge: enrolling stations with one-time tokens (`enrolment`), the Mosquitto
password and ACL files built from the stations' credentials (`mosquitto`), and commands to
stations with their results (`commands`). The REST routes over these are in `cloud_bridge.api.routes`.
"""
