"""The edge endpoint: one HTTP port for every AWS API mlharbor serves."""
