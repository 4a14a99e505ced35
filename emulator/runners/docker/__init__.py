"""The Docker runner: a job or a serving variant as containers on the Docker Engine, with relays to the host."""
