"""Container images for the Docker runner: the offline builder of the built-ins (``mlharbor images --build``)."""
