"""``logiflow status``: is the deployment (or the local stack) healthy, and if not, what is not.

``checks`` holds the result model (one row per thing checked); ``cluster`` reads a Helm release's
custom resources and driver pod through the Kubernetes API; ``progress`` reads the ETL's last
batch and consumer lag from its accounting documents and Kafka; ``local`` checks the embedded
default's servers. The command itself is ``logiflow.cli.status_cmd``.
"""
